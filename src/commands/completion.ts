/**
 * `ankra completion bash|zsh|fish`: a shell completion script generated from the commander
 * tree itself (commands at every depth, their flags plus the global ones, choices of flag
 * values and arguments, files for path flags), so it cannot drift from the CLI.
 *
 * Cluster names come from the hidden helper `ankra __complete clusters [--kubeconfig PATH]`,
 * which reads only local files: the Ankra contexts of the kubeconfig and the default
 * clusters saved by `ankra cluster select`. No network call, so TAB never waits on Ankra.
 */
import type { Command, Option } from 'commander';
import type { Context } from '../context';
import { readConfig } from '../core/config';
import { UsageError } from '../errors';
import { VERSION } from '../version';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a flag value or an argument completes to. */
export type Values = { kind: 'choices'; values: string[] } | { kind: 'file' } | { kind: 'cluster' } | { kind: 'none' };

export interface FlagInfo {
  /** `--output`, `-o`: the names a user may type. */
  names: string[];
  description: string;
  /** Undefined for a boolean flag. */
  value?: Values;
}

export interface CommandInfo {
  /** Command names from the root: [] for `ankra`, ['cluster', 'access', 'grant'], … */
  path: string[];
  subcommands: Array<{ name: string; description: string }>;
  /** The command's own flags and those of its ancestors (global flags apply at every depth). */
  flags: FlagInfo[];
  /** Positional arguments in order. */
  args: Values[];
}

const NONE: Values = { kind: 'none' };

function placeholder(flags: string): string {
  return /[<[]([^>\]]+)[>\]]/.exec(flags)?.[1] ?? '';
}

/** The value kind of a name: `<path>` / `<file>` complete files, `<cluster>` cluster names. */
function kindOfName(name: string, choices: readonly string[] | undefined): Values {
  if (choices && choices.length > 0) return { kind: 'choices', values: [...choices] };
  if (/cluster/i.test(name)) return { kind: 'cluster' };
  if (/path|file/i.test(name)) return { kind: 'file' };
  return NONE;
}

function flagInfo(opt: Option): FlagInfo {
  const names = [opt.long, opt.short].filter((n): n is string => typeof n === 'string' && n.length > 0);
  const info: FlagInfo = { names, description: opt.description ?? '' };
  if (opt.required || opt.optional) info.value = kindOfName(placeholder(opt.flags), opt.argChoices);
  return info;
}

/** Every visible command of the tree (hidden ones and their subtrees left out), root first. */
export function describeTree(program: Command): CommandInfo[] {
  const help = program.createHelp();
  const out: CommandInfo[] = [];
  const walk = (cmd: Command, path: string[], inherited: FlagInfo[]): void => {
    const own = help.visibleOptions(cmd).map(flagInfo);
    const ownNames = new Set(own.flatMap((f) => f.names));
    // An ancestor's flag that this command redefines (e.g. --cluster) is the command's own.
    const flags = [...own, ...inherited.filter((f) => !f.names.some((n) => ownNames.has(n)))];
    const subs = help.visibleCommands(cmd);
    out.push({
      path,
      subcommands: subs.map((s) => ({ name: s.name(), description: firstLine(s.description()) })),
      flags,
      args: cmd.registeredArguments.map((a) => kindOfName(a.name(), a.argChoices)),
    });
    const forChildren = [...inherited, ...cmd.options.filter((o) => !o.hidden).map(flagInfo)];
    for (const sub of subs) {
      if (sub.name() === 'help' && !cmd.commands.includes(sub)) {
        // commander's implicit `help [command]`: its argument is a sibling command
        const siblings = subs.filter((s) => s !== sub).map((s) => s.name());
        out.push({ path: [...path, 'help'], subcommands: [], flags: dedupe(forChildren), args: [{ kind: 'choices', values: siblings }] });
        continue;
      }
      walk(sub, [...path, sub.name()], forChildren);
    }
  };
  walk(program, [], []);
  return out;
}

