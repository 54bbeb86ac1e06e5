/**
 * The client-go exec credential entry that makes kubectl call `ankra cluster kube-token`.
 * The parser also recognises entries written by Ankra's Go CLI, whose argv we kept.
 */
export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

/** kubectl shows this when the command is not found. */
export const INSTALL_HINT =
  'ankra is needed to reach this cluster: install the ankra CLI, then run `ankra login`';

/** What an exec entry pins: enough to mint a token whatever the defaults are later. */
export interface ExecSpec {
  /** `ankra`, or an absolute path to it. */
  command: string;
  clusterId: string;
  /** The `--org` value: an organisation id when ankra wrote it. */
  orgId?: string;
  /** Only when not the default base URL. */
  baseUrl?: string;
  caFile?: string;
}

/** The `user.exec` object of a kubeconfig user entry. */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  interactiveMode: 'Never';
  provideClusterInfo: boolean;
  installHint: string;
}

export function buildExecEntry(spec: ExecSpec): ExecConfig {
  const pinned: Array<[string, string | undefined]> = [
    ['--org', spec.orgId],
    ['--base-url', spec.baseUrl],
    ['--ca-file', spec.caFile],
  ];
  const args = ['cluster', 'kube-token', '--cluster', spec.clusterId];
  for (const [flag, value] of pinned) if (value) args.push(flag, value);
  return {
    apiVersion: EXEC_API_VERSION,
    command: spec.command,
    args,
    // the plugin never prompts; kubectl must not hand it a terminal
    interactiveMode: 'Never',
    provideClusterInfo: false,
    installHint: INSTALL_HINT,
  };
}

const FLAGS: Record<string, keyof Omit<ExecSpec, 'command'>> = {
  '--cluster': 'clusterId',
  '--org': 'orgId',
  '--base-url': 'baseUrl',
  '--ca-file': 'caFile',
};

/**
 * The ExecSpec of a `user.exec` value when it runs `… cluster kube-token --cluster <id> …`,
 * else undefined. The arguments decide, not the command's name: `--exec-command` may name a
 * wrapper script, and such entries must stay listable, replaceable and removable. Flags may come before or
 * after the subcommand, as `--flag value` or `--flag=value`; unknown ones are ignored.
 * Imports nothing (no yaml), so any module may use it cheaply.
 */
export function parseAnkraExec(exec: unknown): ExecSpec | undefined {
  if (typeof exec !== 'object' || exec === null) return undefined;
  const { command, args } = exec as { command?: unknown; args?: unknown };
  if (typeof command !== 'string' || command === '') return undefined;
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === 'string')) return undefined;
  if (!args.some((a, i) => a === 'cluster' && args[i + 1] === 'kube-token')) return undefined;

  const spec: ExecSpec = { command, clusterId: '' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const field = FLAGS[eq > 0 ? arg.slice(0, eq) : arg];
    if (!field) continue;
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value) spec[field] = value;
  }
  return spec.clusterId ? spec : undefined;
}

