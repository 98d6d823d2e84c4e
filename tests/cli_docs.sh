#!/usr/bin/env bash
# docs/CLI.md and the --help texts agree, flag for flag, in both directions:
#  - every flag that any command's, subcommand's or mode's --help shows is written in docs/CLI.md
#    where that command is documented;
#  - every flag docs/CLI.md writes for a command exists in one of that command's --help texts.
#
# The helps: `rnnc --help` lists the commands (the lines under "commands:"). For each command C,
# `rnnc C --help`; its subcommands are the lines under a "commands:" (or "labs:") heading and
# the words right after "rnnc C " on its usage lines (rnnc seq2seq train|translate|eval); each
# gets `rnnc C S --help`. Any "rnnc ... --help" a help names (without a <placeholder>) is run too, so
# modes chosen by a flag ("see rnnc train --ids --help") are read. A flag in a help is a word
# "--name" or a dash and one letter ("-o"), --help and -h aside.
#
# Every one of those helps, `rnnc --help` too, fits an 80-column terminal: a line over 80
# columns fails, named with its command and line number.
#
# The doc: flags are read only from code, `inline spans` and ``` fenced blocks ```, never from
# prose. A flag belongs to the command of the "## " section it is in (a heading names the
# commands it covers as "rnnc C", one or several); a span or a block line that itself starts
# with "rnnc C" (or "$ rnnc C", and the indented or \-continued lines after it) belongs to C
# instead. Flags in code outside every command section belong to any command.
# Usage: cli_docs.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
root=$2
doc=$root/docs/CLI.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C RNNC_NO_PROGRESS=1
# (failures are counted in a file: some are found in subshells)
: >"$tmp/fails"
fail() { echo "FAIL: $*"; echo >>"$tmp/fails"; }

[ -s "$doc" ] || { echo "FAIL: $doc is missing"; exit 1; }
# --threads is 1 to 1,024 in every command (0 is refused): no section may offer a 0 for it
grep -n '`--threads N` \[0' "$doc" | sed 's/^/FAIL: docs\/CLI.md offers --threads 0, which every command refuses: line /' | grep . && echo >>"$tmp/fails"
extra=$(cd "$root/docs" && ls CLI?*.md 2>/dev/null)
[ -z "$extra" ] || fail "docs/CLI.md is the one command-line document; merge and remove: $extra"

# flags_of FILE: the flags in a help text, one a line
flags_of() {
    awk '{ s = " " $0 " "
           while (match(s, /[^A-Za-z0-9_-](--[a-z0-9][a-z0-9-]*|-[A-Za-z])[^A-Za-z0-9_-]/)) {
               f = substr(s, RSTART + 1, RLENGTH - 2)
               if (f != "--help" && f != "-h") print f
               s = substr(s, RSTART + RLENGTH - 1)
           } }' "$1" | sort -u
}

# too_wide WHAT FILE: every line of a help fits an 80-column terminal (reports on stderr: help()'s
# stdout is the name of its file)
too_wide() {
    awk -v what="$1" 'length($0) > 80 { printf "FAIL: %s: line %d is %d columns (over 80): %s\n", what, NR, length($0), $0; n++ }
                      END { exit n > 0 }' "$2" >&2 || echo >>"$tmp/fails"
}

# help NAME ARGS...: runs `rnnc ARGS... --help` once; its text in $tmp/help.NAME; records
# "COMMAND FLAG" lines in $tmp/help_flags and the invocation in $tmp/helps.
: >"$tmp/help_flags"
: >"$tmp/helps"
help() {
    local args=$1 cmd=${1%% *} out
    grep -qxF -- "$args" "$tmp/helps" && return 1
    echo "$args" >>"$tmp/helps"
    out=$tmp/help.$(wc -l <"$tmp/helps")
    # shellcheck disable=SC2086
    if ! "$rnnc" $args --help >"$out" 2>&1 </dev/null; then fail "rnnc $args --help exited $?: $(head -3 "$out")"; return 1; fi
    flags_of "$out" | sed "s/^/$cmd /" >>"$tmp/help_flags"
    too_wide "rnnc $args --help" "$out"
    # modes reached by a help of their own, named in this one
    grep -oE "rnnc [a-z][a-z0-9]*( [^ '()<>]+)* --help" "$out" | sed -e "s/^rnnc //" -e "s/ --help$//" | sort -u >"$out.refs"
    echo "$out"
}

