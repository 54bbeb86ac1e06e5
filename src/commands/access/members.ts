/** `ankra cluster access members`: who in the organisation can be granted access. */
import type { Member } from '../../api/types';
import type { Context } from '../../context';
import type { Column } from '../../ui/output';

export interface Options {
  cluster?: string;
}

const COLUMNS: Column<Member>[] = [
  { header: 'Email', value: (m) => m.email },
  { header: 'Name', value: (m) => m.name ?? '-' },
  { header: 'Role', value: (m) => m.role ?? '-' },
  { header: 'Status', value: (m) => m.status ?? '-', style: (m) => (m.status && m.status !== 'active' ? 'yellow' : undefined) },
  { header: 'ID', value: (m) => m.user_id },
];

export async function run(ctx: Context, opts: Options): Promise<number> {
  const cluster = await ctx.cluster(opts.cluster);
  const api = await ctx.api();
  const members = await api.members(cluster.id, { cluster: cluster.name });
  await ctx.out.data(members, COLUMNS, { empty: 'no members' });
  return 0;
}
