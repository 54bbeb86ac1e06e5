/**
 * `ankra cluster kubeconfig remove [CLUSTER] [--all]`: remove Ankra contexts (ours and the
 * Go CLI's) with their cluster and user entries. Works offline: clusters are matched by id,
 * context name or cluster name as written in the context name.
 */
import type { Context } from '../../context';
import { NotFoundError, UsageError } from '../../errors';

export interface Options {
  cluster?: string;
  all: boolean;
  kubeconfig?: string;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (opts.all === Boolean(opts.cluster)) throw new UsageError('give a cluster or --all', { hint: 'see `ankra cluster kubeconfig list`' });
  const kube = await import('../../kube/kubeconfig');
  const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
  const contexts = await kube.listAnkraContexts(loc);
  let match: { all: true } | { names: string[] };
  if (opts.all) match = { all: true };
  else {
    const want = opts.cluster ?? '';
    const slugName = `ankra-${kube.clusterSlug(want)}`;
    const hits = contexts.filter((c) => c.clusterId === want || c.context === want || c.context === slugName);
    if (hits.length === 0) {
      throw new NotFoundError(`no Ankra context for ${want} in ${loc.files.join(', ')}`, { hint: 'run `ankra cluster kubeconfig list`' });
    }
    match = { names: hits.map((c) => c.context) };
  }
  const result = await kube.removeAnkraEntries(loc, match);
  for (const r of result.removed) ctx.out.success(`Removed context ${r.context}`);
  if (result.clearedCurrentContext) ctx.out.info('current-context was one of them: it is now unset');
  if (result.removed.length === 0) ctx.out.info('no Ankra contexts to remove');
  if (ctx.out.format !== 'table') await ctx.out.data(result.removed.map((r) => ({ context: r.context, cluster_id: r.clusterId })), undefined);
  return 0;
}
