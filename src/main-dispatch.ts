/**
 * What the process was asked to do, decided once from argv by hand (commander costs
 * start-up): the exec credential plugin (`cluster kube-token` with options it knows), the
 * plugin's own background check of a cached token, or anything else, which is the full
 * CLI's to parse and explain (help, unknown flags, a missing --cluster). Imports nothing at
 * run time.
 */
import type { GlobalFlags } from './auth/source';

export interface KubeTokenArgs extends GlobalFlags {
  cluster?: string;
  debug: boolean;
}

/** The hidden command the plugin runs, detached, to check a cached token (see src/exec/check.ts). */
export const CHECK_COMMAND = '__check-cached-token';

export type Route =
  | { kind: 'kube-token'; args: KubeTokenArgs }
  | { kind: 'check'; dir: string; key: string; caFile: string | undefined }
  | { kind: 'version' }
  | { kind: 'cli' };

const VALUE_FLAGS: Record<string, keyof GlobalFlags | 'cluster'> = {
  '--cluster': 'cluster',
  '--org': 'org',
  '--base-url': 'baseUrl',
  '--ca-file': 'caFile',
  '--token': 'token',
};

/** True when argv is the exec-credential command, with any options before or after. */
export function isKubeToken(argv: readonly string[]): boolean {
  const i = argv.indexOf('kube-token');
  return i > 0 && argv[i - 1] === 'cluster' && !argv.includes('--help') && !argv.includes('-h');
}

/** The plugin's options, or undefined when the full CLI must handle argv. */
export function parseKubeTokenArgs(argv: readonly string[]): KubeTokenArgs | undefined {
  const out: KubeTokenArgs = { debug: false };
  let seenCommand = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === 'cluster' && seenCommand === 0) seenCommand = 1;
    else if (a === 'kube-token' && seenCommand === 1) seenCommand = 2;
    else if (a === '--debug') out.debug = true;
    else if (a === '--no-color') continue;
    else {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      const field = VALUE_FLAGS[name];
      if (!field) return undefined;
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') return undefined;
      out[field] = value;
    }
  }
  return seenCommand === 2 ? out : undefined;
}

export function route(argv: readonly string[]): Route {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return { kind: 'version' };
  if (argv[0] === CHECK_COMMAND && argv.length >= 3) {
    const caAt = argv.indexOf('--ca-file', 3);
    return { kind: 'check', dir: argv[1] ?? '', key: argv[2] ?? '', caFile: caAt > 0 ? argv[caAt + 1] : undefined };
  }
  if (isKubeToken(argv)) {
    const args = parseKubeTokenArgs(argv);
    if (args) return { kind: 'kube-token', args };
  }
  return { kind: 'cli' };
}
