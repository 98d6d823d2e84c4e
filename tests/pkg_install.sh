#!/usr/bin/env bash
# The install, as a user of the library sees it: `cmake --install` of this build tree into a
# temporary prefix (the build is reused, nothing is recompiled), then
#  - the layout: librnnc.so -> librnnc.so.MAJOR -> librnnc.so.VERSION, librnnc.a, the headers
#    (rnnc.h and the generated version.h among them), rnnc.pc, the CMake package, bin/rnnc
#    (whose --version is the project's), the man pages, the bash completion;
#  - pkg-config: examples/tokenize.c built with `pkg-config --cflags --libs rnnc` (librnnc.so)
#    and again with `--static` (librnnc.a and its Requires.private/Libs.private), both run;
#  - find_package: tests/pkg_consumer builds examples/pytorch_sample.c on rnnc::rnnc and
#    examples/train_lm.c on rnnc::rnnc_static; both run;
#  - C++: a program including rnnc/rnnc.h, built with g++ through pkg-config, runs.
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

# the installed rnnc has no data folder beside it: an OpenAI encoding by name says where it looked
# and how to get it (it used to say "cl100k_base: cannot open")
got=$(cd / && printf 'hi' | env -u RNNC_DATA "$P/bin/rnnc" tokenizer encode -t cl100k_base 2>&1 >/dev/null)
case $got in
    *"cl100k_base.tiktoken: not found (cl100k_base); run scripts/fetch-data.sh"*"RNNC_DATA"*) ;;
    *) fail "installed rnnc, -t cl100k_base without data: '$got'" ;;
esac

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
    # a program that multiplies (train_lm) loads the OpenMP build of OpenBLAS rnnc was built with,
    # not the pthread build that is the system's default alternative
    if [ -d "/usr/lib/$(gcc -dumpmachine)/openblas-openmp" ] &&
        run "$tmp/cc-static2.log" "$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/train_lm.c" -o "$tmp/train-static" \
            $(pkg-config --cflags rnnc) $static_libs; then
        ldd "$tmp/train-static" | grep -q "openblas-openmp/" || fail "train_lm (pkg-config --static) loads another OpenBLAS: $(ldd "$tmp/train-static" | grep -i blas)"
    fi
    run "$tmp/tokenize-static.log" "$tmp/tokenize-static" && echo "pkg_install: pkg-config --static (librnnc.a): examples/tokenize.c built and ran"
fi

# every example builds with the line its header comment gives ("Build: cc X.c ..."), as a reader
# would type it
for ex in "$src"/examples/*.c; do
    line=$(tr '\n' ' ' <"$ex" | sed -n 's/.*Build: \(cc [a-z0-9_]*\.c \$(pkg-config --cflags --libs rnnc)\( -l[a-z]*\)*\).*/\1/p')
    name=$(basename "$ex")
    [ -n "$line" ] || { fail "examples/$name: no 'Build: cc $name \$(pkg-config --cflags --libs rnnc)' line"; continue; }
    libs=${line#*rnnc)}
    # shellcheck disable=SC2086  # the documented extra libraries, word-split as a shell would
    run "$tmp/ex-$name.log" "$cc" -std=c11 -Wall -Wextra -Werror "$ex" -o "$tmp/ex-${name%.c}" $(pkg-config --cflags --libs rnnc) $libs \
        || continue
done
echo "pkg_install: every example builds with its documented command line"

# C++: the public headers declare C linkage (extern "C"), so a C++ program links against the C
# library; rnnc.h includes every public header
cxx=$(command -v c++ || true)
if [ -n "$cxx" ]; then
    cat >"$tmp/consumer.cpp" <<'CPP'
#include <rnnc/rnnc.h>
#include <cstdio>
#include <cstring>
int main() {
    const uint32_t chars[] = {'a', 'b', 0x00e9};
    rnnc_char_tok *t = nullptr;
    rnnc_ids ids = {};
    rnnc_bytes back = {};
    const char text[] = "ab\xc3\xa9";
    if (rnnc_char_create(&t, chars, 3) != RNNC_OK || rnnc_char_encode(t, (const unsigned char *)text, std::strlen(text), &ids, nullptr) != RNNC_OK
        || rnnc_char_decode(t, ids.data, ids.len, &back) != RNNC_OK) {
        std::fprintf(stderr, "%s\n", rnnc_last_error());
        return 1;
    }
    const bool ok = ids.len == 3 && back.len == std::strlen(text) && std::memcmp(back.data, text, back.len) == 0;
    std::printf("rnnc %s from C++: %zu ids, round trip %s\n", rnnc_version(), ids.len, ok ? "ok" : "FAILED");
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
    rnnc_char_free(t);
    return ok && std::strcmp(rnnc_version(), RNNC_VERSION) == 0 ? 0 : 1;
}
CPP
    if run "$tmp/cxx.log" "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic "$tmp/consumer.cpp" -o "$tmp/consumer-cxx" \
            $(pkg-config --cflags --libs rnnc) -Wl,-rpath,"$L"; then
        run "$tmp/cxx-run.log" "$tmp/consumer-cxx" && echo "pkg_install: pkg-config (librnnc.so): a C++ program built and ran"
    fi
else
    echo "pkg_install: no C++ compiler, the C++ consumer is not tried"
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
