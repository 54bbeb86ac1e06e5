/**
 * `ankra cluster select NAME`: the default for --cluster on this server and organisation
 * (ANKRA_CLUSTER and --cluster still win).
 */
import { arg, defineCommand } from '../../cli/spec';
import { serverConfig, updateConfig } from '../../core/config';

export default defineCommand({
  path: ['cluster', 'select'],
  summary: 'make a cluster the default for --cluster (ANKRA_CLUSTER overrides it)',
  args: { cluster: arg.required('cluster', 'cluster name or id', { completes: 'cluster' }) },
  flags: {},
  examples: ['ankra cluster select staging'],
  async run(opts, deps) {
    const cluster = await (await deps.clusters.resolve(opts.cluster)).record();
    const orgKey = (await deps.organisations.effectiveId()) ?? '';
    await updateConfig(deps.paths.configDir, (cfg) => {
      const server = serverConfig(cfg, deps.target.baseUrl);
      server.clusters = { ...server.clusters, [orgKey]: { id: cluster.id, name: cluster.name } };
    });
    deps.out.success(`Default cluster is now ${cluster.name} (${cluster.id})`);
    await deps.out.result({ id: cluster.id, name: cluster.name, organisation_id: orgKey || null });
    return 0;
  },
});
