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
    // --org narrows by organisation id; a name or slug needs the API, an id does not.
    const org = deps.flags.org || deps.env.ANKRA_ORG ? await deps.organisations.effective() : undefined;
    const contexts = (await kube.listAnkraContexts(loc)).filter((c) => org === undefined || c.orgId === org.organisation_id);
    let names: string[];
    if (opts.all) names = contexts.map((c) => c.context);
    else {
      const want = opts.cluster ?? '';
      // The names `kubeconfig add` gives a cluster: ankra-<slug>, ankra-<slug>-<id prefix>, ankra-<org>-<slug>.
      const slug = kube.clusterSlug(want);
      const named = (c: { context: string; clusterId: string }) =>
        c.context === `ankra-${slug}` || c.context === `ankra-${slug}-${c.clusterId.slice(0, 8)}` || (org !== undefined && c.context === `ankra-${kube.clusterSlug(orgLabel(org))}-${slug}`);
      const hits = contexts.filter((c) => c.clusterId === want || c.context === want || (!looksLikeId(want) && named(c)));
      if (hits.length === 0) throw new NotFoundError(`no Ankra context for ${want}${org ? ` of ${orgLabel(org)}` : ''} in ${loc.files.join(', ')}`, { hint: 'run `ankra cluster kubeconfig list`' });
      names = hits.map((c) => c.context);
    }
    const result = names.length ? await kube.removeAnkraEntries(loc, { names }) : { removed: [], clearedCurrentContext: false };
    const left = new Set(names);
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, '', 'contexts', contexts.filter((c) => !left.has(c.context)).map((c) => c.context));
    for (const r of result.removed) deps.out.success(`Removed context ${r.context}`);
    if (result.clearedCurrentContext) deps.out.info('current-context was one of them: it is now unset');
    if (result.removed.length === 0) deps.out.info('no Ankra contexts to remove');
    await deps.out.result(result.removed.map((r) => ({ context: r.context, cluster_id: r.clusterId })));
    return 0;
  },
});
