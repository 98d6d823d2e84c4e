#!/usr/bin/env bash
# The install, as a user of the library sees it: `cmake --install` of this build tree into a
# temporary prefix (the build is reused, nothing is recompiled), then
#  - the layout: librnnc.so -> librnnc.so.MAJOR -> librnnc.so.VERSION, librnnc.a, the headers
#    (rnnc.h and the generated version.h among them), rnnc.pc, the CMake package, bin/rnnc
#    (whose --version is the project's), the man pages, the bash completion;
#  - pkg-config: examples/tokenize.c built with `pkg-config --cflags --libs rnnc` (librnnc.so)
#    and again with `--static` (librnnc.a and its Requires.private/Libs.private), both run;
#  - find_package: tests/pkg_consumer builds examples/pytorch_sample.c on rnnc::rnnc and
#    examples/train_lm.c on rnnc::rnnc_static; both run.
# Usage: pkg_install.sh BUILD_DIR SOURCE_DIR CC   (RNNC_DATA: the fetched data, for cl100k_base)
set -u
build=$1
src=$2
cc=$3
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { # run LOG CMD...: the command's output in LOG, shown on failure
    local log=$1; shift
    "$@" >"$log" 2>&1 && return 0
    fail "$* (exit $?):"; tail -20 "$log" | sed 's/^/    /'; return 1
}
P=$tmp/prefix
run "$tmp/install.log" cmake --install "$build" --prefix "$P" || { echo "pkg_install: the install failed"; exit 1; }

version=$(sed -n 's/^#define RNNC_VERSION "\(.*\)"/\1/p' "$build/include/rnnc/version.h")
major=${version%%.*}
lib=$(sed -n 's/^libdir=${prefix}\///p' "$build/rnnc.pc")
L=$P/$lib
[ -f "$L/librnnc.so.$version" ] && [ ! -L "$L/librnnc.so.$version" ] || fail "no $lib/librnnc.so.$version"
[ "$(readlink "$L/librnnc.so.$major")" = "librnnc.so.$version" ] || fail "$lib/librnnc.so.$major is not a link to librnnc.so.$version"
[ "$(readlink "$L/librnnc.so")" = "librnnc.so.$major" ] || fail "$lib/librnnc.so is not a link to librnnc.so.$major"
for f in "$lib/librnnc.a" include/rnnc/rnnc.h include/rnnc/version.h include/rnnc/train.h "$lib/pkgconfig/rnnc.pc" \
         "$lib/cmake/rnnc/rnncConfig.cmake" "$lib/cmake/rnnc/rnncConfigVersion.cmake" share/man/man1/rnnc.1 \
         share/man/man1/rnnc-train.1 share/man/man1/rnnc-tokenizer.1; do
    [ -f "$P/$f" ] || fail "not installed: $f"
