/**
 * `ankra.1`, generated from the command tree by `npm run build` (the hidden
 * `ankra __manpage`), so the man page says what the binary does. roff, `man -l ankra.1`.
 */
import type { TreeNode } from './spec';
import { ENVIRONMENT, EXIT_CODES, topicText } from './topics';
import { VERSION } from '../version';

/** Text as roff: backslashes escaped, no line starting with a control character. */
function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

export function manPage(nodes: TreeNode[], date = new Date()): string {
  const out: string[] = [];
  const month = date.toISOString().slice(0, 7);
  out.push(`.TH ANKRA 1 "${month}" "ankra ${VERSION}" "User Commands"`);
  out.push('.SH NAME', 'ankra \\- Ankra Cluster Access from the terminal');
  out.push('.SH SYNOPSIS', '.B ankra', '[\\fIoptions\\fR] \\fIcommand\\fR [\\fIargs\\fR]');
  out.push(
    '.SH DESCRIPTION',
    roff(
      'An organisation admin grants a teammate a role (view, edit, admin, cluster-admin) on a cluster, or on one namespace of it; Ankra turns the grant into Kubernetes RBAC. ' +
        'The teammate logs in once with ankra login, adds a kubectl context with ankra cluster kubeconfig add, and then uses plain kubectl: kubectl runs ankra cluster kube-token as its exec credential plugin, which hands it short-lived tokens minted by Ankra.',
    ),
  );
  out.push('.SH COMMANDS');
  for (const n of nodes) {
    if (n.hidden || n.path.length === 0 || n.subcommands.length > 0) continue;
    const args = n.args.map((a) => (a.required ? `\\fI${a.name.toUpperCase()}\\fR` : `[\\fI${a.name.toUpperCase()}\\fR]`)).join(' ');
    out.push('.TP', `.B ankra ${roff(n.path.join(' '))}${args ? ` ${args}` : ''}`, roff(n.summary));
    const own = n.flags.filter((f) => !f.names.some((x) => ['--base-url', '--org', '--token', '--output', '--ca-file', '--debug', '--help', '--version', '--no-color', '--no-headers'].includes(x)));
    for (const f of own) out.push('.RS', '.TP', `.B ${roff(f.names.join(', '))}`, roff(f.description), '.RE');
    for (const e of n.examples.slice(0, 2)) out.push('.RS', '.nf', roff(`$ ${e}`), '.fi', '.RE');
  }
  out.push('.SH OPTIONS', '.nf', roff(topicText('options')), '.fi');
  out.push('.SH ENVIRONMENT');
  for (const [k, v] of ENVIRONMENT) out.push('.TP', `.B ${roff(k)}`, roff(v));
  out.push('.SH EXIT STATUS');
  for (const [c, v] of EXIT_CODES) out.push('.TP', `.B ${c}`, roff(v));
  out.push(
    '.SH FILES',
    '.TP',
    '.I ~/.config/ankra/config.json',
    'settings and the metadata of logins (never a secret)',
    '.TP',
    '.I ~/.config/ankra/credentials.json',
    roff('a login\'s secret where no OS keychain runs (mode 0600)'),
    '.TP',
    '.I ~/.cache/ankra/tokens/',
    'cached short-lived Kubernetes tokens (0600 files in a 0700 directory)',
    '.TP',
    '.I ~/.kube/config',
    roff('the kubeconfig (or $KUBECONFIG, or --kubeconfig), edited under kubectl\'s own lock'),
  );
  out.push('.SH SEE ALSO', '.BR kubectl (1)');
  return `${out.join('\n')}\n`;
}
