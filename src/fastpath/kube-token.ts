/**
 * `ankra cluster kube-token`'s cache hit: kubectl's exec credential plugin, on every kubectl
 * call. This module and what it imports are node built-ins and small project modules only
 * (test/hot-path.test.ts traces the loaded modules). It answers a fresh cached token, or a
 * failure remembered for a few seconds; when it cannot, src/main.ts runs the slow path
 * (src/exec/mint.ts), which this module never imports.
 *
 * After answering a token that was not checked recently it starts a detached check (see
 * src/exec/check.ts): clients that never re-run the plugin after a 401 would otherwise get
 * a token Ankra has revoked from the cache until it expires.
 */
import { resolve as absolute } from 'node:path';
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
} from '../cache/token-cache';
import { CHECK_COMMAND, type KubeTokenArgs } from '../main-dispatch';
import { reportMessage } from '../ui/report';
import { writeStderr, writeStdout } from '../ui/stdio';
import { execApiVersion, execCredential } from './exec-credential';

export { parseKubeTokenArgs, type KubeTokenArgs } from '../main-dispatch';
export { execApiVersion, execCredential, type ExecApiVersion } from './exec-credential';

/**
 * Answer from the cache: the exit code, or undefined when the slow path must answer (a miss,
 * a token this caller asks for again, no usable cache, anything odd, which the slow path
 * then reports). Never throws.
 */
export async function serveFromCache(args: KubeTokenArgs, env: NodeJS.ProcessEnv, nowMs = Date.now()): Promise<number | undefined> {
  let dir: string;
  let key: string;
  if (!args.cluster) return undefined;
  try {
    const paths = resolvePaths(env);
    const { target, source } = resolve(args, env, paths, { exec: true });
    if (!source) return undefined;
    const opened = openTokenDir(paths, false);
    if ('problem' in opened) return undefined;
    dir = opened.dir;
    key = cacheKey({ baseUrl: target.baseUrl, org: target.org, cluster: args.cluster, identity: source.identity });
  } catch {
    return undefined; // e.g. a bad --base-url: the slow path reports it properly
  }

  const entry = readCached(dir, key, nowMs);
  const caller = trackedCaller(env);
  if (entry && isFresh(entry, nowMs)) {
    if (caller) {
      // Asked again by the same client process: it may have been refused (the slow path asks
      // the cluster before minting).
      if (alreadyServed(dir, key, entry, caller)) return undefined;
      recordServed(dir, key, entry, caller);
    }
    if (args.debug) writeStderr(`debug: token cache hit (expires ${entry.expires_at})\n`);
    writeStdout(execCredential(entry.token, entry.expires_at, execApiVersion(env)));
    if (checkDue(dir, key, entry, nowMs) && claimCheck(dir, key, nowMs)) await startCheck(dir, key, args, env);
    return 0;
  }

  const error = readCachedError(dir, key, nowMs);
  if (error && error.replay !== false) {
    if (tellReplayed(dir, key, error, caller)) reportMessage(error.message);
    return error.exit_code;
  }
  return undefined;
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
    // The check runs in the cache directory: a relative CA file path is made absolute first.
    const argv = [entry, CHECK_COMMAND, dir, key, ...(args.caFile ? ['--ca-file', absolute(args.caFile)] : [])];
    const childEnv = env.ANKRA_CA_FILE ? { ...env, ANKRA_CA_FILE: absolute(env.ANKRA_CA_FILE) } : env;
    const child = spawn(process.execPath, argv, { detached: true, stdio: 'ignore', env: childEnv, cwd: dir });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No check this time; the next hit tries again once the marker ages.
  }
}
