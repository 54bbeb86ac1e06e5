/**
 * Carrying out a plan (`ankra cluster access apply`), ordered so nobody loses access they
 * keep in the file: on each cluster, creates first, then role changes (delete-then-create at
 * once: the API holds one grant per person and scope and has no update), then deletes.
 * Clusters go in parallel (bounded, `shared/fanout.ts`). With --wait, the new grants are
 * waited for (`shared/wait.ts`) and a person's other grants that the file drops go only
 * once their new ones are applied. Every change gets a result; one failing does not stop
 * the others.
 */
import type { ClusterTarget } from '../api/ankra';
import type { Cluster, Grant, GrantRequest } from '../api/types';
import type { Deps } from '../deps';
import { AnkraError, CancelledError, Exit, NotFoundError, WaitTimeoutError, messageOf, shellWord } from '../errors';
import { fanOut } from '../commands/shared/fanout';
import { describeGrant, grantsOn, retryRateLimited, swapGrant } from '../commands/shared/grants';
import { waitForGrants } from '../commands/shared/wait';
import { seconds } from '../core/time';
import type { Change, ClusterPlan } from './plan';

/** A change and what became of it, as `-o json|yaml` prints it. */
export interface Applied extends Change {
  result: 'done' | 'failed' | 'skipped';
  /** create, change: the grant made. */
  new_grant_id?: string;
  /** create, change: its state as last seen. */
  reconcile_status?: string;
  reconcile_error?: string | null;
  /** failed: why; skipped: why not. */
  error?: string;
}

export interface Execution {
  applied: Applied[];
  /** Why the command fails, when it does (its exit code included). */
  outcome?: AnkraError;
}

const target = (c: Cluster): ClusterTarget => ({ id: c.id, label: c.name });
const email = (c: Change) => (c.user_email ?? '').toLowerCase();

export async function executePlans(deps: Deps, plans: readonly ClusterPlan[], opts: { wait: boolean; timeoutMs: number; file: string }): Promise<Execution> {
  const busy = plans.filter((p) => p.changes.length > 0);
  // With --wait, whoever gets a new grant on a cluster keeps what the file drops there until it is applied.
  const gated = (p: ClusterPlan, c: Change) => opts.wait && c.action === 'delete' && p.changes.some((n) => n.action !== 'delete' && email(n) === email(c));
  const made = new Map<Change, Applied>();

  const first = await runOn(deps, busy, (p) => p.changes.filter((c) => !gated(p, c)));
  first.forEach((m) => made.set(m.change, m.applied));

  let waitOutcome: AnkraError | undefined;
  if (opts.wait) {
    const fresh = await waitForNew(deps, first, opts.timeoutMs);
    for (const a of made.values()) {
      const g = a.new_grant_id ? fresh.grants.get(a.new_grant_id) : undefined;
      if (g) Object.assign(a, { reconcile_status: g.reconcile_status, reconcile_error: g.reconcile_error ?? null });
    }
    waitOutcome = fresh.error;
    const later = await runOn(deps, busy, (p) => p.changes.filter((c) => gated(p, c) && readyFor(p, c, made)));
    later.forEach((m) => made.set(m.change, m.applied));
    for (const p of busy) {
      for (const c of p.changes.filter((x) => gated(p, x) && !made.has(x))) {
        const a: Applied = { ...c, result: 'skipped', error: `kept: ${c.user_email ?? '?'}'s new grant on ${p.cluster.name} is not applied` };
        made.set(c, a);
        deps.out.warn(`kept ${describeGrant(c, p.cluster.name)} of ${c.user_email ?? '?'}: their new grant there is not applied`);
      }
    }
  }

  const applied = busy.flatMap((p) => p.changes.map((c) => made.get(c) as Applied));
  return { applied, outcome: outcomeOf(applied, waitOutcome, opts) };
}

/** Whether every new grant of the change's person on its cluster is applied. */
function readyFor(p: ClusterPlan, c: Change, made: Map<Change, Applied>): boolean {
  return p.changes.filter((n) => n.action !== 'delete' && email(n) === email(c)).every((n) => made.get(n)?.reconcile_status === 'applied');
}

