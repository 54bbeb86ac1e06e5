/**
 * `ankra cluster kubeconfig add`: write (or print) a kubeconfig context per cluster whose
 * user runs `ankra cluster kube-token` as a client-go exec credential plugin. The entry pins
 * the organisation, the base URL (when not the default) and the CA, so it keeps working
 * whatever the defaults are later.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Cluster } from '../../api/types';
import { kubeServerPath } from '../../api/types';
import { accessUnavailable } from '../../api/ankra';
import type { Context, ClusterRef } from '../../context';
import { ApiError, NotFoundError, UsageError } from '../../errors';
import { execCommand } from './exec-command';

export interface Options {
  cluster?: string;
  all: boolean;
  use: boolean;
  namespace?: string;
  print: boolean;
  kubeconfig?: string;
  execCommand?: string;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (opts.all && opts.cluster) throw new UsageError('give a cluster or --all, not both');
  if (opts.all && opts.use) throw new UsageError('--use needs exactly one cluster', { hint: 'drop --use, or name one cluster' });
  if (opts.print && opts.kubeconfig) throw new UsageError('--print writes to stdout; it cannot be combined with --kubeconfig');
  if (opts.execCommand !== undefined && opts.execCommand.trim() === '') throw new UsageError('--exec-command is empty', { hint: 'name the program kubectl should run, or leave the flag out' });

  const clusters = opts.all ? await reachable(ctx) : [await oneCluster(ctx, opts.cluster)];
  if (clusters.length === 0) {
    throw new NotFoundError('you have no access grant on any cluster of this organisation', {
      hint: 'ask an organisation admin to run `ankra cluster access grant <your-email> --cluster <cluster>`',
    });
  }
  const orgId = (await ctx.effectiveOrgId()) || undefined;
  const { baseUrl } = ctx.target;
  const caFile = ctx.caFile ? resolvePath(ctx.caFile) : undefined;
  const caData = caFile ? Buffer.from(readFileSync(caFile)).toString('base64') : undefined;
  const command = opts.execCommand ?? execCommand(ctx.env);
  const specs = clusters.map((c) => ({
    clusterId: c.id,
    clusterName: c.name,
    server: `${baseUrl}${kubeServerPath(c.id)}`,
    ...(caData ? { caData } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    exec: {
      command,
      ...(orgId ? { orgId } : {}),
      // Always pinned, the default too: an entry must keep reaching the server it was made for.
      baseUrl,
      ...(caFile ? { caFile } : {}),
    },
  }));
  const use = opts.use ? clusters[0]?.id : undefined;

  const kube = await import('../../kube/kubeconfig');
  if (opts.print) {
    ctx.out.print(kube.renderStandaloneKubeconfig(specs, { use: use ?? clusters[0]?.id }));
    return 0;
  }
  const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
  const result = await kube.upsertAnkraEntries(loc, specs, { use });
  for (const e of result.entries) {
    const verb = e.action === 'added' ? 'Added' : e.action === 'replaced' ? 'Updated' : 'Already up to date:';
    ctx.out.success(`${verb} context ${e.name} in ${e.file}`);
  }
  if (result.currentContext) ctx.out.info(`Switched to context ${result.currentContext}`);
  if (ctx.out.format !== 'table') {
    await ctx.out.data(
      result.entries.map((e) => ({ context: e.name, cluster_id: e.clusterId, action: e.action, file: e.file, current: result.currentContext === e.name })),
      undefined,
    );
  }
  const first = result.entries[0];
  if (first && clusters.length === 1) {
    const contextFlag = result.currentContext === first.name ? '' : ` --context ${first.name}`;
    ctx.out.info(`Try: kubectl${contextFlag} get pods${opts.namespace ? '' : ' -n <namespace>'}`);
  }
  return 0;
}

/** One cluster, with its name (the context is named after it). */
async function oneCluster(ctx: Context, given: string | undefined): Promise<ClusterRef> {
  const ref = await ctx.cluster(given);
  const api = await ctx.api();
  const cluster = (await api.allClusters()).find((c) => c.id === ref.id);
  if (!cluster) throw new NotFoundError(`cluster ${ref.name} not found`, { hint: 'run `ankra cluster list` (and check --org)' });
  const caps = await api.capabilities(cluster.id, { cluster: cluster.name });
  if (!caps.enabled) throw accessUnavailable(cluster);
  if (!caps.has_access) {
    const who = ctx.credentials()?.email() ?? '<your-email>';
    ctx.out.warn(`you have no access grant on ${cluster.name} yet: kubectl will be refused until an organisation admin runs \`ankra cluster access grant ${who} --cluster ${cluster.name}\``);
  }
  return { id: cluster.id, name: cluster.name };
}

/** Every cluster where Cluster Access is on and the caller has a grant. */
async function reachable(ctx: Context): Promise<Cluster[]> {
  const api = await ctx.api();
  const clusters = await api.allClusters();
  const answers = await mapLimit(clusters, 8, (c) => api.capabilities(c.id, { cluster: c.name }).then(
    (caps) => ({ caps }),
    (error: unknown) => ({ error }),
  ));
  const failed = answers.find((a): a is { error: unknown } => 'error' in a);
  if (failed && answers.every((a) => 'error' in a)) throw failed.error;
  const caps = answers.map((a) => ('caps' in a ? a.caps : undefined));
  const enabled = clusters.filter((_, i) => caps[i]?.enabled);
  if (clusters.length > 0 && enabled.length === 0) {
    // Say why nothing qualifies: only sandboxes, or no access gateway at all.
    if (clusters.every((c) => c.kind === 'sandbox')) {
      throw new ApiError('no cluster of this organisation supports Cluster Access: they are all sandboxes', 409, { hint: 'add a non-sandbox cluster to Ankra' });
    }
    throw accessUnavailable(clusters.find((c) => c.kind !== 'sandbox') ?? { name: '' });
  }
  return clusters.filter((_, i) => caps[i]?.enabled && caps[i]?.has_access);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
