/**
 * `ankra cluster access members`: who in the organisation can be granted access, from the
 * organisation's member list. Invitations not yet accepted are marked: they cannot be
 * granted anything until accepted.
 */
import { defineCommand, flag } from '../../../cli/spec';
import type { OrganisationUser } from '../../../api/types';
import { rememberForCompletion } from '../../../completion/cache';

export default defineCommand({
  path: ['cluster', 'access', 'members'],
  summary: 'list the organisation members who can be granted access (invitations marked)',
  args: {},
  flags: { cluster: flag.string('cluster', 'accepted for compatibility; members belong to the organisation', { hidden: true }) },
  examples: ['ankra cluster access members', 'ankra --org globex cluster access members -o name'],
  async run(_opts, deps) {
    const org = await deps.organisations.effective();
    if (!org) {
      deps.out.info('you belong to no organisation');
      return 0;
    }
    const users = (await deps.organisations.detail(org.organisation_id)).users;
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, await deps.organisations.chosenId(), 'members', users.filter((u) => u.status !== 'invited').map((u) => u.email ?? '').filter(Boolean));
    const invited = (u: OrganisationUser) => u.status === 'invited' || (!u.id && Boolean(u.invite_id));
    await deps.out.data(users, {
      columns: [
        { header: 'Email', value: (u: OrganisationUser) => u.email ?? '-', flex: true },
        { header: 'Role', value: (u) => u.role ?? '-' },
        { header: 'Status', value: (u) => (invited(u) ? 'invited (not accepted yet)' : (u.status ?? '-')), style: (u) => (invited(u) ? 'yellow' : undefined) },
        { header: 'You', value: (u) => (u.user_current ? '*' : '') },
        { header: 'ID', value: (u) => u.id ?? u.invite_id ?? '-', wide: true },
      ],
      name: (u) => u.email ?? u.id ?? u.invite_id ?? '',
      empty: 'no members',
    });
    return 0;
  },
});