done
n_src=$(ls "$src"/include/rnnc/*.h | wc -l)
n_inst=$(ls "$P"/include/rnnc/*.h | wc -l)
[ "$n_inst" -eq $((n_src + 1)) ] || fail "$n_inst headers installed, want $((n_src + 1)) (include/rnnc/ and version.h)"
got=$("$P/bin/rnnc" --version 2>&1)
[ "$got" = "rnnc $version" ] || fail "installed rnnc --version says '$got', want 'rnnc $version'"
# one page per command `rnnc --help` lists and rnnc(1), none for a word of a wrapped summary line
# (there were rnnc-byte).1 and rnnc-verdict.1, pages of "unknown command")
want_pages=$("$P/bin/rnnc" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print "rnnc-" $1 ".1" } on && !/^  / { on = 0 }' | sort)
got_pages=$(cd "$P/share/man/man1" && ls rnnc-*.1 | sort)
[ "$got_pages" = "$want_pages" ] || fail "man pages: $(echo $got_pages), want $(echo $want_pages)"
! grep -l "unknown command" "$P"/share/man/man1/*.1 >/dev/null || fail "a man page shows an error: $(grep -l "unknown command" "$P"/share/man/man1/*.1)"
grep -q '^rnnc-eval \\- loss of a language model on an id file or on text (ppl, bits per byte)$' "$P/share/man/man1/rnnc-eval.1" ||
    fail "rnnc-eval(1)'s NAME line lacks the wrapped end of its summary: $(sed -n 3p "$P/share/man/man1/rnnc-eval.1")"
if command -v man >/dev/null; then
    man -l "$P/share/man/man1/rnnc-sample.1" 2>/dev/null | grep -q -- '--temperature' || fail "man page rnnc-sample(1) does not show --temperature"
fi
# the bash completion, where bash-completion finds it, completing from the installed rnnc
comp=$P/share/bash-completion/completions/rnnc
if [ -f "$comp" ]; then
    got=$(bash -c 'source "$1"; COMP_WORDS=("$2" tag ""); COMP_CWORD=2; _rnnc; echo "${COMPREPLY[*]}"' _ "$comp" "$P/bin/rnnc" 2>&1)
    [ "$got" = "train predict eval" ] || fail "the installed completion gives '$got' for 'rnnc tag <TAB>'"
else
    fail "not installed: share/bash-completion/completions/rnnc"
fi

# pkg-config, shared and static
export PKG_CONFIG_PATH=$L/pkgconfig
got=$(pkg-config --modversion rnnc)
[ "$got" = "$version" ] || fail "pkg-config --modversion rnnc says '$got'"
if run "$tmp/cc.log" "$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/tokenize.c" -o "$tmp/tokenize" \
        $(pkg-config --cflags --libs rnnc) -Wl,-rpath,"$L"; then
    ldd "$tmp/tokenize" | grep -q "librnnc.so.$major => $L/" || fail "tokenize is not linked to the installed librnnc.so: $(ldd "$tmp/tokenize" | grep rnnc)"
    run "$tmp/tokenize.log" "$tmp/tokenize" && grep -q 'cl100k_base.*round trip ok' <(tr '\n' ' ' <"$tmp/tokenize.log") \
        && echo "pkg_install: pkg-config (librnnc.so): examples/tokenize.c built and ran"
fi
static_libs=$(pkg-config --static --libs rnnc | sed 's/-lrnnc /-l:librnnc.a /')  # as README.md shows
if run "$tmp/cc-static.log" "$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/tokenize.c" -o "$tmp/tokenize-static" \
        $(pkg-config --cflags rnnc) $static_libs; then
    ldd "$tmp/tokenize-static" | grep -q librnnc && fail "tokenize-static loads librnnc.so"
    run "$tmp/tokenize-static.log" "$tmp/tokenize-static" && echo "pkg_install: pkg-config --static (librnnc.a): examples/tokenize.c built and ran"
fi

# find_package
if run "$tmp/consumer-cmake.log" cmake -S "$src/tests/pkg_consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$P" \
        -DRNNC_EXAMPLES="$src/examples" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
   && run "$tmp/consumer-build.log" cmake --build "$tmp/consumer"; then
    ldd "$tmp/consumer/pytorch_sample" | grep -q "librnnc.so.$major => $L/" || fail "pytorch_sample is not linked to the installed librnnc.so"
    ldd "$tmp/consumer/train_lm" | grep -q librnnc && fail "train_lm (rnnc::rnnc_static) loads librnnc.so"
    (cd "$src" && run "$tmp/sample.log" "$tmp/consumer/pytorch_sample") && echo "pkg_install: find_package (rnnc::rnnc): examples/pytorch_sample.c built and ran"
    run "$tmp/train.log" "$tmp/consumer/train_lm" && echo "pkg_install: find_package (rnnc::rnnc_static): examples/train_lm.c built and ran"
fi
[ $fails -eq 0 ] || { echo "pkg_install: $fails failures"; exit 1; }
echo "pkg_install: ok (rnnc $version installed to a temporary prefix and used both ways)"
