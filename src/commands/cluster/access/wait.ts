/** `ankra cluster access wait GRANT_ID|EMAIL`: wait until Ankra has applied a grant (or a member's grants). */
import { arg, defineCommand, flag } from '../../../cli/spec';
import { looksLikeId } from '../../../api/types';
import { NotFoundError, shellWord } from '../../../errors';
import { clusterFlag } from '../../shared/flags';
import { grantView, grantsOn } from '../../shared/grants';
import { parseDuration, parseGrantTarget } from '../../shared/values';
import { waitForGrants } from '../../shared/wait';

export default defineCommand({
  path: ['cluster', 'access', 'wait'],
  summary: "wait until Ankra has applied a grant, or all of a member's grants, to the cluster",
  args: { target: arg.required('grant-id-or-email', 'a grant id, or an email (all their grants on the cluster)', { parse: parseGrantTarget, completes: 'member' }) },
  flags: {
    cluster: clusterFlag,
    timeout: flag.parsed('duration', 'how long to wait (e.g. 90s, 5m)', parseDuration, { fallback: 300_000, fallbackText: '5m' }),
  },
  examples: ['ankra cluster access wait 0b6c…e1 --cluster staging', 'ankra cluster access wait alice@example.com --cluster staging --timeout 10m'],
  async run(opts, deps) {
    const cluster = await deps.clusters.resolve(opts.cluster);
    const target = { id: cluster.id, label: await cluster.name() };
    const all = await grantsOn(deps, target);
    const grants = looksLikeId(opts.target) ? all.filter((g) => g.id === opts.target) : all.filter((g) => (g.user_email ?? '').toLowerCase() === opts.target.toLowerCase());
    if (grants.length === 0) {
      throw new NotFoundError(`${looksLikeId(opts.target) ? `no grant ${opts.target}` : `${opts.target} has no grants`} on ${target.label}`, { hint: `run \`ankra cluster access list ${shellWord(target.label)}\`` });
    }
    const r = await waitForGrants(deps, target, grants, opts.timeout);
    await deps.out.data(r.grants, grantView());
    if (r.outcome) throw r.outcome;
    return 0;
  },
});
