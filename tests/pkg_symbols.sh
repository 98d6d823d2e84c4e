#!/usr/bin/env bash
# librnnc.so exports the public API and nothing else:
#  - its soname is librnnc.so.MAJOR (MAJOR from rnnc/version.h);
#  - every symbol it defines for the dynamic linker (nm -D --defined-only) is named rnnc_* and
#    declared in the public headers (found here from the preprocessed rnnc.h, independently of
#    cmake/exports.cmake, which wrote the linker version script);
#  - every function of the public headers that librnnc.a defines is exported (none was lost);
#  - the library's internals (global in librnnc.a, not in the headers) are not.
# Usage: pkg_symbols.sh LIBRNNC_SO LIBRNNC_A SOURCE_DIR BUILD_INCLUDE_DIR CC
set -u
so=$1
ar=$2
src=$3
gen=$4
cc=$5
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

major=$(sed -n 's/^#define RNNC_VERSION_MAJOR \([0-9]*\).*/\1/p' "$gen/rnnc/version.h")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "librnnc.so.$major" ] || fail "soname is '$soname', not librnnc.so.$major"

nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"
# what the headers declare: identifiers rnnc_* before "(" or ending an extern declaration
"$cc" -E -P -I"$src/include" -I"$gen" "$src/include/rnnc/rnnc.h" >"$tmp/api.i" || fail "rnnc.h does not preprocess"
{ grep -o 'rnnc_[A-Za-z0-9_]* *(' "$tmp/api.i" | tr -d ' ('
  grep '^ *extern ' "$tmp/api.i" | grep -o 'rnnc_[A-Za-z0-9_]* *\(\[[^]]*\]\)* *;' | grep -o '^rnnc_[A-Za-z0-9_]*'
} | sort -u >"$tmp/declared"
nm -g --defined-only "$ar" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/static"

n=$(wc -l <"$tmp/exported")
[ "$n" -gt 100 ] || fail "only $n symbols exported"
bad=$(grep -v '^rnnc_' "$tmp/exported")
[ -z "$bad" ] || fail "exported without the rnnc_ prefix: $(echo $bad | head -c 600)"
undeclared=$(comm -23 "$tmp/exported" "$tmp/declared")
[ -z "$undeclared" ] || fail "exported but in no public header (internal): $(echo $undeclared | head -c 600)"
lost=$(comm -12 "$tmp/declared" "$tmp/static" | comm -23 - "$tmp/exported")
[ -z "$lost" ] || fail "public functions librnnc.a defines but librnnc.so does not export: $(echo $lost | head -c 600)"
internal=$(comm -23 "$tmp/static" "$tmp/declared")
leaked=$(comm -12 <(printf '%s\n' "$internal") "$tmp/exported")
[ -z "$leaked" ] || fail "internal symbols exported: $leaked"

[ $fails -eq 0 ] || { echo "pkg_symbols: $fails failures"; exit 1; }
echo "pkg_symbols: ok: $soname exports $n symbols, all rnnc_* and declared in include/rnnc/; $(printf '%s\n' "$internal" | grep -c .) internal symbols of librnnc.a hidden"
