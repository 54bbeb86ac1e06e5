/**
 * The exec credential plugin's slow path, after the cache could not answer
 * (src/fastpath/kube-token.ts): take the per-key lock, look again (another kubectl may have
 * minted meanwhile), ask the cluster whether a token the caller asks for twice still works,
 * make exactly one `POST k8s-token` (no organisation or cluster lookup when ids are given),
 * cache it atomically and print the ExecCredential. Every failure is one line on stderr
 * naming the cause and the next command, said once per caller; stdout stays empty.
 *
 * Everything that talks to Ankra (Deps, the API client, the credentials) is inside
 * `mintFromAnkra`, loaded only when a mint is needed: processes that find the cache filled
 * while they waited for the lock never load the HTTP stack.
 */
import { sayOnce } from '../cache/notes';
import {
  alreadyServed,
  cacheKey,
  forgetCached,
  isFresh,
  lockFile,
  markChecked,
  openTokenDir,
  readCached,
  readCachedError,
  recordServed,
  rememberError,
  tellReplayed,
  trackedCaller,
  writeCached,
  type CachedToken,
} from '../cache/token-cache';
import { resolve } from '../auth/source';
import { acquireLock, type Lock } from '../core/lock';
import { resolvePaths } from '../core/paths';
import { AccessUnavailableError, AnkraError, ApiError, Exit, NoGrantError, NotFoundError, UsageError, exitCodeOf, messageOf, oneLine } from '../errors';
import { execApiVersion, execCredential } from '../fastpath/exec-credential';
import type { KubeTokenArgs } from '../main-dispatch';
import { reportError } from '../ui/report';
import { writeStderr, writeStdout } from '../ui/stdio';
import { saneExpiry } from './expiry';

/** A token from Ankra, as the plugin needs it. */
export interface Minted {
  token: string;
  /** Expiry on this machine's clock (ms since the epoch), not yet checked for sanity. */
  expiresAtMs: number;
  /** The cluster's Kubernetes API through Ankra's proxy; undefined if the answer had none. */
  server: string | undefined;
  /** Why kubectl will be refused although a token was minted (grant pending, failed, offline). */
  problem?: string;
}

/** How long after the mint the plugin waits for the caller's grant (to explain a Forbidden). */
const GRANT_GRACE_MS = 1_000;

/** The per-key lock: the holder makes at most one mint (45 s deadline) and one check (5 s). */
const LOCK = { what: 'the token cache', timeoutMs: 60_000, staleMs: 60_000, maxAgeMs: 120_000 };

/** `ankra cluster kube-token` parsed by commander (src/commands/cluster/kube-token.ts): the same as from src/main.ts. */
export function mintWithArgs(args: KubeTokenArgs, env: NodeJS.ProcessEnv): Promise<number> {
  return runPlugin(args, env);
}

interface Call {
  args: KubeTokenArgs & { cluster: string };
  env: NodeJS.ProcessEnv;
  /** The resolved base URL, recorded in cache entries (so `ankra logout` clears one server's). */
  baseUrl: string;
  caller: string | undefined;
  debug: (line: string) => void;
}

/** The slow path: whatever the cache could not answer (src/main.ts runs it after a miss). */
export async function runPlugin(args: KubeTokenArgs, env: NodeJS.ProcessEnv): Promise<number> {
  const caller = trackedCaller(env);
  const debug = (line: string) => {
    if (args.debug) writeStderr(`debug: ${oneLine(line)}\n`);
  };
  let failures: { dir: string; key: string } | undefined;
  try {
    if (!args.cluster) throw new UsageError('--cluster is required', { hint: 'this command is run by kubectl; see `ankra cluster kubeconfig add`' });
    const paths = resolvePaths(env);
    const { target, source } = resolve(args, env, paths, { exec: true });
    const call: Call = { args: { ...args, cluster: args.cluster }, env, baseUrl: target.baseUrl, caller, debug };
    const opened = openTokenDir(paths);
    if ('problem' in opened) {
      if (source) noCache(opened.problem, env);
      return await mintUncached(call);
    }
    const { dir } = opened;
    // Without a login there is nothing to cache, but its failure is still said once per caller.
    const key = cacheKey({ baseUrl: target.baseUrl, org: target.org, cluster: args.cluster, identity: source?.identity ?? '' });
    failures = { dir, key };
    if (!source) return await mintUncached(call);
    let lock: Lock;
    try {
      lock = await acquireLock(lockFile(dir, key), LOCK);
    } catch (err) {
      // The lock file cannot even be created (a read-only cache): go on without the cache.
      if (!unwritable(err)) throw err;
      noCache(`cannot write in ${dir} (${(err as NodeJS.ErrnoException).code}); set XDG_CACHE_HOME to a writable directory of yours`, env);
      failures = undefined;
      return await mintUncached(call);
    }
    try {
      return await underLock(call, dir, key);
    } finally {
      lock.release();
    }
  } catch (err) {
    return fail(err, args, caller, failures);
  }
}

