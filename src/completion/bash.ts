/**
 * The bash completion script. Names from Ankra (clusters, members) are data, never code:
 * they are read one per line with `mapfile`, matched against what was typed with a literal
 * prefix test, and inserted shell-quoted (`printf %q`), so a cluster named `x$(touch …)`
 * completes as that literal word and runs nothing. `compgen -W` (which expands its word
 * list) is used only on the words of ankra's own command tree.
 */
import { allFlags, header, shPattern, sq, valueFlags, valueRules, type Node } from './rules';

export function bashScript(tree: Node[]): string {
  const nodes = tree
    .map((n) =>
      [
        `    ${sq(n.path.join(' '))})`,
        `      _ankra_subs=${sq(n.subcommands.map((s) => s.name).join(' '))}`,
        `      _ankra_flags=${sq(allFlags(n).join(' '))}`,
        `      _ankra_vflags=${sq(` ${valueFlags(n).join(' ')} `)}`,
        '      ;;',
      ].join('\n'),
    )
    .join('\n');
  const values = valueRules(tree)
    .map((r) => {
      const v = r.values;
      const body = v.kind === 'choices' ? `_ankra_kind=choices _ankra_list=${sq(v.values.join(' '))}` : v.kind === 'dynamic' ? `_ankra_kind=dynamic _ankra_list=${sq(v.what)}` : `_ankra_kind=${v.kind}`;
      return `    ${shPattern(r.keys)}) ${body} ;;`;
    })
    .join('\n');
  return `${header('bash', [
    'Install (one of):',
    '  source <(ankra completion bash)       # in ~/.bashrc, for every new shell',
    '  ankra completion bash > ~/.local/share/bash-completion/completions/ankra',
    '                                        # with the bash-completion package: loaded on first use',
  ])}
# _ankra_node PATH: the subcommands, flags and flags taking a value of the command PATH.
_ankra_node() {
  case "$1" in
${nodes}
    *) _ankra_subs='' _ankra_flags='' _ankra_vflags=' ' ;;
  esac
}

# _ankra_values PATH KEY: how the value of flag KEY (or argument argN) of PATH completes.
_ankra_values() {
  _ankra_kind=none _ankra_list=''
  case "$1|$2" in
${values}
  esac
}

# _ankra_add PREFIX WORD...: the words starting with $cur, as literal, shell-quoted words.
_ankra_add() {
  local prefix=$1 w q
  shift
  for w in "$@"; do
    [[ -n $w && $w == "$cur"* ]] || continue
    printf -v q '%q' "$w"
    COMPREPLY+=("$prefix$q")
  done
}

# _ankra_complete_value PATH KEY PREFIX: completes cur as that value.
_ankra_complete_value() {
  local _ankra_kind _ankra_list cmd=\${COMP_WORDS[0]}
  local -a names
  _ankra_values "$1" "$2"
  case $_ankra_kind in
    choices) read -r -a names <<< "$_ankra_list"; _ankra_add "$3" "\${names[@]}" ;;
    file)
      compopt -o filenames 2>/dev/null
      local IFS=$'\\n'
      COMPREPLY=($(compgen -P "$3" -f -- "$cur"))
      ;;
    dynamic)
      [[ $cmd == '~/'* ]] && cmd=$HOME/\${cmd#'~/'}
      # Names come from Ankra: data only (see above). Local files only, never the network.
      mapfile -t names < <("$cmd" __complete "$_ankra_list" 2>/dev/null)
      _ankra_add "$3" "\${names[@]}"
      ;;
  esac
}

_ankra() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath='' pending='' w i nargs=0
  local _ankra_subs _ankra_flags _ankra_vflags
  COMPREPLY=()
  _ankra_node ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -n $pending ]]; then
      # bash splits --flag=value at '=' (COMP_WORDBREAKS): the value is the word after it
      [[ $w == '=' ]] && continue
      pending=''
      continue
    fi
    case $w in
      --) continue ;;
      -*=*) continue ;;
      -*) [[ $_ankra_vflags == *" $w "* ]] && pending=$w; continue ;;
    esac
    if [[ " $_ankra_subs " == *" $w "* ]]; then
      cmdpath=\${cmdpath:+$cmdpath }$w
      nargs=0
      _ankra_node "$cmdpath"
    else
      nargs=$((nargs + 1))
    fi
  done

  if [[ -n $pending ]]; then
    [[ $cur == '=' ]] && cur=''
    _ankra_complete_value "$cmdpath" "$pending" ''
  elif [[ $cur == -*=* ]]; then
    # --flag=value as one word (a COMP_WORDBREAKS without '=')
    local flag=\${cur%%=*}
    cur=\${cur#*=}
    _ankra_complete_value "$cmdpath" "$flag" "$flag="
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_ankra_flags" -- "$cur"))
  elif [[ -n $_ankra_subs ]]; then
    COMPREPLY=($(compgen -W "$_ankra_subs" -- "$cur"))
  else
    _ankra_complete_value "$cmdpath" "arg$nargs" ''
  fi
  return 0
}

complete -F _ankra ankra
`;
}
