#!/usr/bin/env bash
# The bash completion (completion/rnnc.bash) against this build's --help texts: commands,
# subcommands, flags and flag values complete as the helps list them; every flag line of every
# help is in the completion's flag table; a value with no listed choices and a word that is no
# flag are left to bash's file names; an rnnc that cannot run completes to nothing, silently.
# Usage: cli_completion.sh RNNC_BINARY REPO_ROOT
set -u
RNNC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # absolute: one check runs in another folder
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# shellcheck source=../completion/rnnc.bash
source "$ROOT/completion/rnnc.bash"

# complete WORD...: run the completion with the cursor on the last word (the first word is the
# binary); the candidates, sorted, one line, in $got; anything it prints on stderr in $T/err
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _rnnc 2>"$T/err"
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
}

# expect "CANDIDATES" WORD...: the candidates are exactly CANDIDATES (sorted, space-separated)
expect() {
    local want=$1
    shift
    checks=$((checks + 1))
    complete_words "$RNNC" "$@"
    want=$(printf '%s\n' $want | sort | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want" ] || fail "rnnc $* <TAB>: got '$got', expected '$want'"
    [ ! -s "$T/err" ] || fail "rnnc $* <TAB>: printed on stderr: $(head -3 "$T/err")"
}

# the commands: those of `rnnc --help`, and a prefix narrows them
cmds=$("$RNNC" --help | awk '/^commands:$/ { s = 1; next } /^$/ { s = 0 } s && /^  [a-z]/ { print $1 }')
expect "$cmds" ""
for c in classify tag forecast seq2seq tokenizer lab; do
    printf '%s\n' "$cmds" | grep -qx "$c" || fail "rnnc --help lists no command $c"
done
expect "classify" cl
expect "--help --version" -

# subcommands: from usage lines, a "commands:" list and the lab list
expect "train predict eval" tag ""
expect "train predict eval" classify ""
expect "train predict eval" forecast ""
expect "train translate eval" seq2seq ""
expect "train encode decode stats" tokenizer ""
expect "bidirectional embeddings memory params stacking teacher-forcing tokens vanishing" lab ""
expect "predict" tag pr

# flags: the subcommand's own, switches and the flags after a value included
expect "--hidden --help" tag train --h
expect "--dropout" tag train --bidirectional --dr
expect "--dropout" tag train --data x.tsv --dr
expect "--exactly-one" tag predict --ex
expect "--verbose -v --json --help" version -
expect "--height --help" plot --he
expect "--cell" train --ce
# a mode's own help ("see rnnc train --ids --help"): its flags too, its values first when given
expect "--model --momentum" train --mo
expect "--seed --seq" train --ids x.ids --se

# values: the choices a flag's help lists, in each way helps write them
expect "rnn_tanh rnn_relu lstm gru" tag train --cell ""
expect "lstm" classify train --cell l
expect "sgd adam adamw" seq2seq train --optimizer ""
expect "cosine constant" train --schedule ""
expect "last mean max final" classify train --pool ""
expect "none balanced" classify train --class-weight ""
expect "mse mae" forecast train --loss ""
expect "rnn_tanh rnn_relu lstm gru" init --cell ""
expect "char word bpe" tokenizer train --type ""
expect "text binary" tokenizer encode --format ""
expect "tokens step time" plot --x ""
expect "cl100k_base" tokenizer encode -t cl

# a value with choices and a file: both (from a folder holding one file)
mkdir "$T/d" && : >"$T/d/tok.json"
(
    fails=0 # this subshell's own, added to the count below
    cd "$T/d" || exit 1
    # "space | char | word[:N] | bpe:N | FILE (a tokenizer file or cl100k_base ...)": a choice
    # taking a number is offered up to its colon, each once; the OpenAI names from tokenizer
    # encode's help
    expect "space char word word: bpe: r50k_base p50k_base cl100k_base o200k_base tok.json" tag train --tokenizer ""
    expect "tok.json" tag train --tokenizer t
    expect "bpe:" seq2seq train --source-tokenizer b
    expect "space char word word: bpe: r50k_base p50k_base cl100k_base o200k_base tok.json" seq2seq train --source-tokenizer ""
    exit "$fails"
) || fails=$((fails + $?))
checks=$((checks + 4))

# left to bash's file names: a file flag's value, a number, a word after the subcommand
expect "" tag train --data ""
expect "" seq2seq train -o ""
expect "" tag train --hidden ""
expect "" tokenizer encode --tokenizer cl100k_base ""
complete -p rnnc | grep -q -- "-o default" || fail "complete -p rnnc lacks -o default: $(complete -p rnnc)"
checks=$((checks + 1))

# nothing, silently: an unknown command, a binary that is not there or fails
expect "" nonsense --
checks=$((checks + 1))
complete_words /nonexistent/rnnc ""
[ -z "$got" ] && [ ! -s "$T/err" ] || fail "a missing rnnc: got '$got', stderr '$(cat "$T/err")'"
checks=$((checks + 1))
complete_words /bin/false tag train --h
[ -z "$got" ] && [ ! -s "$T/err" ] || fail "a failing rnnc: got '$got', stderr '$(cat "$T/err")'"

# every flag line of every help (commands and subcommands) is in the completion's flag table
for c in $cmds; do
    help=$("$RNNC" "$c" --help 2>/dev/null)
    for s in "" $(printf '%s\n' "$help" | _rnnc_subcommands "$c"); do
        h=$("$RNNC" "$c" $s --help 2>/dev/null) || continue
        table=$(printf '%s\n' "$h" | _rnnc_flag_table | cut -d $'\037' -f1)
        while read -r flag; do
            checks=$((checks + 1))
            printf '%s\n' "$table" | grep -qxF -- "$flag" || fail "rnnc $c $s --help: $flag is not in the completion's flags"
        done < <(printf '%s\n' "$h" | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*$')
    done
done

echo "cli_completion: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
