/**
 * Checks of cached Kubernetes tokens against the cluster (src/exec/verify.ts), so a token
 * Ankra revoked (a deleted grant; a role change is revoke + grant) leaves the cache soon,
 * also for clients that never re-run the plugin after a 401 (client-node, the Python client,
 * Lens, controllers).
 *
 * - `runCheck`: the plugin's cache hit starts it as a detached process (`ankra
 *   __check-cached-token DIR KEY [--ca-file F]`, stdio ignored) at most once per
 *   CHECK_AFTER_MS per key. A dead token is dropped, so the next process mints a new one.
 * - `checkCachedToken`: the same for `ankra doctor`, by key parts.
 */
import { isAbsolute } from 'node:path';
import { cacheKey, forgetCached, isFresh, lockFile, markChecked, openTokenDir, readCached, type CacheKeyParts, type CachedToken } from '../cache/token-cache';
import { privateDirProblem } from '../core/fsutil';
import { withLock } from '../core/lock';
import type { Paths } from '../core/paths';
import type { Verdict } from './verify';

export interface CheckDeps {
  env: NodeJS.ProcessEnv;
  /** Extra CA bundle for the cluster's proxy; default ANKRA_CA_FILE. */
  caFile?: string;
  /** For the whole check (default 5 s). */
  timeoutMs?: number;
  debug?: (line: string) => void;
}

export type CachedTokenState = 'none' | Verdict;

/**
 * Ask the cluster whether the cached token of `dir`/`key` still works; drop it when dead
 * (only if it is still the one that was checked: a new token may have been cached meanwhile).
 */
async function checkEntry(dir: string, key: string, deps: CheckDeps): Promise<CachedTokenState> {
  const entry = readCached(dir, key);
  // Nothing the plugin would serve, or nowhere to ask (an entry of an older version).
  if (!entry?.server || !isFresh(entry, Date.now())) return 'none';
  // Loaded here: the HTTP stack is not for the modules that merely list this one (cli.cjs).
  const { verifyToken } = await import('./verify');
  const verdict = await verifyToken(entry.server, entry.token, { env: deps.env, caFile: deps.caFile ?? (deps.env.ANKRA_CA_FILE || undefined), timeoutMs: deps.timeoutMs, debug: deps.debug });
  if (verdict === 'dead') await dropIfSame(dir, key, entry);
  if (verdict === 'alive') markChecked(dir, key, Date.now());
  return verdict;
}

async function dropIfSame(dir: string, key: string, checked: CachedToken): Promise<void> {
  const drop = async () => {
    if (readCached(dir, key)?.token === checked.token) forgetCached(dir, key);
  };
  try {
    await withLock(lockFile(dir, key), { what: 'the token cache', timeoutMs: 10_000, staleMs: 60_000, maxAgeMs: 120_000 }, drop);
  } catch {
    await drop(); // the lock is busy for long: a minting process will replace the entry anyway
  }
}

/**
 * For `ankra doctor`: the state of the cached token for (base URL, organisation, cluster,
 * login identity), the same key parts the plugin uses (the cluster as written in the
 * kubeconfig entry, an id or a name; identity from auth/source's `resolve(…).source`).
 *   'none'    nothing the plugin would serve is cached (or no server is known for it);
 *   'alive'   the cluster accepts it (200, or 403: authenticated, RBAC aside);
 *   'dead'    the cluster refused it (401); it was removed, so the next kubectl call mints
 *             a new one: say so;
 *   'unknown' the cluster could not be asked (network, 5xx, cluster offline).
 * One `GET {server}/api` with the token, within `deps.timeoutMs` (5 s). Never throws.
 *
 *   const { target, source } = resolve(flags, env, ctx.paths, { exec: true });
 *   const state = await checkCachedToken(ctx.paths,
 *     { baseUrl: target.baseUrl, org: target.org, cluster, identity: source.identity },
 *     { env, caFile: ctx.caFile });
 */
export async function checkCachedToken(paths: Paths, keyParts: CacheKeyParts, deps: CheckDeps): Promise<CachedTokenState> {
  try {
    const opened = openTokenDir(paths, false);
    if ('problem' in opened) return 'none';
    return await checkEntry(opened.dir, cacheKey(keyParts), deps);
  } catch {
    return 'unknown';
  }
}

/** The detached check's entry point; prints nothing (its stdio is ignored anyway). */
export async function runCheck(dir: string, key: string, caFile: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  if (!/^[0-9a-f]{64}$/.test(key) || !isAbsolute(dir) || privateDirProblem(dir)) return 2;
  try {
    const state = await checkEntry(dir, key, { env, caFile });
    return state === 'unknown' ? 1 : 0;
  } catch {
    return 1;
  }
}
