/**
 * The access review: across every cluster, the grants an auditor should look at. Pure:
 * the command fetches the clusters, their grants and the organisation's users.
 */
import type { Cluster, Grant, OrganisationUser } from '../api/types';
import { age } from '../ui/output';
import { memberState, notActive } from './check';

export const FINDING_KINDS = ['failed', 'pending', 'offline', 'not-member', 'cluster-admin'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** A grant worth a look: the API's object, its cluster's name, the kind and why. */
export type Finding = Grant & { kind: FindingKind; cluster_name: string; detail: string };

export interface ReviewInput {
  clusters: ReadonlyArray<{ cluster: Cluster; grants: readonly Grant[] }>;
  users: readonly OrganisationUser[];
  now: number;
  /** Pending for longer than this is a finding. */
  pendingForMs: number;
}

export function reviewGrants(input: ReviewInput): Finding[] {
  const byEmail = new Map<string, OrganisationUser>();
  const byId = new Map<string, OrganisationUser>();
  for (const u of input.users) {
    if (u.email) byEmail.set(u.email.toLowerCase(), u);
    if (u.id) byId.set(u.id, u);
  }
  const findings: Finding[] = [];
  for (const { cluster, grants } of input.clusters) {
    for (const g of grants) {
      const add = (kind: FindingKind, detail: string) => findings.push({ ...g, kind, cluster_name: cluster.name, detail });
      if (g.reconcile_status === 'failed') add('failed', g.reconcile_error ?? 'failed to apply; no reason given');
      if (g.reconcile_status === 'pending') {
        const since = Date.parse(g.created_at);
        if (Number.isFinite(since) && input.now - since > input.pendingForMs) add('pending', `pending for ${age(g.created_at, input.now)}`);
      }
      if (cluster.state === 'offline') add('offline', `cluster ${cluster.name} is offline`);
      else if (g.reconcile_status === 'cluster_offline') add('offline', 'waits for the cluster to come back online');
      const member = (g.user_email ? byEmail.get(g.user_email.toLowerCase()) : undefined) ?? (g.ankra_user_id ? byId.get(g.ankra_user_id) : undefined);
      if (!member || memberState(member) !== 'active') add('not-member', notActive(member));
      if (g.role === 'cluster-admin') add('cluster-admin', 'full control of the whole cluster');
    }
  }
  const order = (k: FindingKind) => FINDING_KINDS.indexOf(k);
  return findings.sort((a, b) => order(a.kind) - order(b.kind) || a.cluster_name.localeCompare(b.cluster_name) || (a.user_email ?? '').localeCompare(b.user_email ?? ''));
}

export function countKinds(findings: readonly Finding[]): Record<FindingKind, number> {
  const counts = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  for (const f of findings) counts[f.kind]++;
  return counts;
}
