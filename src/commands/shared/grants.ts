/** How grants are described and shown, shared by the access commands. */
import type { ClusterTarget } from '../../api/ankra';
import type { Grant, GrantRequest, Role } from '../../api/types';
import type { Deps } from '../../deps';
import { AdminOnlyError, AnkraError, CancelledError, ConflictError, Exit, PermissionError, RateLimitedError, ValidationError, exitCodeOf, shellWord } from '../../errors';
import type { Column, Style, View } from '../../ui/output';
import { sleep } from '../../core/time';


export function statusStyle(status: string): Style | undefined {
  switch (status) {
    case 'applied':
      return 'green';
    case 'pending':
      return 'yellow';
    case 'failed':
      return 'red';
    case 'cluster_offline':
      return 'magenta';
    default:
      return undefined;
  }
}

/** "edit on namespace team-a of staging", "view on cluster staging". */
export function describeGrant(g: Pick<Grant, 'role' | 'scope' | 'namespace'>, clusterName: string): string {
  return g.scope === 'namespace' ? `${g.role} on namespace ${g.namespace ?? '?'} of ${clusterName}` : `${g.role} on cluster ${clusterName}`;
}

/** Who a grant is for: the email, else the user id. */
export const grantee = (g: Grant): string => g.user_email ?? g.ankra_user_id ?? '?';

/** The columns of a grant list; `cluster` adds a leading CLUSTER column (lists across clusters). */
export function grantColumns<T extends Grant>(cluster?: (g: T) => string): Column<T>[] {
  return [
    ...(cluster ? [{ header: 'Cluster', value: cluster, flex: true } satisfies Column<T>] : []),
    { header: 'User', value: (g) => grantee(g), flex: true },
    { header: 'Namespace', value: (g) => (g.scope === 'namespace' ? (g.namespace ?? '?') : '*') },
    { header: 'Role', value: (g) => g.role },
    { header: 'Status', value: (g) => g.reconcile_status, style: (g) => statusStyle(g.reconcile_status) },
    { header: 'Age', value: () => '', time: (g) => g.created_at },
    { header: 'Error', value: (g) => g.reconcile_error ?? '', flex: true },
    { header: 'ID', value: (g) => g.id, wide: true },
  ];
}

export function grantView<T extends Grant>(opts: { empty?: string; cluster?: (g: T) => string } = {}): View<T> {
  return { columns: grantColumns<T>(opts.cluster), name: (g) => g.id, ...(opts.empty ? { empty: opts.empty } : {}) };
}

/** A grant in a list across clusters: the API's object with its cluster's name added. */
export type ClusterGrant = Grant & { cluster_name: string };

export interface GrantFilter {
  user?: string;
  role?: string;
  status?: string;
}

export function matches(g: Grant, f: GrantFilter): boolean {
  return (!f.user || (g.user_email ?? '').toLowerCase() === f.user.toLowerCase()) && (!f.role || g.role === f.role) && (!f.status || g.reconcile_status === f.status);
}

/** The grants on one cluster; a member's 403 says what to run instead. */
export async function grantsOn(deps: Deps, cluster: ClusterTarget): Promise<Grant[]> {
  const api = await deps.api();
  try {
    return await api.grants(cluster);
  } catch (err) {
    // permission_denied (exit 7), or another 403 body (exit 6, as Ankra's Go CLI): the same words
    const hint = `to check your own access, run \`ankra doctor --cluster ${shellWord(cluster.label)}\``;
    if (err instanceof PermissionError) throw new PermissionError(`listing the grants on ${cluster.label} needs an organisation admin`, { hint });
    // another 403 body: what the API said stays in the line (it may say more, or something else)
    if (err instanceof AdminOnlyError) {
      throw new AdminOnlyError(`listing the grants on ${cluster.label} needs an organisation admin${err.detail ? `; the API said: ${err.detail}` : ''}`, err.detail, { hint });
    }
    throw err;
  }
}


/**
 * Sends a grant change again after the per-user rate limit refused it (a 429 changed
 * nothing): waits the answer's Retry-After (1 s without one, never over 60 s), at most 3
 * times. The transport resends only idempotent requests; a grant's POST and DELETE need this.
 */
export async function retryRateLimited<T>(deps: Deps, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const wait = err instanceof RateLimitedError ? (err.retryAfterMs ?? 1000) : undefined;
      if (wait === undefined || wait > 60_000 || attempt > 3) throw err;
      deps.debug(`rate limited; sending again in ${wait} ms`);
      await sleep(wait, deps.signal);
    }
  }
}

/**
 * A role change on one scope: the API holds one grant per person and scope and has no
 * update, so the old grant goes and the new one is created at once (the shortest gap the
 * API allows; a rate limit on the way is waited out). Returns the new grant. When the create
 * fails after the old grant went, the error says the person has no access there now and how
 * to give back what they had; a 409 (someone re-created it meanwhile) is a conflict to
 * resolve by hand.
 */
export async function swapGrant(deps: Deps, cluster: ClusterTarget, old: { id: string; role: Role }, req: GrantRequest): Promise<Grant> {
  const api = await deps.api();
  await retryRateLimited(deps, () => api.deleteGrant(cluster, old.id));
  const email = req.user_email;
  const restore = `ankra cluster access grant ${shellWord(email)} --cluster ${shellWord(cluster.label)} --role ${old.role}${req.scope === 'namespace' && req.namespace ? ` --namespace ${shellWord(req.namespace)}` : ''}`;
  const gone = `the old grant (${describeGrant({ role: old.role, scope: req.scope, namespace: req.namespace ?? null }, cluster.label)}) was already revoked, so ${email} has no access there now`;
  let grant: Grant | undefined;
  try {
    grant = await retryRateLimited(deps, () => api.createGrant(cluster, req));
  } catch (err) {
    const message = `${err instanceof Error ? err.message : String(err)}; ${gone}`;
    const hint = `run the change again, or give back what they had: \`${restore}\``;
    if (err instanceof ValidationError) throw new ValidationError(message, err.fields, { hint, cause: err });
    if (err instanceof CancelledError) throw new AnkraError(`cancelled; ${gone}`, Exit.CANCELLED, { hint, cause: err });
    throw new AnkraError(message, exitCodeOf(err) || Exit.FAILURE, { hint, cause: err });
  }
  if (!grant) {
    throw new ConflictError(`could not create the new grant on ${cluster.label} after revoking the old one: another grant for ${email} took its place`, 409, {
      hint: `run \`ankra cluster access list ${shellWord(cluster.label)} --user ${shellWord(email)}\``,
    });
  }
  return grant;
}
