/**
 * `ankra cluster kubeconfig add [CLUSTER]`: write (or print) a kubectl context per cluster
 * whose user runs `ankra cluster kube-token` as a client-go exec credential plugin. One
 * token is minted first, as Ankra's Go CLI does: it proves access and says which `server`
 * kubectl must talk to (never derived from the API's base URL); nothing is written when it
 * fails. The entry pins the organisation, the base URL and the CA, so it keeps working
 * whatever the defaults are later. The minted token is cached for kubectl's first call.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { defineCommand, flag } from '../../../cli/spec';
import type { ClusterTarget, MintedToken } from '../../../api/ankra';
import type { Cluster, Grant } from '../../../api/types';
import type { Deps } from '../../../deps';
import { certificatesOf } from '../../../core/pem';
import { AccessUnavailableError, AuthError, NoGrantError, NotFoundError, PermissionError, RateLimitedError, UsageError, messageOf, shellWord } from '../../../errors';
import { sleep } from '../../../core/time';
import { rememberForCompletion } from '../../../completion/cache';
import { orgLabel } from '../../../lookup/organisations';
import { clusterArg, clusterFlag, kubeconfigFlag } from '../../shared/flags';
import { accessCapable, fanOut } from '../../shared/fanout';
import { otherOrgsWithAccess } from '../../shared/other-orgs';
import { parseNamespace } from '../../shared/values';
import { cacheMinted } from '../../shared/token';

interface Reachable {
  cluster: Cluster;
  minted: MintedToken;
}

export default defineCommand({
  path: ['cluster', 'kubeconfig', 'add'],
  summary: 'add a kubectl context for a cluster (or --all you can reach); kubectl then gets tokens from ankra',
  args: { cluster: clusterArg },
  flags: {
    cluster: clusterFlag,
    all: flag.bool('add every cluster you have a grant on'),
    use: flag.bool('make it the current context'),
    namespace: flag.parsed('namespace', "the context's default namespace", parseNamespace),
    print: flag.bool('print a standalone kubeconfig instead of editing a file'),
    kubeconfig: kubeconfigFlag,
    execCommand: flag.string('command', "what kubectl should run (default: ankra, or this binary's path)"),
  },
  examples: ['ankra cluster kubeconfig add staging --namespace team-a --use && kubectl get pods', 'ankra cluster kubeconfig add --all'],
  check(o) {
    if (o.all && o.cluster) throw new UsageError('give a cluster or --all, not both');
    if (o.all && o.use) throw new UsageError('--use needs exactly one cluster', { hint: 'drop --use, or name one cluster' });
    if (o.print && o.kubeconfig) throw new UsageError('--print writes to stdout; it cannot be combined with --kubeconfig');
    if (o.execCommand !== undefined && o.execCommand.trim() === '') throw new UsageError('--exec-command is empty', { hint: 'name the program kubectl should run, or leave the flag out' });
  },
  async run(opts, deps) {
    const { found: reachable, failed } = opts.all ? await reachableClusters(deps) : { found: [await oneCluster(deps, opts.cluster)], failed: 0 };
    const org = await deps.organisations.effective();
    const orgId = org?.organisation_id;
    const { baseUrl } = deps.target;
    const caFile = deps.caFile ? resolvePath(deps.caFile) : undefined;
    const caData = caFile ? caDataOf(deps, caFile) : undefined;
    const { execCommand } = await import('../../../kube/exec-command');
    const command = opts.execCommand ?? execCommand(deps.env);
    const specs = reachable.map(({ cluster, minted }) => ({
      clusterId: cluster.id,
      clusterName: cluster.name,
      server: minted.server,
      ...(caData ? { caData } : {}),
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(org ? { organisation: { id: org.organisation_id, slug: org.slug ?? null } } : {}),
      exec: {
        command,
        ...(orgId ? { orgId } : {}),
        // Always pinned, the default too: an entry must keep reaching the server it was made for.
        baseUrl,
        ...(caFile ? { caFile } : {}),
      },
    }));
    for (const r of reachable) cacheMinted(deps, { orgId, clusterId: r.cluster.id }, r.minted);
    const use = opts.use ? reachable[0]?.cluster.id : undefined;

    const kube = await import('../../../kube/kubeconfig');
    if (opts.print) {
      deps.out.printRaw(kube.renderStandaloneKubeconfig(specs, { use: use ?? reachable[0]?.cluster.id }));
      return 0;
    }
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: deps.env, home: deps.paths.home });
    const result = await kube.upsertAnkraEntries(loc, specs, { use });
    for (const w of result.writes) deps.debug(`wrote ${w.file}: ${w.method === 'in-place' ? `in place (rename refused: ${w.renameRefused ?? '?'})` : 'atomically (temp file + rename)'}, ${w.edit === 'splice' ? 'spliced into the original text' : 're-rendered'}`);
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, '', 'contexts', result.entries.map((e) => e.name), { merge: true });
    for (const e of result.entries) {
      const verb = e.action === 'added' ? 'Added' : e.action === 'replaced' ? 'Updated' : 'Already up to date:';
      deps.out.success(`${verb} context ${e.name} in ${e.file}`);
    }
    if (result.currentContext) deps.out.info(`Switched to context ${result.currentContext}`);
    await deps.out.result(result.entries.map((e) => ({ context: e.name, cluster_id: e.clusterId, action: e.action, file: e.file, current: result.currentContext === e.name })));
    const first = result.entries[0];
    if (first && reachable.length === 1) {
      const contextFlag = result.currentContext === first.name ? '' : ` --context ${shellWord(first.name)}`;
      const hasNamespace = Boolean(opts.namespace) || (await kube.listAnkraContexts(loc)).some((c) => c.context === first.name && c.namespace);
      deps.out.info(`Try: kubectl${contextFlag} get pods${hasNamespace ? '' : ' -n <namespace>'}`);
    }
    return failed ? 1 : 0;
  },
});

/** The certificates of --ca-file as certificate-authority-data; anything else in the file is left out, and said. */
function caDataOf(deps: Deps, file: string): string {
  const bundle = certificatesOf(readFileSync(file, 'utf8'));
  if (bundle.count === 0) throw new UsageError(`cannot use CA file ${file}: no PEM certificate in it`, { hint: 'pass --ca-file with a PEM bundle' });
  if (bundle.dropped.length) deps.out.warn(`${file} also holds ${bundle.dropped.join(', ')}: only its ${bundle.count} certificate${bundle.count === 1 ? '' : 's'} went into the kubeconfig`);
  return Buffer.from(bundle.pem).toString('base64');
}

