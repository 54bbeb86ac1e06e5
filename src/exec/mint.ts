/**
 * The exec credential plugin's slow path (a cache miss): take the per-key lock, look again
 * (another kubectl may have minted meanwhile), make exactly one `POST k8s-token` (no
 * organisation or cluster lookup when ids are given), cache it atomically and print the
 * ExecCredential. Every failure is one line on stderr naming the cause and the next
 * command; stdout stays empty.
 */
import type { AnkraApi, MintedToken } from '../api/ankra';
import { noGrant } from '../api/errors';
import { looksLikeId, type Grant } from '../api/types';
import { cacheKey, callerOf, forgetCached, isFresh, lockFile, readCached, recordServed, writeCached, writeCachedError, type CachedToken } from '../cache/token-cache';
import { Deps } from '../deps';
import { grantsOn } from '../commands/shared/grants';
import { withLock } from '../core/lock';
import { AccessUnavailableError, AnkraError, Exit, NoGrantError, NotFoundError, UsageError, exitCodeOf, messageOf, oneLine } from '../errors';
import { execApiVersion, execCredential, parseKubeTokenArgs, type KubeTokenArgs } from '../fastpath/kube-token';
import { writeStderr, writeStdout } from '../ui/stdio';

/**
 * `rejected`: the issued_at of a cached token this kubectl process was already given and
 * now asks for again, i.e. the API server refused it; it must not be served again.
 */
export async function mintForExec(argv: string[], env: NodeJS.ProcessEnv, rejected?: string): Promise<number> {
  const args = parseKubeTokenArgs(argv);
  if (!args) {
    // Flags only commander can explain (or --help): the full CLI answers.
    const { main } = await import('../cli/run');
    return main(argv, env);
  }
  return mintWithArgs(args, env, rejected);
}

export async function mintWithArgs(args: KubeTokenArgs, env: NodeJS.ProcessEnv, rejected?: string): Promise<number> {
  const ctx = new Deps({ baseUrl: args.baseUrl, org: args.org, token: args.token, caFile: args.caFile, output: 'json', debug: args.debug, color: false, headers: true }, env, { exec: true });
  try {
    if (!args.cluster) throw new UsageError('--cluster is required', { hint: 'this command is run by kubectl; see `ankra cluster kubeconfig add`' });
    return await mint(ctx, args.cluster, env, rejected);
  } catch (err) {
    writeStderr(`ankra: ${messageOf(err)}\n`);
    if (args.debug && err instanceof Error && err.stack) writeStderr(`${err.stack}\n`);
    return exitCodeOf(err) || Exit.FAILURE;
  } finally {
    await ctx.close();
  }
}

