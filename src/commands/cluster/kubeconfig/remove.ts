/**
 * `ankra cluster kubeconfig remove [CLUSTER] [--all]`: remove Ankra contexts (ours and the
 * Go CLI's) with their cluster and user entries. Works offline: contexts are matched by
 * cluster id, context name, or the cluster name their context name was made from; with
 * --org, only that organisation's contexts.
 */
import { defineCommand, flag } from '../../../cli/spec';
import { looksLikeId } from '../../../api/types';
import { NotFoundError, UsageError } from '../../../errors';
import { clusterArg, clusterFlag, kubeconfigFlag } from '../../shared/flags';
import { orgLabel } from '../../../lookup/organisations';
import { rememberForCompletion } from '../../../completion/cache';

export default defineCommand({
  path: ['cluster', 'kubeconfig', 'remove'],
  summary: 'remove Ankra contexts from your kubeconfig (also those written by the Go CLI)',
  args: { cluster: { ...clusterArg, completes: 'context' as const } },
  flags: { cluster: clusterFlag, all: flag.bool('remove every Ankra context'), kubeconfig: kubeconfigFlag },
  examples: ['ankra cluster kubeconfig remove staging', 'ankra --org globex cluster kubeconfig remove staging', 'ankra cluster kubeconfig remove --all'],
  check(o) {
    if (o.all === Boolean(o.cluster)) throw new UsageError('give a cluster or --all', { hint: 'see `ankra cluster kubeconfig list`' });
  },
  async run(opts, deps) {
    const kube = await import('../../../kube/kubeconfig');
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: deps.env, home: deps.paths.home });
    // --org narrows to that organisation's contexts (a name or slug needs the API; an id does not).
    const org = deps.flags.org || deps.env.ANKRA_ORG ? await deps.organisations.effective() : undefined;
    const orgMatch = org ? { id: org.organisation_id, slug: org.slug ?? null } : undefined;
    const want = opts.cluster ?? '';
    const match = opts.all ? { all: true, ...(orgMatch ? { org: orgMatch } : {}) } : { clusterIds: [want], names: [want], clusterNames: looksLikeId(want) ? [] : [want], ...(orgMatch ? { org: orgMatch } : {}) };
    const result = await kube.removeAnkraEntries(loc, match);
    for (const w of result.writes) deps.debug(`wrote ${w.file}: ${w.method === 'in-place' ? `in place (rename refused: ${w.renameRefused ?? '?'})` : 'atomically'}`);
    if (result.removed.length === 0 && !opts.all) {
      throw new NotFoundError(`no Ankra context for ${want}${org ? ` of ${orgLabel(org)}` : ''} in ${loc.files.join(', ') || 'any kubeconfig'}`, { hint: 'run `ankra cluster kubeconfig list`' });
    }
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, '', 'contexts', (await kube.listAnkraContexts(loc)).map((c) => c.context));
    for (const r of result.removed) deps.out.success(`Removed context ${r.context}`);
    if (result.clearedCurrentContext) deps.out.info('current-context was one of them: it is now unset');
    if (result.removed.length === 0) deps.out.info('no Ankra contexts to remove');
    await deps.out.result(result.removed.map((r) => ({ context: r.context, cluster_id: r.clusterId })));
    return 0;
  },
});