/** A change made (or not), and the grant it created. */
interface Made {
  change: Change;
  applied: Applied;
  grant?: Grant;
}

/** Makes `pick(plan)` on each cluster in order, clusters in parallel; prints a line per change. */
async function runOn(deps: Deps, plans: readonly ClusterPlan[], pick: (p: ClusterPlan) => Change[]): Promise<Made[]> {
  const work = plans.map((p) => ({ plan: p, changes: pick(p) })).filter((w) => w.changes.length > 0);
  const byCluster = new Map(work.map((w) => [w.plan.cluster.id, w.changes]));
  const outcomes = await fanOut(
    deps,
    work.map((w) => w.plan.cluster),
    'Applying changes',
    async (cluster) => {
      const out: Made[] = [];
      for (const change of byCluster.get(cluster.id) ?? []) out.push(await make(deps, target(cluster), change));
      return out;
    },
  );
  // make() keeps every failure in its result: an error here is Ctrl-C, raised by fanOut.
  const done = outcomes.flatMap((o) => o.value ?? []);
  for (const m of done) printResult(deps, m.applied);
  return done;
}

async function make(deps: Deps, cluster: ClusterTarget, c: Change): Promise<Made> {
  const api = await deps.api();
  const req: GrantRequest = { user_email: c.user_email ?? '', scope: c.scope, role: c.role, ...(c.namespace ? { namespace: c.namespace } : {}) };
  try {
    if (c.action === 'delete') {
      try {
        await retryRateLimited(deps, () => api.deleteGrant(cluster, c.grant_id as string));
      } catch (err) {
        // Already gone is what was wanted.
        if (!(err instanceof NotFoundError)) throw err;
      }
      return { change: c, applied: { ...c, result: 'done' } };
    }
    let grant: Grant | undefined;
    if (c.action === 'change') grant = await swapGrant(deps, cluster, { id: c.grant_id as string, role: c.from_role ?? c.role }, req);
    else {
      grant = await retryRateLimited(deps, () => api.createGrant(cluster, req));
      if (!grant) return { change: c, applied: { ...c, result: 'failed', error: `a grant for ${c.user_email ?? '?'} ${c.namespace ? `on namespace ${c.namespace}` : 'on the whole cluster'} appeared meanwhile; run diff again` } };
    }
    return { change: c, grant, applied: { ...c, result: 'done', new_grant_id: grant.id, reconcile_status: grant.reconcile_status, reconcile_error: grant.reconcile_error ?? null } };
  } catch (err) {
    if (deps.signal.aborted || err instanceof CancelledError) throw err;
    return { change: c, applied: { ...c, result: 'failed', error: messageOf(err) } };
  }
}

function printResult(deps: Deps, a: Applied): void {
  const what = describeGrant(a, a.cluster);
  const user = a.user_email ?? `grant ${a.grant_id ?? '?'}`;
  if (a.result === 'failed') {
    const verb = a.action === 'create' ? 'grant' : a.action === 'change' ? `change ${a.from_role ?? '?'} to` : 'revoke';
    deps.out.warn(`could not ${verb} ${what} ${a.action === 'delete' ? 'of' : 'for'} ${user}: ${a.error ?? ''}`);
  } else if (a.action === 'create') deps.out.success(`+ granted ${what} to ${user} (${a.reconcile_status ?? '?'})`);
  else if (a.action === 'change') deps.out.success(`~ changed ${user} from ${a.from_role ?? '?'} to ${what} (${a.reconcile_status ?? '?'}; the old grant went first: one grant per scope)`);
  else deps.out.success(`- revoked ${what} from ${user}`);
}

/**
 * Waits until every grant made is applied, failed or on an offline cluster, or the time is
 * up. Clusters reconcile in parallel: each round looks at all that are still pending, then
 * waits on the first of them (`waitForGrants`: a spinner on a terminal, lines in a log).
 */
