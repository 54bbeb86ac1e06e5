/**
 * `ankra cluster kube-token`: kubectl's exec credential plugin, on every kubectl call.
 * The cache hit stays here and loads only node built-ins and small project modules
 * (a test traces the loaded modules); anything else continues in `exec/mint.ts`.
 */
import { resolvePaths } from '../core/paths';
import { resolve, type GlobalFlags } from '../auth/source';
import { alreadyServed, cacheKey, callerOf, isFresh, readCached, readCachedError, recordServed, type CachedError, type CachedToken } from '../cache/token-cache';
import { writeStderr, writeStdout } from '../ui/stdio';

export interface KubeTokenArgs extends GlobalFlags {
  cluster?: string;
  debug: boolean;
}

const VALUE_FLAGS: Record<string, keyof GlobalFlags | 'cluster'> = {
  '--cluster': 'cluster',
  '--org': 'org',
  '--base-url': 'baseUrl',
  '--ca-file': 'caFile',
  '--token': 'token',
};

/** Hand-rolled argv parsing (commander costs start-up). undefined: let the full CLI handle it. */
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

export type ExecApiVersion = 'client.authentication.k8s.io/v1' | 'client.authentication.k8s.io/v1beta1';

/** kubectl says which ExecCredential version it wants in KUBERNETES_EXEC_INFO; v1 when absent. */
export function execApiVersion(env: NodeJS.ProcessEnv): ExecApiVersion {
  const info = env.KUBERNETES_EXEC_INFO;
  if (info) {
    try {
      const v = (JSON.parse(info) as { apiVersion?: unknown }).apiVersion;
      if (v === 'client.authentication.k8s.io/v1beta1') return v;
    } catch {
      // malformed: answer with v1
    }
  }
  return 'client.authentication.k8s.io/v1';
}

export function execCredential(token: string, expiresAt: string, apiVersion: ExecApiVersion): string {
  const expirationTimestamp = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${JSON.stringify({ apiVersion, kind: 'ExecCredential', status: { token, expirationTimestamp } })}\n`;
}

export async function kubeToken(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseKubeTokenArgs(argv);
  let rejected: string | undefined;
  if (args?.cluster) {
    const found = lookup(args, env);
    if (found?.kind === 'token') {
      if (args.debug) writeStderr(`debug: token cache hit (expires ${found.entry.expires_at})\n`);
      writeStdout(execCredential(found.entry.token, found.entry.expires_at, execApiVersion(env)));
      return 0;
    }
    if (found?.kind === 'error') {
      writeStderr(`ankra: ${found.error.message}\n`);
      return found.error.exit_code;
    }
    if (found?.kind === 'rejected') rejected = found.entry.issued_at;
  }
  // A miss, a token this kubectl already had rejected, or arguments only the full CLI can explain.
  const { mintForExec } = await import('../exec/mint');
  return mintForExec(argv, env, rejected);
}

type Found = { kind: 'token' | 'rejected'; entry: CachedToken } | { kind: 'error'; error: CachedError };

function lookup(args: KubeTokenArgs, env: NodeJS.ProcessEnv): Found | undefined {
  try {
    const paths = resolvePaths(env);
    const { target, source } = resolve(args, env, paths, { exec: true });
    if (!source || !args.cluster) return undefined;
    const dir = paths.tokenDir;
    const key = cacheKey({ baseUrl: target.baseUrl, org: target.org, cluster: args.cluster, identity: source.identity });
    const now = Date.now();
    const entry = readCached(dir, key);
    if (entry && isFresh(entry, now)) {
      // Only client-go (kubectl, k9s, …) re-runs the plugin after a 401, and it always sets
      // KUBERNETES_EXEC_INFO; a person or script running the command twice must not count.
      const caller = env.KUBERNETES_EXEC_INFO ? callerOf(process.ppid) : undefined;
      if (caller) {
        if (alreadyServed(dir, key, entry, caller)) return { kind: 'rejected', entry };
        recordServed(dir, key, entry, caller);
      }
      return { kind: 'token', entry };
    }
    const error = readCachedError(dir, key, now);
    return error ? { kind: 'error', error } : undefined;
  } catch {
    return undefined; // e.g. a bad --base-url: the slow path reports it properly
  }
}
