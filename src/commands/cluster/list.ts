/** `ankra cluster list`: every cluster of the organisation (all pages). */
import { defineCommand } from '../../cli/spec';
import type { Cluster } from '../../api/types';
import { rememberForCompletion } from '../../completion/cache';

export default defineCommand({
  path: ['cluster', 'list'],
  summary: 'list the clusters of the organisation',
  args: {},
  flags: {},
  examples: ['ankra cluster list', 'ankra cluster list -o name', "ankra cluster list -o jsonpath='{range .[*]}{.name}{\"\\t\"}{.state}{\"\\n\"}{end}'"],
  async run(_opts, deps) {
    const clusters = await deps.clusters.all();
    const orgId = await deps.organisations.chosenId();
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, orgId, 'clusters', clusters.map((c) => c.name));
    const selected = deps.resolved.config.servers[deps.target.baseUrl]?.clusters?.[(await deps.organisations.effectiveId()) ?? '']?.id;
    await deps.out.data(clusters, {
      columns: [
        { header: 'Name', value: (c: Cluster) => (c.id === selected && deps.out.isTTY ? `${c.name} *` : c.name), flex: true },
        { header: 'State', value: (c) => c.state ?? '-', style: (c) => (c.state === 'online' ? 'green' : c.state ? 'yellow' : undefined) },
        { header: 'Environment', value: (c) => c.environment ?? '-' },
        { header: 'Kind', value: (c) => c.kind ?? '-' },
        { header: 'Version', value: (c) => c.kube_version ?? '-' },
        { header: 'Age', value: () => '', time: (c) => c.created_at },
        { header: 'ID', value: (c) => c.id, wide: true },
      ],
      name: (c) => c.name,
      empty: 'no clusters in this organisation',
    });
    return 0;
  },
});