/** One cluster: a token proves the grant and names the server; no grant, nothing written. */
async function oneCluster(deps: Deps, given: string | undefined): Promise<Reachable> {
  const ref = await deps.clusters.resolve(given);
  const cluster = await ref.record();
  const api = await deps.api();
  try {
    return { cluster, minted: await api.mintToken({ id: cluster.id, label: cluster.name }) };
  } catch (err) {
    if (err instanceof NoGrantError) {
      const elsewhere = await otherOrgsWithAccess(deps, cluster.name);
      if (elsewhere.length) {
        const o = elsewhere[0] as string;
        throw new NoGrantError(`you have no access grant on ${cluster.name} in ${orgLabel((await deps.organisations.effective()) ?? { organisation_id: '?' })}, but you have one on ${cluster.name} in ${o}`, {
          hint: `run \`ankra --org ${shellWord(o)} cluster kubeconfig add ${shellWord(cluster.name)}\``,
        });
      }
      const me = (await deps.organisations.me().catch(() => undefined))?.email ?? deps.credentials()?.email();
      throw new NoGrantError(`you have no access grant on ${cluster.name}: nothing was added`, {
        hint: `ask an organisation admin to run \`ankra cluster access grant ${me ? shellWord(me) : 'YOUR-EMAIL'} --cluster ${shellWord(cluster.name)}\``,
      });
    }
    if (err instanceof AccessUnavailableError && cluster.kind === 'sandbox') throw err;
    if (cluster.kind === 'sandbox') {
      throw new AccessUnavailableError(`Cluster Access is not available for sandbox clusters (${cluster.name} is one): nothing was added`, 'sandbox', { hint: 'use a non-sandbox cluster' });
    }
    throw err;
  }
}


/**
 * For an organisation admin, the clusters holding a grant of theirs, read from the grant
 * lists (GETs, outside the per-user mint limit), so that `--all` mints only where there is
 * something to add: an admin of 500 clusters with grants on 3 makes 3 mints, not 500.
 * Anyone who may not list grants (a member: one 403, on the first cluster) gets every
 * cluster back, to be proven by mints; so does a cluster whose list failed.
 */
