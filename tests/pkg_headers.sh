#!/usr/bin/env bash
# The public headers: rnnc.h includes every header of include/rnnc/ and the generated
# rnnc/version.h, and each header compiles on its own (-std=c11 -Wall -Wextra -Werror, nothing
# included before it). rnnc.h alone gives a program the whole API: one function of each header is
# named in a file that includes only rnnc.h.
# Usage: pkg_headers.sh SOURCE_DIR BUILD_INCLUDE_DIR CC
set -u
src=$1
gen=$2
cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

headers=$( (cd "$src/include/rnnc" && ls *.h); (cd "$gen/rnnc" && ls *.h) )
headers=$(printf '%s\n' "$headers" | grep -vx rnnc.h | sort -u)
included=$(sed -n 's/^#include "rnnc\/\([a-z0-9_]*\.h\)".*/\1/p' "$src/include/rnnc/rnnc.h" | sort -u)
for h in $headers; do
    printf '%s\n' "$included" | grep -qx "$h" || fail "rnnc.h does not include rnnc/$h"
done
for h in $included; do
    [ -f "$src/include/rnnc/$h" ] || [ -f "$gen/rnnc/$h" ] || fail "rnnc.h includes rnnc/$h, which is not a public header"
done

flags=(-std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$src/include" -I"$gen")
# one translation unit per header, all in one compiler call; on a failure, each alone to name it
units=()
for h in $headers rnnc.h; do
    printf '#include "rnnc/%s"\n#include "rnnc/%s" /* twice: include guards */\n' "$h" "$h" >"$tmp/h_${h%.h}.c"
    units+=("$tmp/h_${h%.h}.c")
done
if ! "$cc" "${flags[@]}" "${units[@]}" 2>/dev/null; then
    for h in $headers rnnc.h; do
        "$cc" "${flags[@]}" "$tmp/h_${h%.h}.c" 2>"$tmp/err" || fail "rnnc/$h does not compile on its own: $(head -3 "$tmp/err")"
    done
fi

# One function of each header through rnnc.h alone: the first rnnc_*( declared in each.
{
    echo '#include "rnnc/rnnc.h"'
    echo 'void *rnnc_header_uses[] = {'
    for h in $headers; do
        f="$src/include/rnnc/$h"; [ -f "$f" ] || f="$gen/rnnc/$h"
        fn=$(perl -0777 -pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g' "$f" | grep -v '^ *#' | grep -o '^[^(]*[ *]rnnc_[a-z0-9_]*(' | head -1 | grep -o 'rnnc_[a-z0-9_]*(' | tr -d '(')
        [ -n "$fn" ] && echo "    (void *)$fn, /* $h */"
    done
    echo '};'
} >"$tmp/all.c"
"$cc" "${flags[@]}" -Wno-pedantic "$tmp/all.c" 2>"$tmp/err" || fail "a file including only rnnc.h cannot name every header's functions: $(head -5 "$tmp/err")"
echo "pkg_headers: $(echo "$headers" | wc -w) headers, $(grep -c '(void \*)' "$tmp/all.c") functions named through rnnc.h"
[ $fails -eq 0 ] || { echo "pkg_headers: $fails failures"; exit 1; }
echo "pkg_headers: ok"
