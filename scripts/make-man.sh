#!/usr/bin/env bash
# Writes rnnc's man pages from its --help texts (run by the build; installed to share/man/man1):
#   rnnc.1          `rnnc --help`, and the commands it lists
#   rnnc-CMD.1      `rnnc CMD --help` and, as sections, each subcommand's `rnnc CMD SUB --help`
# The subcommands are found as tests/cli_docs.sh finds them: the lines under a "commands:"
# heading and the word after "rnnc CMD " on the usage lines. The help is shown as written
# (preformatted), so a page always says what --help says.
# Usage: make-man.sh RNNC_BINARY OUT_DIR VERSION
set -euo pipefail
rnnc=$1
out=$2
version=$3
export LC_ALL=C RNNC_NO_PROGRESS=1
mkdir -p "$out"
rm -f "$out"/rnnc.1 "$out"/rnnc-*.1 # pages of commands that are gone are not installed
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)

# roff-escape a help text: backslashes, and a leading . or ' that roff would take as a request
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# the words under "commands:" (up to the first blank line), one a line: the lines indented by two
# spaces (a summary too long for the line goes on under itself, indented further)
commands_of() { awk '/^commands:/ { on = 1; next } on && /^[ \t]*$/ { on = 0 } on && /^  [a-z]/ { print $1 }'; }

page() { # page NAME SECTION-TITLE SUMMARY
    printf '.TH %s 1 "%s" "rnnc %s" "rnnc manual"\n' "$(echo "$1" | tr a-z A-Z)" "$date" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$1" "$2"
}

top=$("$rnnc" --help)
cmds=$(printf '%s\n' "$top" | commands_of)
{
    page rnnc "recurrent sequence models in C"
    printf '.SH DESCRIPTION\n.nf\n'
    printf '%s\n' "$top" | esc
    printf '.fi\n.SH SEE ALSO\n'
    first=1
    for c in $cmds; do
        [ $first = 1 ] || printf ',\n'
        printf '.BR rnnc\\-%s (1)' "$c"
        first=0
    done
    printf '\n'
} >"$out/rnnc.1"

for c in $cmds; do
    # its summary, with the lines it is wrapped onto
    summary=$(printf '%s\n' "$top" | awk -v c="$c" '/^commands:/ { on = 1; next }
        got && /^   / { sub(/^ +/, ""); s = s " " $0; next } got { exit }
        on && /^  [a-z]/ && $1 == c { $1 = ""; sub(/^ +/, ""); s = $0; got = 1 } END { print s }')
    help=$("$rnnc" "$c" --help 2>&1 || true)
    subs=$( { printf '%s\n' "$help" | commands_of
              printf '%s\n' "$help" | sed -n "s/^\\(usage:\\)\\{0,1\\} *rnnc $c \\([a-z][a-z0-9-]*\\).*/\\2/p"; } | awk '!seen[$0]++')
    {
        page "rnnc-$c" "$summary"
        printf '.SH DESCRIPTION\n.nf\n'
        printf '%s\n' "$help" | esc
        printf '.fi\n'
        for s in $subs; do
            sub=$("$rnnc" "$c" "$s" --help 2>&1 || true)
            [ "$sub" != "$help" ] || continue
            printf '.SH "RNNC %s %s"\n.nf\n' "$(echo "$c" | tr a-z A-Z)" "$(echo "$s" | tr a-z A-Z)"
            printf '%s\n' "$sub" | esc
            printf '.fi\n'
        done
        # modes a help points to, as "see rnnc train --ids --help"
        for m in $(printf '%s\n' "$help" | grep -o "rnnc $c --[a-z][a-z0-9-]* --help" | awk '!seen[$3]++ { print $3 }'); do
            printf '.SH "RNNC %s %s"\n.nf\n' "$(echo "$c" | tr a-z A-Z)" "$(echo "$m" | tr a-z A-Z | sed 's/-/\\-/g')"
            "$rnnc" "$c" "$m" --help 2>&1 | esc || true
            printf '.fi\n'
        done
        printf '.SH SEE ALSO\n.BR rnnc (1)\n'
    } >"$out/rnnc-$c.1.tmp"
    mv "$out/rnnc-$c.1.tmp" "$out/rnnc-$c.1"
done