async function mint(ctx: Deps, cluster: string, env: NodeJS.ProcessEnv, rejected: string | undefined): Promise<number> {
  const creds = ctx.requireCredentials();
  const { target } = ctx;
  const key = cacheKey({ baseUrl: target.baseUrl, org: target.org, cluster, identity: creds.source.identity });
  const dir = ctx.paths.tokenDir;
  const apiVersion = execApiVersion(env);

  return withLock(lockFile(dir, key), { what: 'the token cache', timeoutMs: 60_000, staleMs: 60_000 }, async () => {
    const again = readCached(dir, key);
    if (again && isFresh(again, Date.now()) && again.issued_at !== rejected) {
      ctx.debug('token cache filled by another process while waiting');
      const caller = env.KUBERNETES_EXEC_INFO ? callerOf(process.ppid) : undefined;
      if (caller) recordServed(dir, key, again, caller);
      writeStdout(execCredential(again.token, again.expires_at, apiVersion));
      return 0;
    }
    if (rejected) ctx.debug('the cached token was rejected by the cluster: asking Ankra for a new one');
    const clusterId = looksLikeId(cluster) ? cluster : (await ctx.clusters.resolve(cluster)).id;
    const api = await ctx.api();
    const issued = new Date().toISOString();
    let minted: MintedToken;
    let grant: Grant | undefined;
    try {
      [minted, grant] = await Promise.all([api.mintToken({ id: clusterId, label: cluster }), ownGrant(ctx, clusterId, creds.email())]);
    } catch (caught) {
      // Name the cluster in the message, not just its id (only on this failure path).
      const err = caught instanceof NoGrantError && looksLikeId(cluster) ? noGrant(await clusterName(api, clusterId), creds.email()) : caught;
      if (lasting(err)) {
        // Ankra will not give this caller a token for this cluster: the cached one (if any)
        // is dead, and kubectl's retries over the next seconds get the same answer locally.
        forgetCached(dir, key);
        writeCachedError(dir, key, messageOf(err), exitCodeOf(err), Date.now());
      }
      throw err;
    }
    // Never hand kubectl an expiry in the past (a server clock far off, or a broken answer).
    if (Date.parse(new Date(minted.expiresAtMs).toISOString()) <= Date.now()) {
      throw new AnkraError('Ankra sent a Kubernetes token that has already expired', Exit.FAILURE, { hint: 'try again; if it persists, report it with `ankra --debug cluster kube-token …`' });
    }
    let problem: string | undefined;
    if (grant && grant.reconcile_status !== 'applied') problem = grantProblem(grant, looksLikeId(cluster) ? await clusterName(api, clusterId) : cluster);
    if (problem) {
      writeStderr(`ankra: ${oneLine(problem)}\n`);
      forgetCached(dir, key);
    } else {
      const entry: CachedToken = { v: 1, token: minted.token, expires_at: new Date(minted.expiresAtMs).toISOString(), issued_at: issued, base_url: target.baseUrl };
      try {
        writeCached(dir, key, entry);
        const caller = env.KUBERNETES_EXEC_INFO ? callerOf(process.ppid) : undefined;
        if (caller) recordServed(dir, key, entry, caller);
      } catch (err) {
        ctx.debug(`cannot write the token cache: ${messageOf(err)}`);
      }
    }
    writeStdout(execCredential(minted.token, new Date(minted.expiresAtMs).toISOString(), apiVersion));
    return 0;
  });
}

/** The cluster's name for a message; its id when it cannot be had. */
async function clusterName(api: AnkraApi, clusterId: string): Promise<string> {
  try {
    return (await api.clusterById(clusterId))?.name ?? clusterId;
  } catch {
    return clusterId;
  }
}

/** No grant, no such cluster, Cluster Access off or a sandbox: not going to change in seconds. */
function lasting(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof NoGrantError || err instanceof AccessUnavailableError;
}

/**
 * The caller's own grant, to explain a Forbidden before kubectl shows it (an applied one
 * first). Needs the caller's email, known for OIDC logins; anything else means "unknown".
 */
async function ownGrant(deps: Deps, clusterId: string, email: string | undefined): Promise<Grant | undefined> {
  if (!email) return undefined;
  const mine = await grantsOn(deps, { id: clusterId, label: clusterId }).then(
    (gs) => gs.filter((g) => g.user_email?.toLowerCase() === email.toLowerCase()),
    () => undefined,
  );
  return mine?.find((g) => g.reconcile_status === 'applied') ?? mine?.[0];
}

/** Why kubectl is about to fail although a token was minted; undefined when the grant is live. */
function grantProblem(g: Grant, cluster: string): string | undefined {
  switch (g.reconcile_status) {
    case 'pending':
      return `your access to cluster ${cluster} is still pending (Ankra has not applied the grant yet), so kubectl answers Forbidden for now; check with \`ankra cluster access list --cluster ${cluster}\``;
    case 'failed':
      return `your grant on cluster ${cluster} failed to apply (${oneLine(g.reconcile_error ?? 'no reason given')}), so kubectl answers Forbidden; ask an organisation admin to revoke and grant it again`;
    case 'cluster_offline':
      return `cluster ${cluster} is offline (not connected to Ankra); your grant applies when it reconnects, until then kubectl fails`;
    default:
      return undefined;
  }
}
