/**
 * `ankra help options|environment|exit-codes`: the topics that are not a command. Kept as
 * data so the man page carries the same text.
 */
import { describeFlag } from './program';
import { GLOBAL_FLAGS, NEGATABLE } from './globals';
import { flagName } from './spec';
import { FOUND_EXIT } from '../access/docs';

export const TOPICS = ['options', 'environment', 'exit-codes'] as const;
export type Topic = (typeof TOPICS)[number];

export const ENVIRONMENT: Array<[string, string]> = [
  ['ANKRA_BASE_URL', 'the Ankra API (default https://platform.ankra.app, or the server of your last `ankra login`); --base-url'],
  ['ANKRA_ORG', 'organisation name, slug or id; --org'],
  ['ANKRA_API_TOKEN', 'an Ankra API token, for CI; a saved login (yours, or Ankra Go CLI\'s ~/.ankra.yaml) wins, with a note; --token wins over both'],
  ['ANKRA_CLUSTER', 'the cluster commands act on when none is named (beats `ankra cluster select`)'],
  ['ANKRA_CA_FILE', 'an extra CA bundle (PEM) to trust; its certificates are also written into kubeconfig entries; --ca-file'],
  ['ANKRA_PROFILE', 'keep several logins to one server apart (default "default")'],
  ['ANKRA_CREDENTIAL_STORE', '"keychain" or "file": where a login\'s secret is kept (default: the OS keychain, else a 0600 file)'],
  ['ANKRA_ALLOW_INSECURE_HTTP', '1 allows plain http:// to hosts other than loopback (never do this on a network you do not control)'],
  ['ANKRA_HTTP_TIMEOUT_MS', 'the timeout of one request (default 30000)'],
  ['ANKRA_LOGIN_POLL_MS', 'how often `ankra login` asks whether you approved (default 2000)'],
  ['HTTPS_PROXY', 'the proxy for https:// requests (also https_proxy)'],
  ['HTTP_PROXY', 'the proxy for http:// requests (also http_proxy)'],
  ['NO_PROXY', 'hosts reached without a proxy, comma-separated (also no_proxy)'],
  ['NODE_EXTRA_CA_CERTS', 'more CAs for ankra\'s own requests (kubectl does not read it: use --ca-file for kubeconfig entries)'],
  ['KUBECONFIG', 'the kubeconfig files, as kubectl reads them; --kubeconfig'],
  ['XDG_CONFIG_HOME', 'settings in $XDG_CONFIG_HOME/ankra (default ~/.config/ankra)'],
  ['XDG_CACHE_HOME', 'cached Kubernetes tokens and completion lists in $XDG_CACHE_HOME/ankra (default ~/.cache/ankra)'],
  ['NO_COLOR', 'any value: no colour (also --no-color)'],
  ['BROWSER', 'the program `ankra login` opens links with ("none": never open one)'],
  ['CI', 'set: no browser login (use --with-token), no prompts, no spinners'],
  ['KUBERNETES_EXEC_INFO', 'set by kubectl for its credential plugin: the ExecCredential version it wants'],
];

export const EXIT_CODES: Array<[number, string]> = [
  [0, 'ok (an empty list too)'],
  [1, 'the API or something else failed'],
  [2, 'usage: a bad flag, argument or value; nothing was sent'],
  [3, 'not found (a cluster, a grant, an organisation)'],
  [4, 'cancelled (Ctrl-C, or a question answered no)'],
  [5, 'waiting timed out, or the cluster is offline'],
  [6, 'authentication: not logged in, expired or refused; also "you have no grant on this cluster"'],
  [7, 'permission denied: this needs an organisation admin'],
  [FOUND_EXIT, 'found (ankra\'s own): `cluster access diff` saw drift, or `cluster access review --fail-on` found a listed kind'],
];

export function topicText(topic: Topic): string {
  switch (topic) {
    case 'options': {
      const rows: Array<[string, string]> = Object.entries(GLOBAL_FLAGS).map(([key, f]) => [`${f.short ? `${f.short}, ` : ''}${flagName(key)}${f.kind === 'value' ? ` <${f.value}>` : ''}`, describeFlag(key, f)]);
      rows.push(['--no-color', NEGATABLE.color], ['--no-headers', NEGATABLE.headers], ['-h, --help', 'help for a command'], ['-v, --version', 'the version']);
      return `The options every command accepts (before or after the command):\n\n${table(rows)}`;
    }
    case 'environment':
      return `Environment variables ankra reads:\n\n${table(ENVIRONMENT)}`;
    case 'exit-codes':
      return `Exit codes (0–7 the same as Ankra's Go CLI):\n\n${table(EXIT_CODES.map(([c, s]) => [String(c), s]))}`;
  }
}

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map(([a]) => a.length));
  return `${rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n')}\n`;
}