function dedupe(flags: FlagInfo[]): FlagInfo[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = f.names.join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').trim();
}

// ------------------------------------------------------------------ shared shape of the scripts

/** A key of the value table: `path|--flag` or `path|argN` (N counts from 0). */
interface ValueRule {
  keys: string[];
  values: Values;
}

/**
 * The completions of flag values and arguments, as case patterns over `path|key`. A flag
 * that completes the same way wherever it appears gets one `*|--flag` pattern.
 */
function valueRules(tree: CommandInfo[]): ValueRule[] {
  const byFlag = new Map<string, Array<{ path: string; values: Values }>>();
  for (const node of tree) {
    for (const f of node.flags) {
      if (!f.value) continue;
      for (const n of f.names) {
        const list = byFlag.get(n) ?? [];
        list.push({ path: node.path.join(' '), values: f.value });
        byFlag.set(n, list);
      }
    }
  }
  const keysBySpec = new Map<string, string[]>();
  const add = (spec: Values, key: string) => {
    if (spec.kind === 'none') return;
    const s = JSON.stringify(spec);
    keysBySpec.set(s, [...(keysBySpec.get(s) ?? []), key]);
  };
  for (const [name, uses] of byFlag) {
    const specs = new Set(uses.map((u) => JSON.stringify(u.values)));
    if (specs.size === 1) add(uses[0]!.values, `*|${name}`);
    else for (const u of uses) add(u.values, `${u.path}|${name}`);
  }
  for (const node of tree) node.args.forEach((a, i) => add(a, `${node.path.join(' ')}|arg${i}`));
  return [...keysBySpec].map(([spec, keys]) => ({ keys, values: JSON.parse(spec) as Values }));
}

function valueFlags(node: CommandInfo): string[] {
  return node.flags.filter((f) => f.value).flatMap((f) => f.names);
}

function allFlags(node: CommandInfo): string[] {
  return node.flags.flatMap((f) => f.names);
}

/** A POSIX single-quoted word (bash and zsh). */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A fish single-quoted word. */
function fq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Keys as a case pattern list; `*` stays a wildcard, the rest is quoted. */
function shPattern(keys: string[]): string {
  return keys.map((k) => (k.startsWith('*|') ? `*${sq(k.slice(1))}` : sq(k))).join('|');
}

function header(shell: Shell, install: string[]): string {
  return [
    `# ${shell} completion for ankra ${VERSION}, generated by \`ankra completion ${shell}\` from the`,
    '# command tree of that ankra; regenerate after upgrading ankra.',
    '#',
    ...install.map((l) => (l ? `# ${l}` : '#')),
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ bash

function bashScript(tree: CommandInfo[]): string {
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
      const body =
        r.values.kind === 'choices' ? `_ankra_kind=choices _ankra_list=${sq(r.values.values.join(' '))}` : `_ankra_kind=${r.values.kind}`;
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

# Cluster names, offline: the kubeconfig's Ankra contexts and the saved default clusters.
_ankra_clusters() {
  local cmd=\${COMP_WORDS[0]}
  [[ $cmd == '~/'* ]] && cmd=$HOME/\${cmd#'~/'}
  local kc=$1
  [[ $kc == '~/'* ]] && kc=$HOME/\${kc#'~/'}
  if [[ -n $kc ]]; then
    "$cmd" __complete clusters --kubeconfig "$kc" 2>/dev/null
  else
    "$cmd" __complete clusters 2>/dev/null
  fi
}

# _ankra_complete_value PATH KEY PREFIX KUBECONFIG: completes cur as that value.
_ankra_complete_value() {
  local IFS=$'\\n' _ankra_kind _ankra_list
  _ankra_values "$1" "$2"
  case $_ankra_kind in
    choices) COMPREPLY=($(IFS=' '; compgen -P "$3" -W "$_ankra_list" -- "$cur")) ;;
    file)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -P "$3" -f -- "$cur"))
      ;;
    cluster) COMPREPLY=($(compgen -P "$3" -W "$(_ankra_clusters "$4")" -- "$cur")) ;;
  esac
}

