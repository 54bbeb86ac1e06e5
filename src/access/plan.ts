/**
 * The planner: what to change on a cluster so its grants match the file's list. A grant
 * matches an entry by person (email, case-insensitive) and scope (the namespace, or the
 * whole cluster); the API holds one grant per person and scope, so a different role there
 * is a change, made as delete-then-create. Grants the file does not list are deleted with
 * --prune and otherwise left alone (and counted). Pure: no I/O, no yaml.
 */
import type { Cluster, Grant, Role, Scope } from '../api/types';
import type { Entry } from './file';

export type Action = 'create' | 'change' | 'delete';

/** One change of a plan, as `-o json|yaml` prints it. */
export interface Change {
  action: Action;
  cluster: string;
  cluster_id: string;
  /** null only for a grant (to delete) whose user has no email. */
  user_email: string | null;
  scope: Scope;
  namespace: string | null;
  /** create, change: the role wanted; delete: the role of the grant that goes. */
  role: Role;
  /** change: the role there now. */
  from_role?: Role;
  /** change, delete: the grant there now. */
  grant_id?: string;
  /** create, change: the entry's line in the file. */
  line?: number;
}

export interface ClusterPlan {
  cluster: Cluster;
  /** Creates, then changes, then deletes: the order they are made in. */
  changes: Change[];
  /** Entries whose grant is there with the role asked for. */
  unchanged: number;
  /** Grants the file does not list, kept because --prune was not given. */
  left_alone: number;
  /** Unchanged grants that failed to apply (`ankra cluster access review` shows why). */
  failing: number;
}

const ORDER: Record<Action, number> = { create: 0, change: 1, delete: 2 };

/** A person (email, case-insensitive) and a scope (a namespace, or none: the whole cluster): one grant at most. */
export function personScope(email: string, namespace: string | null | undefined): string {
  return `${email.toLowerCase()}\u0000${namespace ?? ''}`;
}

export function planCluster(cluster: Cluster, entries: readonly Entry[], grants: readonly Grant[], prune: boolean): ClusterPlan {
  const wanted = new Map(entries.map((e) => [personScope(e.email, e.namespace), e]));
  const matched = new Map<string, Grant>();
  const base = { cluster: cluster.name, cluster_id: cluster.id };
  const plan: ClusterPlan = { cluster, changes: [], unchanged: 0, left_alone: 0, failing: 0 };
  const key = (g: Grant) => (g.user_email ? personScope(g.user_email, g.scope === 'namespace' ? (g.namespace ?? '?') : null) : undefined);

  // First the grants that are exactly as wanted, so a stray second grant of the same person
  // and scope (which the API should not allow) is never mistaken for the one to keep.
  for (const g of grants) {
    const k = key(g);
    const e = k === undefined ? undefined : wanted.get(k);
    if (k === undefined || !e || matched.has(k) || g.role !== e.role) continue;
    matched.set(k, g);
    plan.unchanged++;
    if (g.reconcile_status === 'failed') plan.failing++;
  }
  for (const g of grants) {
    const k = key(g);
    if (k !== undefined && matched.get(k) === g) continue;
    const e = k === undefined ? undefined : wanted.get(k);
    if (k !== undefined && e && !matched.has(k)) {
      matched.set(k, g);
      plan.changes.push({ action: 'change', ...base, user_email: e.email, scope: g.scope, namespace: g.namespace ?? null, role: e.role, from_role: g.role, grant_id: g.id, line: e.line });
    } else if (prune) {
      plan.changes.push({ action: 'delete', ...base, user_email: g.user_email, scope: g.scope, namespace: g.namespace ?? null, role: g.role, grant_id: g.id });
    } else {
      plan.left_alone++;
    }
  }
  for (const [k, e] of wanted) {
    if (matched.has(k)) continue;
    plan.changes.push({ action: 'create', ...base, user_email: e.email, scope: e.namespace === undefined ? 'cluster' : 'namespace', namespace: e.namespace ?? null, role: e.role, line: e.line });
  }
  plan.changes.sort((a, b) => ORDER[a.action] - ORDER[b.action] || (a.line ?? Infinity) - (b.line ?? Infinity) || (a.user_email ?? '').localeCompare(b.user_email ?? ''));
  return plan;
}

/** The totals of a plan across clusters. */
export interface Totals {
  create: number;
  change: number;
  delete: number;
  unchanged: number;
  left_alone: number;
  failing: number;
}

export function totals(plans: readonly ClusterPlan[]): Totals {
  const t: Totals = { create: 0, change: 0, delete: 0, unchanged: 0, left_alone: 0, failing: 0 };
  for (const p of plans) {
    for (const c of p.changes) t[c.action]++;
    t.unchanged += p.unchanged;
    t.left_alone += p.left_alone;
    t.failing += p.failing;
  }
  return t;
}
