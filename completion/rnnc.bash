# bash completion for rnnc.
#
# Installed as share/bash-completion/completions/rnnc (bash-completion loads it the first time
# `rnnc <TAB>` is pressed); from a checkout: `source completion/rnnc.bash`.
#
# Everything offered comes from the --help texts of the rnnc being completed (the word typed as
# the command, so ./build/rnnc completes from that build), read when TAB is pressed:
#   rnnc <TAB>                    the commands under "commands:" in `rnnc --help`
#   rnnc tag <TAB>                the subcommands: `rnnc tag --help`'s "commands:" or "labs:"
#                                 lists and its usage lines ("rnnc tag train ...")
#   rnnc tag train --hi<TAB>      the flags of `rnnc tag train --help` (`rnnc tag --help` when
#                                 the command has no subcommands, with those of the modes it
#                                 points to: "see rnnc train --ids --help")
#   rnnc tag train --cell <TAB>   a flag's value: the choices its help lists ("a | b | c" in
#                                 its text or "a, b or c" at its start, or "a|b|c" as its
#                                 metavar), with file names when the help speaks of a file
# Anything else (a file flag's value, a number, a word that is no flag) gets no candidates, so
# bash falls back to file names (complete -o default). An rnnc that cannot run completes to
# nothing, and nothing is printed.

# The flag table of a help text, one line each: NAME US METAVAR US DESCRIPTION (its lines joined;
# US is the unit separator, \037, which read does not merge as it merges tabs), METAVAR empty for
# a switch. A flag line starts with a few spaces and a dash and reads as groups of spellings, each
# with at most one metavar, up to the description:
#   -o, --output RUN_DIR     where the run's files go       (one group, two spellings)
#   --verbose, -v  the build and the machine                 (a switch)
#   --width W --height H size in pixels                      (two groups)
#   --x tokens|step|time the x axis: ...                     (the metavar lists the choices)
# Lines indented deeper that follow carry on the description.
_rnnc_flag_table() {
    awk '
        function flush(   k) {
            for (k = 1; k <= n; k++) printf "%s\037%s\037%s\n", names[k], metas[k], desc
            n = 0
        }
        function isflag(t) { return t ~ /^--?[A-Za-z0-9][A-Za-z0-9-]*,?$/ }
        # (indents measured with match: mawk, Debian'"'"'s awk, has no {m,n} in its regexps)
        match($0, /^ +/) && RLENGTH <= 8 && substr($0, RLENGTH + 1, 1) == "-" {
            flush()
            line = $0
            sub(/^ +/, "", line)
            m = split(line, tok, / +/)
            k = 1; first = 1
            while (k <= m && isflag(tok[k])) {
                first = n + 1
                while (k <= m && isflag(tok[k])) {         # the spellings of one group
                    comma = tok[k] ~ /,$/
                    names[++n] = tok[k]; sub(/,$/, "", names[n]); metas[n] = ""
                    k++
                    if (!comma) break
                }
                # its metavar: the next word, when it is no flag and no gap came before it
                gap = index(line, names[n] "  ") > 0
                if (k <= m && !isflag(tok[k]) && !gap) {
                    for (j = first; j <= n; j++) metas[j] = tok[k]
                    gap = index(line, tok[k] "  ") > 0
                    k++
                }
                if (gap) break
            }
            desc = ""
            for (; k <= m; k++) desc = desc (desc == "" ? "" : " ") tok[k]
            next
        }
        match($0, /^ +[^ ]/) && RLENGTH > 9 { if (n) { line = $0; sub(/^ +/, " ", line); desc = desc line }; next }
        { flush() }
        END { flush() }'
}

# The subcommands a command's help lists, each once: under "commands:" or "labs:", and on its
# usage lines. With an empty command, the commands of `rnnc --help`.
_rnnc_subcommands() { # $1: the command, stdin: its help
    awk -v cmd="$1" '
        function out(w) { if (!(w in seen)) { seen[w] = 1; print w } }
        /^[a-z]+:$/ { section = ($0 == "commands:" || $0 == "labs:"); next }
        /^$/ { section = 0; next }
        section && /^  [a-z][a-z0-9-]*( |$)/ { out($1); next }
        cmd != "" {
            line = $0
            sub(/^usage: */, "", line); sub(/^ +/, "", line)
            # "rnnc tag train --data ...", but not "rnnc lab          list the labs"
            if (index(line, "rnnc " cmd " ") == 1 && substr(line, length("rnnc " cmd " ") + 1, 1) != " ") {
                rest = substr(line, length("rnnc " cmd " ") + 1)
                split(rest, w, " ")
                if (w[1] ~ /^[a-z][a-z0-9-]*$/) out(w[1])
            }
        }'
}

