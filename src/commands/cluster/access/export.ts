/**
 * `ankra cluster access export [CLUSTER[,CLUSTER…]] [--all-clusters]`: today's grants as an
 * access file, so a team can start access-as-code from what exists (`export` then
 * `apply --dry-run` shows no changes).
 */
import { arg, defineCommand, flag } from '../../../cli/spec';
import { UsageError } from '../../../errors';

export default defineCommand({
  path: ['cluster', 'access', 'export'],
  summary: "write today's grants as an access file, for `ankra cluster access apply -f` (needs an organisation admin)",
  details:
    'Writes YAML to standard output (redirect it to a file); -o json prints the same as JSON. Grants that cannot be entries ' +
    '(their user is no longer an active member of the organisation, or has no email) are written as comments, so `apply` ' +
    'leaves them alone and `apply --prune` deletes them.',
  args: {
    clusters: arg.optional('clusters', 'cluster names or ids, comma-separated (default: ANKRA_CLUSTER, or `ankra cluster select`)', { completes: 'cluster' }),
  },
  flags: { allClusters: flag.bool('every cluster of the organisation') },
  examples: [
    'ankra cluster access export --all-clusters > access.yaml && ankra cluster access apply -f access.yaml --dry-run',
    'ankra cluster access export staging,prod-eu',
  ],
  check(o) {
    if (o.allClusters && o.clusters) throw new UsageError('name clusters or give --all-clusters, not both');
  },
  async run(opts, deps) {
    const { exportGrants } = await import('../../../access/export');
    return exportGrants(deps, { names: opts.clusters?.split(',').map((s) => s.trim()).filter(Boolean), all: opts.allClusters });
  },
});