/** A file-system refusal to write (not a timeout, which is an AnkraError). */
const unwritable = (err: unknown): boolean => !(err instanceof AnkraError) && ['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException)?.code ?? '');

/** Say once (across calls) that tokens are not cached, and why. */
function noCache(problem: string, env: NodeJS.ProcessEnv): void {
  const line = `not caching Kubernetes tokens: ${problem}; until then every kubectl call asks Ankra for a new token`;
  if (sayOnce(env, line)) writeStderr(`ankra: ${oneLine(line)}\n`);
}

function serve(entry: Pick<CachedToken, 'token' | 'expires_at'>, env: NodeJS.ProcessEnv): number {
  writeStdout(execCredential(entry.token, entry.expires_at, execApiVersion(env)));
  return 0;
}

async function underLock(call: Call, dir: string, key: string): Promise<number> {
  const { env, caller, debug } = call;
  const now = Date.now();
  const again = readCached(dir, key, now);
  let replaced = false;
  if (again && isFresh(again, now)) {
    if (!caller || !alreadyServed(dir, key, again, caller)) {
      debug('token cache filled by another process while waiting');
      if (caller) recordServed(dir, key, again, caller);
      return serve(again, env);
    }
    // The same caller asks again for the token it was given (see token-cache.ts): was it
    // refused? Ask the cluster before asking Ankra.
    if (again.server) {
      const { verifyToken } = await import('./verify');
      const verdict = await verifyToken(again.server, again.token, { env, caFile: call.args.caFile || env.ANKRA_CA_FILE || undefined, debug });
      debug(`the cluster says the cached token is ${verdict}`);
      if (verdict === 'alive') {
        markChecked(dir, key, Date.now());
        return serve(again, env);
      }
      // 'unknown' proves nothing either way: a new token is the answer that cannot be wrong.
      replaced = verdict === 'dead';
    }
    forgetCached(dir, key);
  } else {
    // Another process may have learnt meanwhile that Ankra says no.
    const error = readCachedError(dir, key, now);
    if (error && error.replay !== false) {
      if (tellReplayed(dir, key, error, caller)) writeStderr(`ankra: ${oneLine(error.message)}\n`);
      return error.exit_code;
    }
  }

  const issued = new Date();
  const minted = await mintOrForget(call, dir, key);
  const expiresAt = usableExpiry(minted, issued.getTime(), debug);
  if (minted.problem) {
    // kubectl will be refused for now: say why, and cache nothing so the next call asks again.
    writeStderr(`ankra: ${oneLine(minted.problem)}\n`);
    forgetCached(dir, key);
  } else {
    const entry: CachedToken = { v: 1, token: minted.token, expires_at: expiresAt, issued_at: issued.toISOString(), base_url: call.baseUrl, ...(minted.server ? { server: minted.server } : {}) };
    try {
      writeCached(dir, key, entry);
      if (caller) recordServed(dir, key, entry, caller);
    } catch (err) {
      noCache(`cannot write in ${dir} (${(err as NodeJS.ErrnoException).code ?? messageOf(err)}); set XDG_CACHE_HOME to a writable directory of yours`, env);
    }
    if (replaced) {
      writeStderr('ankra: the cluster refused the cached token (your access was revoked or changed in Ankra), so this command failed; ankra has a new token now: run it again\n');
    }
  }
  return serve({ token: minted.token, expires_at: expiresAt }, env);
}

/** Mint; when Ankra will not give this caller a token for a while, drop what is cached. */
async function mintOrForget(call: Call, dir: string, key: string): Promise<Minted> {
  try {
    return await mintFromAnkra(call.args, call.env);
  } catch (err) {
    // No grant, no such cluster, Cluster Access off or a sandbox: the cached token (if any)
    // is dead, and kubectl's retries over the next seconds get the same answer locally.
    if (lasting(err)) forgetCached(dir, key);
    throw err;
  }
}

/** No usable cache: mint and print, remembering nothing. */
async function mintUncached(call: Call): Promise<number> {
  const issued = Date.now();
  const minted = await mintFromAnkra(call.args, call.env);
  const expiresAt = usableExpiry(minted, issued, call.debug);
  if (minted.problem) writeStderr(`ankra: ${oneLine(minted.problem)}\n`);
  return serve({ token: minted.token, expires_at: expiresAt }, call.env);
}

/** The expiry to hand kubectl, as RFC 3339; a token already expired is refused. */
function usableExpiry(minted: Minted, nowMs: number, debug: (line: string) => void): string {
  const sane = saneExpiry(minted.expiresAtMs, nowMs);
  if ('problem' in sane) {
    throw new AnkraError(`Ankra sent a Kubernetes token with ${sane.problem}`, Exit.FAILURE, {
      hint: 'try again; if it persists, report it with `ankra --debug cluster kube-token …`',
    });
  }
  if (sane.clamped) debug('the token expires more than a day ahead: ankra treats it as expiring in a day');
  return new Date(sane.ms).toISOString();
}

/** Print the failure once per caller (through the CLI's reportError), remember it briefly, and return its exit code. */
function fail(err: unknown, args: KubeTokenArgs, caller: string | undefined, where: { dir: string; key: string } | undefined): number {
  const code = exitCodeOf(err) || Exit.FAILURE;
  const tell = where ? rememberError(where.dir, where.key, { message: messageOf(err), exitCode: code, replay: lasting(err) }, caller, Date.now()) : true;
  if (tell) reportError(err, { debug: args.debug });
  return code;
}

/** No grant, no such cluster, Cluster Access off or a sandbox: not going to change in seconds. */
function lasting(err: unknown): boolean {
  if (err instanceof NotFoundError || err instanceof NoGrantError || err instanceof AccessUnavailableError) return true;
  return err instanceof ApiError && (err.status === 404 || err.status === 409);
}

// ------------------------------------------------------------------ Ankra

/**
 * The one place the plugin talks to Ankra: resolve the cluster id (no lookup for an id),
 * mint one token and, for a login whose email is known, read the caller's grant to explain
 * a Forbidden before kubectl shows it. Throws the API's typed errors (a missing grant names
 * the cluster, not just its id).
 */
export async function mintFromAnkra(args: KubeTokenArgs & { cluster: string }, env: NodeJS.ProcessEnv): Promise<Minted> {
  const [{ Deps }, { noGrant }, { looksLikeId }] = await Promise.all([import('../deps'), import('../api/errors'), import('../api/types')]);
  const deps = new Deps({ baseUrl: args.baseUrl, org: args.org, token: args.token, caFile: args.caFile, output: 'json', debug: args.debug, color: false, headers: true }, env, { exec: true });
  try {
    const creds = deps.requireCredentials();
    const email = creds.email();
    const byId = looksLikeId(args.cluster);
    const clusterId = byId ? args.cluster : (await deps.clusters.resolve(args.cluster)).id;
    const api = await deps.api();
    // The cluster's name for a message; its id when it cannot be had (only on these paths).
    const name = async () => (byId ? ((await api.clusterById(clusterId).catch(() => undefined))?.name ?? clusterId) : args.cluster);
    // The caller's own grant explains a Forbidden before kubectl shows it: asked beside the
    // mint for a login whose email is known, and waited for briefly (a cluster's grants can
    // be tens of MiB). Listing grants needs an organisation admin: a member's 403 (or any
    // failure) just means no explanation.
    const ownGrant = async () => {
      if (!email) return undefined;
      const mine = (await api.grants({ id: clusterId, label: args.cluster }).catch(() => [])).filter((g) => g.user_email?.toLowerCase() === email.toLowerCase());
      return mine.find((g) => g.reconcile_status === 'applied') ?? mine[0];
    };
    const grantAsked = ownGrant();
    let minted: Awaited<ReturnType<typeof api.mintToken>>;
    try {
      minted = await api.mintToken({ id: clusterId, label: args.cluster });
    } catch (caught) {
      if (caught instanceof NoGrantError && byId) throw noGrant(await name(), email);
      throw caught;
    }
    let timer: NodeJS.Timeout | undefined;
    const grant = await Promise.race([grantAsked, new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), GRANT_GRACE_MS)))]);
    clearTimeout(timer);
    const problem = grant && grant.reconcile_status !== 'applied' ? grantProblem(grant.reconcile_status, grant.reconcile_error, await name()) : undefined;
    return { token: minted.token, expiresAtMs: minted.expiresAtMs, server: minted.server, ...(problem ? { problem } : {}) };
  } finally {
    await deps.close();
  }
}

/** Why kubectl is about to fail although a token was minted; undefined when the grant is live. */
function grantProblem(status: string, reconcileError: string | null | undefined, cluster: string): string | undefined {
  switch (status) {
    case 'pending':
      return `your access to cluster ${cluster} is still pending (Ankra has not applied the grant yet), so kubectl answers Forbidden for now; check with \`ankra cluster access list --cluster ${cluster}\``;
    case 'failed':
      return `your grant on cluster ${cluster} failed to apply (${oneLine(reconcileError ?? 'no reason given')}), so kubectl answers Forbidden; ask an organisation admin to revoke and grant it again`;
    case 'cluster_offline':
      return `cluster ${cluster} is offline (not connected to Ankra); your grant applies when it reconnects, until then kubectl fails`;
    default:
      return undefined;
  }
}
