/**
 * `ankra cluster select NAME`: the default for --cluster on this server and organisation
 * (ANKRA_CLUSTER and --cluster still win).
 */
import { arg, defineCommand, flag } from '../../cli/spec';
import { serverConfig, updateConfig } from '../../core/config';
import { UsageError } from '../../errors';

const WHICH = 'cluster name or id';

export default defineCommand({
  path: ['cluster', 'select'],
  summary: 'make a cluster the default for --cluster (ANKRA_CLUSTER overrides it)',
  // Named either way, as on every command that acts on one cluster (help shows the positional).
  args: { cluster: arg.optional('cluster', WHICH, { completes: 'cluster' }) },
  flags: { cluster: flag.string('cluster', WHICH, { completes: 'cluster' }) },
  examples: ['ankra cluster select staging'],
  check(opts) {
    if (opts.cluster === undefined) throw new UsageError('no cluster given', { hint: 'name it: `ankra cluster select staging`' });
  },
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
