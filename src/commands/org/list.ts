/** `ankra org list`: the organisations you belong to. */
import type { Organisation } from '../../api/types';
import type { Context } from '../../context';
import type { Column } from '../../ui/output';

const COLUMNS: Column<Organisation>[] = [
  { header: 'Name', value: (o) => o.name },
  { header: 'Slug', value: (o) => o.slug ?? '-' },
  { header: 'Role', value: (o) => o.role ?? '-' },
  { header: 'Current', value: (o) => (o.user_current ? '*' : '') },
  { header: 'ID', value: (o) => o.organisation_id },
];

export async function run(ctx: Context): Promise<number> {
  const orgs = await ctx.organisations();
  await ctx.out.data(orgs, COLUMNS, { empty: 'you belong to no organisation' });
  return 0;
}
