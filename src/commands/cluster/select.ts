/**
 * `ankra cluster select NAME`: the default for --cluster on this server and organisation
 * (ANKRA_CLUSTER and --cluster still win).
 */
import type { Context } from '../../context';
import { updateConfig, serverConfig } from '../../core/config';
import { NotFoundError } from '../../errors';

export interface Options {
  cluster: string;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  const cluster = await ctx.cluster(opts.cluster);
  if (cluster.id === cluster.name) {
    // Given as an id: learn the name, so messages and `cluster list` can show it.
    const api = await ctx.api();
    const found = (await api.allClusters()).find((c) => c.id === cluster.id);
    if (!found) throw new NotFoundError(`cluster ${cluster.id} not found`, { hint: 'run `ankra cluster list` (and check --org)' });
    cluster.name = found.name;
  }
  const orgKey = await ctx.effectiveOrgId();
  await updateConfig(ctx.paths.configDir, (cfg) => {
    const server = serverConfig(cfg, ctx.target.baseUrl);
    server.clusters = { ...server.clusters, [orgKey]: { id: cluster.id, name: cluster.name } };
  });
  ctx.out.success(`Default cluster is now ${cluster.name} (${cluster.id})`);
  if (ctx.out.format !== 'table') await ctx.out.data({ id: cluster.id, name: cluster.name, organisation_id: orgKey || null }, undefined);
  return 0;
}
