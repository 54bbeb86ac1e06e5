/**
 * The zsh completion script. Names from Ankra are read one per line into an array
 * (`${(f)…}`) and handed to `compadd`, which inserts them quoted: data, never code.
 */
import { firstLine, header, shPattern, sq, valueFlags, valueRules, type Node } from './rules';

export function zshScript(tree: Node[]): string {
  const described = (name: string, description: string) => sq(`${name.replace(/:/g, '\\:')}:${firstLine(description)}`);
  const nodes = tree
    .map((n) =>
      [
        `    ${sq(n.path.join(' '))})`,
        `      _ankra_subs=(${n.subcommands.map((s) => described(s.name, s.description)).join(' ')})`,
        `      _ankra_subnames=(${n.subcommands.map((s) => sq(s.name)).join(' ')})`,
        `      _ankra_flags=(${n.flags.flatMap((f) => f.names.map((name) => described(name, f.description))).join(' ')})`,
        `      _ankra_vflags=(${valueFlags(n).map(sq).join(' ')})`,
        '      ;;',
      ].join('\n'),
    )
    .join('\n');
  const values = valueRules(tree)
    .map((r) => {
      const v = r.values;
      const body = v.kind === 'choices' ? `_ankra_kind=choices; _ankra_list=(${v.values.map(sq).join(' ')})` : v.kind === 'dynamic' ? `_ankra_kind=dynamic; _ankra_list=(${sq(v.what)})` : `_ankra_kind=${v.kind}`;
      return `    (${shPattern(r.keys)}) ${body} ;;`;
    })
    .join('\n');
  return `#compdef ankra
${header('zsh', [
    'Install (one of):',
    '  ankra completion zsh > "${fpath[1]}/_ankra"      # a directory in $fpath; then start a new zsh',
    '  mkdir -p ~/.zfunc && ankra completion zsh > ~/.zfunc/_ankra',
    '                                  # and in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)',
    '  source <(ankra completion zsh)  # in ~/.zshrc after `autoload -Uz compinit && compinit`',
  ])}
# _ankra_node PATH: the subcommands, flags and flags taking a value of the command PATH.
_ankra_node() {
  case "$1" in
${nodes}
    (*) _ankra_subs=(); _ankra_subnames=(); _ankra_flags=(); _ankra_vflags=() ;;
  esac
}

# _ankra_values PATH KEY: how the value of flag KEY (or argument argN) of PATH completes.
_ankra_values() {
  _ankra_kind=none
  _ankra_list=()
  case "$1|$2" in
${values}
  esac
}

_ankra_complete_value() {
  local _ankra_kind cmd=\${words[1]}
  local -a _ankra_list names
  _ankra_values "$1" "$2"
  case $_ankra_kind in
    (choices) compadd -a _ankra_list ;;
    (file) _files ;;
    (dynamic)
      [[ $cmd == '~/'* ]] && cmd=$HOME/\${cmd#'~/'}
      # Names come from Ankra: one per line, inserted quoted by compadd. Local files only.
      names=(\${(f)"$("$cmd" __complete "\${_ankra_list[1]}" 2>/dev/null)"})
      compadd -a names
      ;;
  esac
}

_ankra() {
  local cur=\${words[CURRENT]} cmdpath='' pending='' w flag
  local -i i nargs=0
  local -a _ankra_subs _ankra_subnames _ankra_flags _ankra_vflags
  _ankra_node ''
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    if [[ -n $pending ]]; then
      pending=''
      continue
    fi
    case $w in
      (--) continue ;;
      (-*=*) continue ;;
      (-*) (( \${_ankra_vflags[(Ie)$w]} )) && pending=$w; continue ;;
    esac
    if (( \${_ankra_subnames[(Ie)$w]} )); then
      cmdpath=\${cmdpath:+$cmdpath }$w
      nargs=0
      _ankra_node "$cmdpath"
    else
      (( nargs += 1 ))
    fi
  done

  if [[ -n $pending ]]; then
    _ankra_complete_value "$cmdpath" "$pending"
  elif [[ $cur == -*=* ]]; then
    flag=\${cur%%=*}
    compset -P '*='
    _ankra_complete_value "$cmdpath" "$flag"
  elif [[ $cur == -* ]]; then
    _describe -t options 'option' _ankra_flags
  elif (( $#_ankra_subs )); then
    _describe -t commands 'command' _ankra_subs
  else
    _ankra_complete_value "$cmdpath" "arg$nargs"
  fi
}

if [[ \${funcstack[1]} == _ankra ]]; then
  _ankra "$@"
else
  compdef _ankra ankra
fi
`;
}
