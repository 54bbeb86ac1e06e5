/**
 * `ankra cluster access revoke EMAIL|GRANT_ID`, `revoke --all` (every grant on a cluster)
 * and `revoke EMAIL --all-clusters` (offboarding: a person everywhere). Tokens minted under
 * a revoked grant stop working at once. Revoking many asks first on a terminal and needs
 * --yes without one.
 */
import { arg, defineCommand, flag } from '../../../cli/spec';
import { looksLikeId, type Grant } from '../../../api/types';
import type { ClusterTarget } from '../../../api/ankra';
import type { Deps } from '../../../deps';
import { CancelledError, Exit, NotFoundError, UsageError, messageOf, shellWord } from '../../../errors';
import { clusterFlag } from '../../shared/flags';
import { accessCapable, fanOut, reportFailures } from '../../shared/fanout';
import { describeGrant, grantee, grantsOn, retryRateLimited } from '../../shared/grants';
import { parseGrantTarget } from '../../shared/values';

interface Revoked {
  cluster: string;
  grant_id: string;
  user_email: string | null;
  ok: boolean;
  error?: string;
}

export default defineCommand({
  path: ['cluster', 'access', 'revoke'],
  summary: 'revoke a grant by id, every grant of an email (on one cluster or --all-clusters), or --all grants on a cluster',
  args: { target: arg.optional('email-or-grant-id', 'an email (all their grants) or a grant id', { parse: parseGrantTarget, completes: 'member' }) },
  flags: {
    cluster: clusterFlag,
    all: flag.bool('revoke every grant on the cluster'),
    allClusters: flag.bool("revoke the member's grants on every cluster of the organisation (offboarding)"),
    yes: flag.bool('do not ask for confirmation', { short: '-y' }),
  },
  examples: [
    'ankra cluster access revoke alice@example.com --cluster staging',
    'ankra cluster access revoke alice@example.com --all-clusters --yes',
    'ankra cluster access revoke --all --cluster staging --yes',
  ],
  check(o) {
    if (o.all && o.target) throw new UsageError('give either an email / grant id or --all, not both');
    if (!o.all && !o.target) throw new UsageError('nothing to revoke', { hint: 'pass an email, a grant id, or --all' });
    if (o.allClusters && (o.all || o.cluster)) throw new UsageError('--all-clusters takes an email and no --cluster or --all');
    if (o.allClusters && o.target && looksLikeId(o.target)) throw new UsageError('--all-clusters takes an email, not a grant id');
  },
  async run(opts, deps) {
    if (opts.allClusters) return offboard(deps, opts.target as string, opts.yes);
    const cluster = await deps.clusters.resolve(opts.cluster);
    const target: ClusterTarget = { id: cluster.id, label: await cluster.name() };
    const api = await deps.api();
    const grantId = opts.target;
    if (grantId && looksLikeId(grantId)) {
      try {
        await retryRateLimited(deps, () => api.deleteGrant(target, grantId));
      } catch (err) {
        if (err instanceof NotFoundError) throw new NotFoundError(`no grant ${opts.target} on ${target.label}`, { hint: `run \`ankra cluster access list ${shellWord(target.label)}\`` });
        throw err;
      }
      deps.out.success(`Revoked grant ${opts.target} on ${target.label}`);
      await deps.out.result({ revoked: 1, grant_ids: [opts.target] });
      return 0;
    }
    const all = await grantsOn(deps, target);
    const doomed = opts.all ? all : all.filter((g) => (g.user_email ?? '').toLowerCase() === (opts.target ?? '').toLowerCase());
    if (doomed.length === 0) {
      if (opts.all) {
        deps.out.info(`no grants on ${target.label}: nothing to revoke`);
        await deps.out.result({ revoked: 0, grant_ids: [] });
        return 0;
      }
      throw new NotFoundError(`${opts.target} has no grants on ${target.label}`, { hint: `run \`ankra cluster access list ${shellWord(target.label)}\`` });
    }
    if (opts.all) await confirm(deps, opts.yes, `revoke all ${count(doomed.length, 'grant')} on ${target.label} (${whose(doomed)})`, `revoke --all --cluster ${shellWord(target.label)}`);
    const results = await revokeEach(deps, doomed.map((g) => ({ cluster: target, grant: g })));
    return finish(deps, results);
  },
});

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** "alice@x, bob@x and 3 others". */
function whose(grants: Grant[]): string {
  const people = [...new Set(grants.map(grantee))];
  return people.length <= 3 ? people.join(', ') : `${people.slice(0, 3).join(', ')} and ${people.length - 3} others`;
}