_rnnc() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local rnnc=${COMP_WORDS[0]}
    [[ $rnnc == "~/"* ]] && rnnc=$HOME/${rnnc#"~/"}
    COMPREPLY=()

    # the command and its subcommand: the first two words after rnnc that are not flags (a word
    # after a flag that takes a value is that value, so only bare words right after rnnc count)
    local cmd="" sub="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) break ;;
            *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}; elif [[ -z $sub ]]; then sub=${COMP_WORDS[i]}; else break; fi ;;
        esac
    done

    local help
    if [[ -z $cmd ]]; then
        if [[ $cur != -* ]]; then
            local cmds
            cmds=$("$rnnc" --help 2>/dev/null | _rnnc_subcommands "")
            mapfile -t COMPREPLY < <(compgen -W "$cmds" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
        fi
        return 0
    fi

    # a command with subcommands and none chosen yet: offer them
    local subs=""
    help=$("$rnnc" "$cmd" --help 2>/dev/null) || help=""
    [[ -n $help ]] || return 0
    subs=$(printf '%s\n' "$help" | _rnnc_subcommands "$cmd")
    if [[ -n $subs && -z $sub ]]; then
        if [[ $cur != -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
            return 0
        fi
    elif [[ -n $subs && -n $sub ]] && printf '%s\n' "$subs" | grep -qxF -- "$sub"; then
        local subhelp
        subhelp=$("$rnnc" "$cmd" "$sub" --help 2>/dev/null) && [[ -n $subhelp ]] && help=$subhelp
    fi

    local table
    table=$(printf '%s\n' "$help" | _rnnc_flag_table)
    # modes with a help of their own ("see rnnc train --ids --help"): their flags join the table,
    # first when the mode's flag is on the line (a flag's row is the first one found)
    local mode modehelp w typed
    for mode in $(printf '%s\n' "$help" | grep -oE "rnnc $cmd --[a-z][a-z0-9-]* --help" | awk '!seen[$3]++ { print $3 }'); do
        modehelp=$("$rnnc" "$cmd" "$mode" --help 2>/dev/null) || continue
        typed=""
        for w in "${COMP_WORDS[@]:1}"; do [[ $w == "$mode" ]] && typed=1; done
        if [[ -n $typed ]]; then
            table=$(printf '%s\n' "$modehelp" | _rnnc_flag_table; printf '%s\n' "$table")
        else
            table=$(printf '%s\n' "$table"; printf '%s\n' "$modehelp" | _rnnc_flag_table)
        fi
    done

    # the value of the flag before the cursor: the choices its help lists ("a | b | c" in its
    # text, or "a|b|c" as its metavar), with file names too when it names a FILE; with no
    # choices, nothing, so that bash falls back to file names (complete -o default)
    if [[ $prev == -* ]]; then
        local row meta desc
        row=$(printf '%s\n' "$table" | awk -F '\037' -v f="$prev" '$1 == f { print; exit }')
        if [[ -n $row ]]; then
            IFS=$'\037' read -r _ meta desc <<<"$row"
            if [[ -n $meta ]]; then
                local choices
                if [[ $meta == *"|"* ]]; then
                    choices=${meta//|/ }
                else
                    # "cosine (from --lr down ...) | constant (default cosine)" anywhere, or a
                    # text that starts "char, word or bpe"; asides in parentheses dropped
                    local plain
                    plain=$(printf '%s\n' "$desc" | sed -E 's/ *\([^)]*\)//g')
                    # a choice may take a number: "word:N" is offered as "word:", "word[:N]" as
                    # "word" and "word:" (each once)
                    choices=$(printf '%s\n' "$plain" | grep -oE '[a-z0-9_]+(\[?:[A-Z]+\]?)?( \| [a-z0-9_]+(\[?:[A-Z]+\]?)?)+' |
                        head -n 1 | tr -d '|' | tr ' ' '\n' | sed -E '/^$/d; s/^([a-z0-9_]+)\[:[A-Z]+\]$/\1\n\1:/; s/:[A-Z]+$/:/' |
                        awk '!seen[$0]++' | tr '\n' ' ')
                    [[ -n $choices ]] || choices=$(printf '%s\n' "$plain" |
                        grep -oE '^[a-z0-9_]+(, [a-z0-9_]+)*,? or [a-z0-9_]+' | sed -E 's/,? or / /; s/,//g')
                    # "a tokenizer file or cl100k_base ...": the OpenAI names, as tokenizer encode's
                    # help lists them
                    if [[ $desc == *cl100k_base* && $cmd != tokenizer ]]; then
                        choices+=" $("$rnnc" tokenizer encode --help 2>/dev/null | _rnnc_flag_table |
                            awk -F '\037' '$1 == "--tokenizer" { print $3; exit }' | grep -oE '[a-z0-9]+_base' | tr '\n' ' ')"
                    fi
                fi
                if [[ -n $choices ]]; then
                    mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
                    # "bpe:" is not a whole value: its number follows without a space
                    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
                    if [[ $meta == *FILE* || ${desc,,} == *file* ]]; then
                        local files
                        mapfile -t files < <(compgen -f -- "$cur")
                        COMPREPLY+=("${files[@]}")
                        compopt -o filenames 2>/dev/null
                    fi
                fi
                return 0
            fi
        fi
    fi

    if [[ $cur == -* ]]; then
        local flags
        flags=$(printf '%s\n' "$table" | cut -d $'\037' -f1 | awk '!seen[$0]++')
        mapfile -t COMPREPLY < <(compgen -W "$flags --help" -- "$cur")
    fi
    return 0
}

complete -o default -F _rnnc rnnc