async function withOwnGrants(deps: Deps, clusters: readonly Cluster[]): Promise<readonly Cluster[]> {
  const [first] = clusters;
  if (!first || clusters.length === 1) return clusters;
  const me = (await deps.organisations.me().catch(() => undefined))?.email?.toLowerCase();
  if (!me) return clusters;
  const api = await deps.api();
  const mine = (grants: readonly Grant[]) => grants.some((g) => g.user_email?.toLowerCase() === me);
  let keepFirst: boolean;
  try {
    keepFirst = mine(await api.grants({ id: first.id, label: first.name }));
  } catch (err) {
    if (err instanceof PermissionError || err instanceof AuthError) return clusters;
    keepFirst = true;
  }
  const rest = await fanOut(deps, clusters.slice(1), 'Reading your grants', (c) => api.grants({ id: c.id, label: c.name }));
  const kept = [...(keepFirst ? [first] : []), ...rest.filter((o) => o.error !== undefined || mine(o.value ?? [])).map((o) => o.cluster)];
  deps.debug(`--all: grants of ${me} on ${kept.length} of ${clusters.length} clusters (from their grant lists)`);
  return kept;
}

/**
 * Every cluster the caller can reach: one mint per cluster (it proves the grant and names
 * the server), paced under the per-user mint limit: a 429 slows everything down to its
 * Retry-After instead of failing. Failures other than "no grant" are reported per cluster.
 */
async function reachableClusters(deps: Deps): Promise<{ found: Reachable[]; failed: number }> {
  const api = await deps.api();
  const capable = accessCapable(await deps.clusters.all());
  rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, await deps.organisations.chosenId(), 'clusters', capable.map((c) => c.name));
  const clusters = await withOwnGrants(deps, capable);
  const found: Reachable[] = [];
  const failed: Array<{ cluster: Cluster; error: unknown }> = [];
  const unavailable: AccessUnavailableError[] = [];
  const progress = clusters.length > 4 && !deps.out.machine ? await deps.out.progress(`Checking your access on ${clusters.length} clusters`, { ttyOnly: true }) : undefined;
  let pauseUntil = 0;
  let next = 0;
  let done = 0;
  let limit = 4;
  const worker = async (n: number) => {
    while (next < clusters.length) {
      if (n >= limit) return;
      const cluster = clusters[next++] as Cluster;
      const target: ClusterTarget = { id: cluster.id, label: cluster.name };
      for (let attempt = 1; ; attempt++) {
        const wait = pauseUntil - Date.now();
        if (wait > 0) await sleep(wait, deps.signal);
        try {
          found.push({ cluster, minted: await api.mintToken(target) });
        } catch (err) {
          if (err instanceof RateLimitedError && attempt < 8) {
            limit = 1;
            pauseUntil = Math.max(pauseUntil, Date.now() + (err.retryAfterMs ?? 5000));
            progress?.update(`Rate limited by Ankra: pacing (${done}/${clusters.length} clusters checked)`);
            continue;
          }
          if (err instanceof AccessUnavailableError) unavailable.push(err);
          else if (!(err instanceof NoGrantError)) failed.push({ cluster, error: err });
        }
        break;
      }
      progress?.update(`Checking your access: ${++done}/${clusters.length} clusters`);
    }
  };
  try {
    await Promise.all([0, 1, 2, 3].map(worker));
    // A worker that stopped when the limit dropped leaves the rest to worker 0.
    await worker(0);
  } finally {
    progress?.stop();
  }
  for (const f of failed) deps.out.warn(`${f.cluster.name}: skipped: ${messageOf(f.error)}`);
  const order = new Map(clusters.map((c, i) => [c.id, i]));
  found.sort((a, b) => (order.get(a.cluster.id) ?? 0) - (order.get(b.cluster.id) ?? 0));
  if (found.length === 0) {
    if (failed.length) throw failed[0]?.error;
    // Every cluster without Cluster Access: say why, not "no grant".
    if (unavailable.length === clusters.length && unavailable[0]) throw unavailable[0];
    const elsewhere = await otherOrgsWithAccess(deps);
    throw new NotFoundError('you have no access grant on any cluster of this organisation', {
      hint: elsewhere.length
        ? `you have access in ${elsewhere.join(', ')}: run \`ankra --org ${shellWord(elsewhere[0] as string)} cluster kubeconfig add --all\``
        : 'ask an organisation admin to grant you access (`ankra cluster access grant EMAIL --cluster CLUSTER`)',
    });
  }
  if (failed.length) deps.out.warn(`${failed.length} of ${clusters.length} clusters could not be checked: ${failed.map((f) => f.cluster.name).join(', ')} (run the command again to add them)`);
  return { found, failed: failed.length };
}
