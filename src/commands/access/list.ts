/** `ankra cluster access list`: the grants on a cluster (a member sees their own). */
import type { Context } from '../../context';
import { GRANT_COLUMNS } from './columns';

export interface Options {
  cluster?: string;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  const cluster = await ctx.cluster(opts.cluster);
  const api = await ctx.api();
  const grants = await api.grants(cluster.id, { cluster: cluster.name });
  await ctx.out.data(grants, GRANT_COLUMNS, { empty: `no grants on ${cluster.name}` });
  return 0;
}
