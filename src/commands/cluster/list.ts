/** `ankra cluster list`: every cluster of the organisation (all pages). */
import type { Cluster } from '../../api/types';
import type { Context } from '../../context';
import type { Column } from '../../ui/output';
import { age } from '../../ui/format';

export async function run(ctx: Context): Promise<number> {
  const api = await ctx.api();
  const clusters = await api.allClusters();
  const selected = ctx.resolved.config.servers[ctx.target.baseUrl]?.clusters?.[await ctx.effectiveOrgId()]?.id;
  const columns: Column<Cluster>[] = [
    { header: 'Name', value: (c) => (c.id === selected && ctx.out.isTTY ? `${c.name} *` : c.name) },
    { header: 'ID', value: (c) => c.id },
    { header: 'State', value: (c) => c.state ?? '-', style: (c) => (c.state === 'online' ? 'green' : c.state ? 'yellow' : undefined) },
    { header: 'Environment', value: (c) => c.environment ?? '-' },
    { header: 'Kind', value: (c) => c.kind ?? '-' },
    { header: 'Version', value: (c) => c.kube_version ?? '-' },
    { header: 'Age', value: (c) => age(c.created_at) },
  ];
  await ctx.out.data(clusters, columns, { empty: 'no clusters in this organisation' });
  return 0;
}