top=$tmp/top
"$rnnc" --help >"$top" || fail "rnnc --help exited $?"
too_wide "rnnc --help" "$top"
commands=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on && !/^  / { on = 0 }' "$top")
[ -n "$commands" ] || fail "rnnc --help lists no commands"
for c in $commands; do
    out=$(help "$c") || continue
    subs=$( { awk '/^(commands|labs):/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on && !/^  / { on = 0 }' "$out"
              grep -oE "rnnc $c [a-z][a-z0-9-]*" "$out" | awk '{ print $3 }'; } | sort -u)
    queue=$(cat "$out.refs")
    for s in $subs; do
        sout=$(help "$c $s") || continue
        queue="$queue"$'\n'"$(cat "$sout.refs")"
    done
    while read -r ref; do
        [ -n "$ref" ] || continue
        rout=$(help "$ref") || continue
    done <<<"$queue"
done
sort -u "$tmp/help_flags" -o "$tmp/help_flags"
[ "$(wc -l <"$tmp/help_flags")" -gt 50 ] || fail "only $(wc -l <"$tmp/help_flags") flags found in the helps: $(tr '\n' ' ' <"$tmp/helps")"

# The doc's flags: "COMMANDS FLAG LINE" lines, COMMANDS comma-separated ("*" for any command).
awk '
    function cmds_of(s,    out, w) {
        out = ""
        while (match(s, /rnnc [a-z][a-z0-9]*/)) {
            w = substr(s, RSTART + 5, RLENGTH - 5)
            out = out (out == "" ? "" : ",") w
            s = substr(s, RSTART + RLENGTH)
        }
        return out
    }
    # the command a code text names first ("rnnc C ..." or "$ rnnc C ..."), else ""
    function lead_cmd(s) {
        sub(/^[ \t]*(\$[ \t]+)?/, "", s)
        if (match(s, /^rnnc [a-z][a-z0-9]*/)) return substr(s, 6, RLENGTH - 5)
        return ""
    }
    function emit(s, cmds,    f) {
        if (cmds == "") cmds = "*"
        s = " " s " "
        while (match(s, /[^A-Za-z0-9_-](--[a-z0-9][a-z0-9-]*|-[A-Za-z])[^A-Za-z0-9_-]/)) {
            f = substr(s, RSTART + 1, RLENGTH - 2)
            if (f != "--help" && f != "-h") print cmds, f, NR
            s = substr(s, RSTART + RLENGTH - 1)
        }
    }
    /^```/ { inblock = !inblock; blockcmd = ""; prevcont = 0; next }
    inblock {
        c = lead_cmd($0)
        if (c != "") blockcmd = c
        else if (!(prevcont || $0 ~ /^[ \t]/)) blockcmd = ""
        prevcont = ($0 ~ /\\$/)
        emit($0, blockcmd != "" ? blockcmd : section)
        next
    }
    /^# / { section = ""; next }
    /^## / { section = cmds_of($0); next }
    {
        s = $0
        while (match(s, /`[^`]+`/)) {
            span = substr(s, RSTART + 1, RLENGTH - 2)
            s = substr(s, RSTART + RLENGTH)
            c = lead_cmd(span)
            emit(span, c != "" ? c : section)
        }
    }' "$doc" >"$tmp/doc_flags"
[ "$(wc -l <"$tmp/doc_flags")" -gt 50 ] || fail "only $(wc -l <"$tmp/doc_flags") flags found in docs/CLI.md"

# every help flag is documented for its command
while read -r cmd flag; do
    awk -v c="$cmd" -v f="$flag" '$2 == f { n = split($1, a, ","); for (i = 1; i <= n; i++) if (a[i] == c || a[i] == "*") found = 1 }
                                   END { exit !found }' "$tmp/doc_flags" ||
        fail "rnnc $cmd: $flag is in its --help but not in docs/CLI.md (as \`$flag\` in the rnnc $cmd section)"
done <"$tmp/help_flags"

# every documented flag exists in a help of one of its commands
while read -r cmds flag line; do
    if [ "$cmds" = "*" ]; then
        grep -q " $flag\$" "$tmp/help_flags" || fail "docs/CLI.md:$line: $flag is in no --help"
    else
        ok=0
        for c in ${cmds//,/ }; do grep -qxF -- "$c $flag" "$tmp/help_flags" && ok=1; done
        [ $ok -eq 1 ] || fail "docs/CLI.md:$line: $flag is in no --help of rnnc ${cmds//,/ or rnnc }"
    fi
done <"$tmp/doc_flags"

fails=$(wc -l <"$tmp/fails")
echo "cli_docs: $(wc -l <"$tmp/helps") helps, $(wc -l <"$tmp/help_flags") command flags, $(wc -l <"$tmp/doc_flags") flags written in docs/CLI.md; $fails failed"
[ "$fails" -eq 0 ]