/** Asks on a terminal; without one, --yes is required (exit 2). `action`: "revoke all 3 grants on staging (…)". */
async function confirm(deps: Deps, yes: boolean, action: string, retry: string): Promise<void> {
  if (yes) return;
  if (!deps.out.interactive) throw new UsageError(`refusing to ${action} without confirmation`, { hint: `pass --yes: \`ankra cluster access ${retry} --yes\`` });
  if (!(await deps.out.confirm(`${action[0]?.toUpperCase()}${action.slice(1)}? They lose kubectl access at once.`))) throw new CancelledError('nothing revoked');
}

async function revokeEach(deps: Deps, items: Array<{ cluster: ClusterTarget; grant: Grant }>): Promise<Revoked[]> {
  const api = await deps.api();
  const progress = items.length > 1 && !deps.out.machine ? await deps.out.progress(`Revoking ${count(items.length, 'grant')}`, { ttyOnly: true }) : undefined;
  const results: Revoked[] = [];
  let done = 0;
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { cluster, grant } = item;
      const base = { cluster: cluster.label, grant_id: grant.id, user_email: grant.user_email };
      try {
        await retryRateLimited(deps, () => api.deleteGrant(cluster, grant.id));
        results.push({ ...base, ok: true });
      } catch (err) {
        if (deps.signal.aborted) throw err;
        results.push({ ...base, ok: false, error: messageOf(err) });
      }
      progress?.update(`Revoking grants: ${++done}/${items.length}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(4, items.length) }, worker));
  } finally {
    progress?.stop();
  }
  const order = new Map(items.map((it, i) => [it.grant.id, i]));
  return results.sort((a, b) => (order.get(a.grant_id) ?? 0) - (order.get(b.grant_id) ?? 0));
}

async function finish(deps: Deps, results: Revoked[]): Promise<number> {
  const ok = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  for (const r of ok) deps.out.success(`Revoked ${r.user_email ?? r.grant_id}'s grant ${r.grant_id} on ${r.cluster}`);
  for (const r of failed) deps.out.warn(`could not revoke ${r.user_email ?? '?'}'s grant ${r.grant_id} on ${r.cluster}: ${r.error ?? ''}`);
  const clusters = new Set(ok.map((r) => r.cluster));
  const where = clusters.size > 1 ? ` on ${count(clusters.size, 'cluster')}` : clusters.size === 1 ? ` on ${[...clusters][0]}` : '';
  deps.out.info(`Revoked ${count(ok.length, 'grant')}${where}${failed.length ? `; ${failed.length} failed` : ''}`);
  await deps.out.result({ revoked: ok.length, grant_ids: ok.map((r) => r.grant_id), failed: failed.map((r) => ({ cluster: r.cluster, grant_id: r.grant_id, error: r.error })) });
  return failed.length ? Exit.FAILURE : Exit.OK;
}

/** A person everywhere: list every cluster's grants, show what goes, ask, revoke, report. */
async function offboard(deps: Deps, email: string, yes: boolean): Promise<number> {
  const clusters = accessCapable(await deps.clusters.all());
  const outcomes = await fanOut(deps, clusters, `Looking for ${email}'s grants`, (c) => grantsOn(deps, { id: c.id, label: c.name }));
  const listFailed = reportFailures(deps, outcomes, 'list its grants');
  const found = outcomes.flatMap((o) => (o.value ?? []).filter((g) => (g.user_email ?? '').toLowerCase() === email.toLowerCase()).map((g) => ({ cluster: { id: o.cluster.id, label: o.cluster.name }, grant: g })));
  if (found.length === 0) {
    deps.out.info(`${email} has no grants on ${count(clusters.length, 'cluster')}${listFailed ? ' that could be listed' : ''}`);
    await deps.out.result({ revoked: 0, grant_ids: [], failed: [] });
    return listFailed;
  }
  const onClusters = new Set(found.map((f) => f.cluster.id)).size;
  const who = found[0] ? grantee(found[0].grant) : email;
  deps.out.info(`${who} has ${count(found.length, 'grant')} on ${count(onClusters, 'cluster')}:`);
  for (const f of found) deps.out.info(`  ${describeGrant(f.grant, f.cluster.label)} (${f.grant.reconcile_status})`);
  await confirm(deps, yes, `revoke ${count(found.length, 'grant')} of ${who} on ${count(onClusters, 'cluster')}`, `revoke ${shellWord(email)} --all-clusters`);
  const results = await revokeEach(deps, found);
  const code = await finish(deps, results);
  return code || listFailed;
}
