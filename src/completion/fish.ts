/**
 * The fish completion script. fish reads a completion function's output one candidate per
 * line and never evaluates it; candidates are escaped by fish when inserted.
 */
import { firstLine, fq, header, valueFlags, valueRules, type Node } from './rules';

export function fishScript(tree: Node[]): string {
  const lines = (pairs: Array<[string, string]>) => (pairs.length ? `printf '%s\\t%s\\n' ${pairs.map(([a, b]) => `${fq(a)} ${fq(firstLine(b))}`).join(' ')}` : 'true');
  const switchOf = (fn: (n: Node) => string) => tree.map((n) => `        case ${fq(n.path.join(' '))}\n            ${fn(n)}`).join('\n');
  const subs = switchOf((n) => lines(n.subcommands.map((s) => [s.name, s.description])));
  const flags = switchOf((n) => lines(n.flags.flatMap((f) => f.names.map((name): [string, string] => [name, f.description]))));
  const vflags = switchOf((n) => (valueFlags(n).length ? `printf '%s\\n' ${valueFlags(n).map(fq).join(' ')}` : 'true'));
  const values = valueRules(tree)
    .map((r) => {
      const v = r.values;
      const body = v.kind === 'choices' ? `printf '%s\\n' ${v.values.map(fq).join(' ')}` : v.kind === 'file' ? '__fish_complete_path $cur' : `__ankra_dynamic ${fq(v.kind === 'dynamic' ? v.what : '')}`;
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

# Names from Ankra (clusters, members, contexts), from local files only; data, never code.
function __ankra_dynamic
    set -l cmd (commandline -opc)[1]
    set cmd (string replace -r '^~/' "$HOME/" -- $cmd)
    $cmd __complete $argv[1] 2>/dev/null
end

# Completions for the value of flag $argv[2] (or argument argN) of the command path $argv[1];
# $argv[3] is the text typed so far.
function __ankra_value
    set -l cur $argv[3]
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
    set -l nargs 0
    set -l vflags (__ankra_vflags '')
    set -l subs (__ankra_subs '' | string replace -r '\\t.*' '')
    for w in $tokens
        if test -n "$pending"
            set pending ''
            continue
        end
        switch $w
            case --
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
        __ankra_value $cmdpath $pending $cur
    else if string match -q -- '-*=*' $cur
        set -l flag (string split -m 1 -- = $cur)[1]
        set -l value (string split -m 1 -- = $cur)[2]
        for v in (__ankra_value $cmdpath $flag $value)
            echo "$flag=$v"
        end
    else if string match -q -- '-*' $cur
        __ankra_flags $cmdpath
    else if test (count $subs) -gt 0
        __ankra_subs $cmdpath
    else
        __ankra_value $cmdpath arg$nargs $cur
    end
end

complete -c ankra -e
complete -c ankra -f -a '(__ankra_complete)'
`;
}
