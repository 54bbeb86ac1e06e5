/**
 * `ankra cluster access list [CLUSTER]`: the grants on a cluster, or with --all-clusters
 * on every cluster of the organisation. Listing grants needs an organisation admin.
 */
import { defineCommand, flag } from '../../../cli/spec';
import { RECONCILE_STATUSES, ROLES } from '../../../api/types';
import { UsageError } from '../../../errors';
import { rememberForCompletion } from '../../../completion/cache';
import { clusterArg, clusterFlag } from '../../shared/flags';
import { grantView, grantsOn, matches, type ClusterGrant, type GrantFilter } from '../../shared/grants';
import { accessCapable, fanOut, reportFailures } from '../../shared/fanout';
import { parseEmail } from '../../shared/values';

export default defineCommand({
  path: ['cluster', 'access', 'list'],
  summary: 'list the access grants on a cluster, or on every cluster (needs an organisation admin)',
  args: { cluster: clusterArg },
  flags: {
    cluster: clusterFlag,
    allClusters: flag.bool('list the grants on every cluster of the organisation'),
    user: flag.parsed('email', 'only the grants of this member', parseEmail, { completes: 'member' }),
    role: flag.string('role', 'only grants of this role', { choices: ROLES }),
    status: flag.string('status', 'only grants in this state', { choices: RECONCILE_STATUSES }),
  },
  examples: [
    'ankra cluster access list staging',
    'ankra cluster access list --all-clusters --user alice@example.com',
    'ankra cluster access list --all-clusters --status failed -o json',
  ],
  check(o) {
    if (o.allClusters && o.cluster) throw new UsageError('give a cluster or --all-clusters, not both');
  },
  async run(opts, deps) {
    const filter: GrantFilter = { user: opts.user, role: opts.role, status: opts.status };
    const filtered = Boolean(opts.user || opts.role || opts.status);
    if (!opts.allClusters) {
      const cluster = await deps.clusters.resolve(opts.cluster);
      const grants = (await grantsOn(deps, cluster)).filter((g) => matches(g, filter));
      rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, await deps.organisations.chosenId(), 'members', grants.map((g) => g.user_email ?? '').filter(Boolean));
      await deps.out.data(grants, grantView({ empty: filtered ? `no grants on ${cluster.label} match` : `no grants on ${cluster.label}` }));
      return 0;
    }
    const clusters = accessCapable(await deps.clusters.all());
    const outcomes = await fanOut(deps, clusters, 'Listing grants', (c) => grantsOn(deps, { id: c.id, label: c.name }));
    const all: ClusterGrant[] = outcomes.flatMap((o) => (o.value ?? []).filter((g) => matches(g, filter)).map((g) => ({ ...g, cluster_name: o.cluster.name })));
    const code = reportFailures(deps, outcomes, 'list its grants');
    await deps.out.data(all, grantView<ClusterGrant>({ cluster: (g) => g.cluster_name, empty: filtered ? 'no grants match on any cluster' : 'no grants on any cluster' }));
    return code;
  },
});
