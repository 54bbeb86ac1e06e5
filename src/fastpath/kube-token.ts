/**
 * `ankra cluster kube-token`'s cache hit: kubectl's exec credential plugin, on every kubectl
 * call. This module and what it imports are node built-ins and small project modules only
 * (test/hot-path.test.ts traces the loaded modules). It answers a fresh cached token, or a
 * failure remembered for a few seconds, and otherwise says why it cannot answer: src/main.ts
 * then runs the slow path (src/exec/mint.ts) with that. It never imports the slow path.
 *
 * After answering a token that was not checked recently it starts a detached check (see
 * src/exec/check.ts): clients that never re-run the plugin after a 401 would otherwise get
 * a token Ankra has revoked from the cache until it expires.
 */
import { resolvePaths } from '../core/paths';
import { resolve } from '../auth/source';
import {
  alreadyServed,
  cacheKey,
  checkDue,
  claimCheck,
  isFresh,
  openTokenDir,
  readCached,
  readCachedError,
  recordServed,
  tellReplayed,
  trackedCaller,
  type CacheMiss,
} from '../cache/token-cache';
import { CHECK_COMMAND, type KubeTokenArgs } from '../main-dispatch';
import { writeStderr, writeStdout } from '../ui/stdio';
import { oneLine } from '../errors';
import { execApiVersion, execCredential } from './exec-credential';

export { parseKubeTokenArgs, type KubeTokenArgs } from '../main-dispatch';
export { execApiVersion, execCredential, type ExecApiVersion } from './exec-credential';

export type CacheAnswer = { code: number } | { miss: CacheMiss };

/** Answer from the cache, or say why not. Never throws: anything odd is the slow path's to report. */
export async function serveFromCache(args: KubeTokenArgs, env: NodeJS.ProcessEnv, nowMs = Date.now()): Promise<CacheAnswer> {
  let dir: string;
  let key: string;
  if (!args.cluster) return { miss: {} };
  try {
    const paths = resolvePaths(env);
    const { target, source } = resolve(args, env, paths, { exec: true });
    if (!source) return { miss: {} };
    const opened = openTokenDir(paths, false);
    if ('problem' in opened) return { miss: {} };
    dir = opened.dir;
    key = cacheKey({ baseUrl: target.baseUrl, org: target.org, cluster: args.cluster, identity: source.identity });
  } catch {
    return { miss: {} }; // e.g. a bad --base-url: the slow path reports it properly
  }

  const entry = readCached(dir, key, nowMs);
  const caller = trackedCaller(env);
  if (entry && isFresh(entry, nowMs)) {
    if (caller) {
      if (alreadyServed(dir, key, entry, caller)) return { miss: { suspect: entry } };
      recordServed(dir, key, entry, caller);
    }
    if (args.debug) writeStderr(`debug: token cache hit (expires ${entry.expires_at})\n`);
    writeStdout(execCredential(entry.token, entry.expires_at, execApiVersion(env)));
    if (checkDue(dir, key, entry, nowMs) && claimCheck(dir, key, nowMs)) await startCheck(dir, key, args, env);
    return { code: 0 };
  }

  const error = readCachedError(dir, key, nowMs);
  if (error && error.replay !== false) {
    if (tellReplayed(dir, key, error, caller)) writeStderr(`ankra: ${oneLine(error.message)}\n`);
    return { code: error.exit_code };
  }
  return { miss: {} };
}

/**
 * Start the check of a cached token as a detached process with no stdio: kubectl, and
 * clients that wait for the plugin's pipes to close (spawnSync, Python's communicate()),
 * do not wait for it. It gets the directory and key, never the token (argv is public).
 */
async function startCheck(dir: string, key: string, args: KubeTokenArgs, env: NodeJS.ProcessEnv): Promise<void> {
  const entry = process.argv[1];
  if (!entry) return;
  try {
    const { spawn } = await import('node:child_process');
    const argv = [entry, CHECK_COMMAND, dir, key, ...(args.caFile ? ['--ca-file', args.caFile] : [])];
    const child = spawn(process.execPath, argv, { detached: true, stdio: 'ignore', env, cwd: dir });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No check this time; the next hit tries again once the marker ages.
  }
}