_ankra() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath='' pending='' kubeconfig='' w i nargs=0
  local _ankra_subs _ankra_flags _ankra_vflags
  COMPREPLY=()
  _ankra_node ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -n $pending ]]; then
      # bash splits --flag=value at '=' (COMP_WORDBREAKS): the value is the word after it
      [[ $w == '=' ]] && continue
      [[ $pending == --kubeconfig ]] && kubeconfig=$w
      pending=''
      continue
    fi
    case $w in
      --) continue ;;
      --kubeconfig=*) kubeconfig=\${w#*=}; continue ;;
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
    _ankra_complete_value "$cmdpath" "$pending" '' "$kubeconfig"
  elif [[ $cur == -*=* ]]; then
    # --flag=value as one word (a COMP_WORDBREAKS without '=')
    local flag=\${cur%%=*}
    cur=\${cur#*=}
    _ankra_complete_value "$cmdpath" "$flag" "$flag=" "$kubeconfig"
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_ankra_flags" -- "$cur"))
  elif [[ -n $_ankra_subs ]]; then
    COMPREPLY=($(compgen -W "$_ankra_subs" -- "$cur"))
  else
    _ankra_complete_value "$cmdpath" "arg$nargs" '' "$kubeconfig"
  fi
  return 0
}

complete -F _ankra ankra
`;
}

// ------------------------------------------------------------------ zsh

function zshScript(tree: CommandInfo[]): string {
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
      const body =
        r.values.kind === 'choices' ? `_ankra_kind=choices; _ankra_list=(${r.values.values.map(sq).join(' ')})` : `_ankra_kind=${r.values.kind}`;
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

# Cluster names, offline: the kubeconfig's Ankra contexts and the saved default clusters.
_ankra_clusters() {
  local cmd=\${words[1]} kc=$1
  [[ $cmd == '~/'* ]] && cmd=$HOME/\${cmd#'~/'}
  [[ $kc == '~/'* ]] && kc=$HOME/\${kc#'~/'}
  if [[ -n $kc ]]; then
    "$cmd" __complete clusters --kubeconfig "$kc" 2>/dev/null
  else
    "$cmd" __complete clusters 2>/dev/null
  fi
}

_ankra_complete_value() {
  local _ankra_kind
  local -a _ankra_list names
  _ankra_values "$1" "$2"
  case $_ankra_kind in
    (choices) compadd -a _ankra_list ;;
    (file) _files ;;
    (cluster)
      names=(\${(f)"$(_ankra_clusters "$3")"})
      compadd -a names
      ;;
  esac
}

_ankra() {
  local cur=\${words[CURRENT]} cmdpath='' pending='' kubeconfig='' w flag
  local -i i nargs=0
  local -a _ankra_subs _ankra_subnames _ankra_flags _ankra_vflags
  _ankra_node ''
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    if [[ -n $pending ]]; then
      [[ $pending == --kubeconfig ]] && kubeconfig=$w
      pending=''
      continue
    fi
    case $w in
      (--) continue ;;
      (--kubeconfig=*) kubeconfig=\${w#*=}; continue ;;
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
    _ankra_complete_value "$cmdpath" "$pending" "$kubeconfig"
  elif [[ $cur == -*=* ]]; then
    flag=\${cur%%=*}
    compset -P '*='
    _ankra_complete_value "$cmdpath" "$flag" "$kubeconfig"
  elif [[ $cur == -* ]]; then
    _describe -t options 'option' _ankra_flags
  elif (( $#_ankra_subs )); then
    _describe -t commands 'command' _ankra_subs
  else
    _ankra_complete_value "$cmdpath" "arg$nargs" "$kubeconfig"
  fi
}

if [[ \${funcstack[1]} == _ankra ]]; then
  _ankra "$@"
else
  compdef _ankra ankra
fi
`;
}