async function waitForNew(deps: Deps, made: readonly Made[], timeoutMs: number): Promise<{ grants: Map<string, Grant>; error?: AnkraError }> {
  const deadline = deps.now() + timeoutMs;
  const last = new Map<string, Grant>();
  const mine = new Map<string, { cluster: Cluster; ids: string[] }>();
  for (const { change, grant } of made) {
    if (!grant) continue;
    last.set(grant.id, grant);
    const m = mine.get(change.cluster_id) ?? { cluster: { id: change.cluster_id, name: change.cluster }, ids: [] };
    m.ids.push(grant.id);
    mine.set(change.cluster_id, m);
  }
  const broken = new Map<string, string>();
  const pending = (id: string) => last.get(id)?.reconcile_status === 'pending';
  const open = () => [...mine.values()].filter((m) => !broken.has(m.cluster.id) && m.ids.some(pending));
  for (let round = 0; open().length > 0 && deps.now() < deadline; round++) {
    if (round > 0) {
      const looked = await fanOut(deps, open().map((m) => m.cluster), 'Checking the new grants', (c) => grantsOn(deps, target(c)));
      for (const o of looked) {
        const ids = new Set(mine.get(o.cluster.id)?.ids);
        for (const g of o.value ?? []) if (ids.has(g.id)) last.set(g.id, g);
      }
    }
    const next = open()[0];
    if (!next) break;
    const waiting = next.ids.filter(pending).map((id) => last.get(id) as Grant);
    try {
      const r = await waitForGrants(deps, target(next.cluster), waiting, Math.max(0, deadline - deps.now()));
      for (const g of r.grants) last.set(g.id, g);
    } catch (err) {
      if (err instanceof CancelledError || deps.signal.aborted) throw err;
      broken.set(next.cluster.id, messageOf(err));
      deps.out.warn(`${next.cluster.name}: could not wait for the new grants: ${messageOf(err)}`);
    }
  }
  const error = broken.size ? new AnkraError(`could not follow the new grants on ${[...broken.keys()].map((id) => mine.get(id)?.cluster.name ?? id).join(', ')}`) : undefined;
  return { grants: last, ...(error ? { error } : {}) };
}

/** Exit 1 when a change or a new grant failed, 5 when new grants are not applied (offline, time out), else none. */
function outcomeOf(applied: readonly Applied[], waitError: AnkraError | undefined, opts: { wait: boolean; timeoutMs: number; file: string }): AnkraError | undefined {
  const again = `\`ankra cluster access diff -f ${shellWord(opts.file)}\` shows what is left`;
  const failed = applied.filter((a) => a.result === 'failed');
  const rejected = opts.wait ? applied.filter((a) => a.reconcile_status === 'failed') : [];
  if (failed.length || rejected.length || waitError) {
    const parts = [
      failed.length ? `${failed.length} of ${applied.length} change${applied.length === 1 ? '' : 's'} failed` : '',
      rejected.length ? `${rejected.length} new grant${rejected.length === 1 ? '' : 's'} failed to apply (${rejected[0]?.reconcile_error ?? 'no reason given'})` : '',
      waitError ? waitError.message : '',
    ].filter(Boolean);
    return new AnkraError(`${parts.join('; ')}; the other changes were made`, Exit.FAILURE, { hint: again });
  }
  if (!opts.wait) return undefined;
  const offline = applied.filter((a) => a.reconcile_status === 'cluster_offline');
  const pending = applied.filter((a) => a.new_grant_id && a.reconcile_status !== 'applied' && a.reconcile_status !== 'cluster_offline');
  if (!offline.length && !pending.length) return undefined;
  const parts = [
    offline.length ? `${offline.length} new grant${offline.length === 1 ? ' waits' : 's wait'} for offline clusters (${[...new Set(offline.map((a) => a.cluster))].join(', ')})` : '',
    pending.length ? `${pending.length} ${pending.length === 1 ? 'is' : 'are'} still pending after ${seconds(opts.timeoutMs)}` : '',
  ].filter(Boolean);
  return new WaitTimeoutError(`not all new grants are applied: ${parts.join('; ')}`, { hint: 'check later with `ankra cluster access review`' });
}
