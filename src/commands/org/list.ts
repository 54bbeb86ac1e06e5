/** `ankra org list`: the organisations you belong to. */
import { defineCommand } from '../../cli/spec';
import type { Organisation } from '../../api/types';

export default defineCommand({
  path: ['org', 'list'],
  summary: 'list the organisations you belong to',
  args: {},
  flags: {},
  examples: ['ankra org list', 'ankra --org globex cluster list'],
  async run(_opts, deps) {
    const orgs = await deps.organisations.list();
    const chosen = await deps.organisations.effectiveId();
    await deps.out.data(orgs, {
      columns: [
        { header: 'Name', value: (o: Organisation) => o.name ?? '-', flex: true },
        { header: 'Slug', value: (o) => o.slug ?? '-' },
        { header: 'Role', value: (o) => o.role ?? '-' },
        { header: 'Status', value: (o) => o.status ?? '-' },
        { header: 'In use', value: (o) => (o.organisation_id === chosen ? '*' : '') },
        { header: 'ID', value: (o) => o.organisation_id, wide: true },
      ],
      name: (o) => o.slug ?? o.organisation_id,
      empty: 'you belong to no organisation',
    });
    return 0;
  },
});