// ------------------------------------------------------------------ fish

function fishScript(tree: CommandInfo[]): string {
  const lines = (pairs: Array<[string, string]>) =>
    pairs.length ? `printf '%s\\t%s\\n' ${pairs.map(([a, b]) => `${fq(a)} ${fq(firstLine(b))}`).join(' ')}` : 'true';
  const switchOf = (fn: (n: CommandInfo) => string) => tree.map((n) => `        case ${fq(n.path.join(' '))}\n            ${fn(n)}`).join('\n');
  const subs = switchOf((n) => lines(n.subcommands.map((s) => [s.name, s.description])));
  const flags = switchOf((n) => lines(n.flags.flatMap((f) => f.names.map((name): [string, string] => [name, f.description]))));
  const vflags = switchOf((n) => (valueFlags(n).length ? `printf '%s\\n' ${valueFlags(n).map(fq).join(' ')}` : 'true'));
  const values = valueRules(tree)
    .map((r) => {
      const body =
        r.values.kind === 'choices'
          ? `printf '%s\\n' ${r.values.values.map(fq).join(' ')}`
          : r.values.kind === 'file'
            ? '__fish_complete_path $cur'
            : '__ankra_clusters $kubeconfig';
      return `        case ${r.keys.map(fq).join(' ')}\n            ${body}`;
    })
    .join('\n');
  return `${header('fish', [
    'Install (one of):',
    '  ankra completion fish > ~/.config/fish/completions/ankra.fish   # loaded on first use',
    '  ankra completion fish | source                                  # this shell only',
  ])}
# The subcommands (name<TAB>description) of the command path $argv[1].
function __ankra_subs
    switch "$argv[1]"
${subs}
    end
end

# The flags (name<TAB>description) of the command path $argv[1], the global ones included.
function __ankra_flags
    switch "$argv[1]"
${flags}
    end
end

# The flags of the command path $argv[1] that take a value.
function __ankra_vflags
    switch "$argv[1]"
${vflags}
    end
end

# Cluster names, offline: the kubeconfig's Ankra contexts and the saved default clusters.
function __ankra_clusters
    set -l cmd (commandline -opc)[1]
    set cmd (string replace -r '^~/' "$HOME/" -- $cmd)
    set -l kc (string replace -r '^~/' "$HOME/" -- "$argv[1]")
    if test -n "$kc"
        $cmd __complete clusters --kubeconfig $kc 2>/dev/null
    else
        $cmd __complete clusters 2>/dev/null
    end
end

# Completions for the value of flag $argv[2] (or argument argN) of the command path $argv[1];
# $argv[3] is the text typed so far, $argv[4] the --kubeconfig given on the line.
function __ankra_value
    set -l cur $argv[3]
    set -l kubeconfig $argv[4]
    switch "$argv[1]|$argv[2]"
${values}
    end
end

function __ankra_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l pending ''
    set -l kubeconfig ''
    set -l nargs 0
    set -l vflags (__ankra_vflags '')
    set -l subs (__ankra_subs '' | string replace -r '\\t.*' '')
    for w in $tokens
        if test -n "$pending"
            test "$pending" = --kubeconfig; and set kubeconfig $w
            set pending ''
            continue
        end
        switch $w
            case --
                continue
            case '--kubeconfig=*'
                set kubeconfig (string replace -- '--kubeconfig=' '' $w)
                continue
            case '-*=*'
                continue
            case '-*'
                contains -- $w $vflags; and set pending $w
                continue
        end
        if contains -- $w $subs
            set cmdpath (string trim -- "$cmdpath $w")
            set nargs 0
            set vflags (__ankra_vflags $cmdpath)
            set subs (__ankra_subs $cmdpath | string replace -r '\\t.*' '')
        else
            set nargs (math $nargs + 1)
        end
    end

    if test -n "$pending"
        __ankra_value $cmdpath $pending $cur $kubeconfig
    else if string match -q -- '-*=*' $cur
        set -l flag (string split -m 1 -- = $cur)[1]
        set -l value (string split -m 1 -- = $cur)[2]
        for v in (__ankra_value $cmdpath $flag $value $kubeconfig)
            echo "$flag=$v"
        end
    else if string match -q -- '-*' $cur
        __ankra_flags $cmdpath
    else if test (count $subs) -gt 0
        __ankra_subs $cmdpath
    else
        __ankra_value $cmdpath arg$nargs $cur $kubeconfig
    end
end

complete -c ankra -e
complete -c ankra -f -a '(__ankra_complete)'
`;
}

// ------------------------------------------------------------------ entry points

export function isShell(s: string): s is Shell {
  return (SHELLS as readonly string[]).includes(s);
}

/** The completion script for `shell`, generated from the command tree `program`. */
export function completionScript(program: Command, shell: Shell): string {
  const tree = describeTree(program);
  switch (shell) {
    case 'bash':
      return bashScript(tree);
    case 'zsh':
      return zshScript(tree);
    case 'fish':
      return fishScript(tree);
  }
}

export interface Options {
  shell: string;
  /** The command tree; default: the one `buildProgram` makes. */
  program?: Command;
}

/** `ankra completion SHELL`: print the script. */
export async function run(ctx: Context, opts: Options): Promise<number> {
  const { shell } = opts;
  if (!isShell(shell)) {
    throw new UsageError(`unknown shell ${JSON.stringify(shell)}: choose one of ${SHELLS.join(', ')}`, { hint: 'see `ankra completion --help`' });
  }
  const program = opts.program ?? (await import('../cli')).buildProgram(ctx.env, async () => undefined);
  ctx.out.print(completionScript(program, shell));
  return 0;
}

// ------------------------------------------------------------------ the hidden helper

/**
 * The names a cluster name may be completed with, from local files only: the default
 * cluster of every server and organisation (`ankra cluster select`), then the Ankra
 * contexts of the kubeconfig (`ankra-<slug>` gives the slug, other names are kept as they
 * are: `kubeconfig remove` accepts a context name). A missing or broken file adds nothing.
 */
export async function clusterNames(ctx: Context, opts: { kubeconfig?: string } = {}): Promise<string[]> {
  const names: string[] = [];
  try {
    for (const server of Object.values(readConfig(ctx.paths.configDir).servers)) {
      for (const ref of Object.values(server?.clusters ?? {})) if (typeof ref?.name === 'string') names.push(ref.name);
    }
  } catch {
    // a damaged settings file completes nothing from it
  }
  try {
    const kube = await import('../kube/kubeconfig');
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
    for (const c of await kube.listAnkraContexts(loc)) names.push(nameOfContext(c.context, c.clusterId));
  } catch {
    // an unreadable kubeconfig completes nothing from it
  }
  return [...new Set(names.filter((n) => n !== '' && !/\s/.test(n)))];
}

/** `ankra-staging` → staging; `ankra-staging-5f0c1a2b` (a name clash) → staging; else the name. */
function nameOfContext(context: string, clusterId: string): string {
  if (!context.startsWith('ankra-')) return context;
  let slug = context.slice('ankra-'.length);
  for (const suffix of [`-${clusterId}`, `-${clusterId.slice(0, 8)}`]) {
    if (slug.endsWith(suffix) && slug.length > suffix.length) {
      slug = slug.slice(0, -suffix.length);
      break;
    }
  }
  return slug;
}

/** `ankra __complete WHAT`: candidates for the completion scripts, one per line; never fails. */
export async function complete(ctx: Context, opts: { what: string; kubeconfig?: string }): Promise<number> {
  if (opts.what === 'clusters') {
    const names = await clusterNames(ctx, { kubeconfig: opts.kubeconfig });
    if (names.length > 0) ctx.out.print(names.join('\n'));
  }
  return 0;
}
