/**
 * `ankra cluster access review`: across every cluster, the grants to look at: failed ones,
 * long-pending ones, those on offline clusters, those of people who are no longer active
 * members, and every cluster-admin. `--fail-on` makes CI fail when a kind is present.
 */
import { defineCommand, flag } from '../../../cli/spec';
import type { Cluster, Grant } from '../../../api/types';
import { UsageError, messageOf } from '../../../errors';
import { seconds } from '../../../core/time';
import { FOUND_EXIT } from '../../../access/docs';
import { organisationView } from '../../../access/org';
import { FINDING_KINDS, countKinds, reviewGrants, type Finding, type FindingKind } from '../../../access/review';
import { accessCapable, fanOut, reportFailures } from '../../shared/fanout';
import { grantee, grantsOn, statusStyle } from '../../shared/grants';
import { parseDuration } from '../../shared/values';
import type { Style } from '../../../ui/output';

const KIND_STYLE: Record<FindingKind, Style> = { failed: 'red', pending: 'yellow', offline: 'magenta', 'not-member': 'red', 'cluster-admin': 'cyan' };

const KIND_WORDS: Record<FindingKind, string> = {
  failed: 'failed',
  pending: 'pending too long',
  offline: 'on offline clusters',
  'not-member': 'of people no longer active members',
  'cluster-admin': 'cluster-admin',
};

function parseKinds(v: string): FindingKind[] {
  const kinds = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (kinds.length === 0) throw new UsageError(`expected kinds such as failed,not-member (${FINDING_KINDS.join(', ')}, or any)`);
  const out = new Set<FindingKind>();
  for (const k of kinds) {
    if (k === 'any') FINDING_KINDS.forEach((x) => out.add(x));
    else if ((FINDING_KINDS as readonly string[]).includes(k)) out.add(k as FindingKind);
    else throw new UsageError(`unknown kind ${JSON.stringify(k)}: choose ${FINDING_KINDS.join(', ')} or any`);
  }
  return [...out];
}

export default defineCommand({
  path: ['cluster', 'access', 'review'],
  summary: 'review the grants on every cluster: failed, long pending, offline, former members, cluster-admin',
  details: `Kinds: failed (with the reconcile error) · pending (longer than --pending-for) · offline (the cluster is offline, or the grant waits for it) · not-member (the person is no longer an active member of the organisation) · cluster-admin (every one). -o json|yaml prints the whole report for auditors.

Exit codes: 0 reviewed · ${FOUND_EXIT} a kind given to --fail-on was found · 1 some clusters could not be reviewed (named on stderr; this wins over ${FOUND_EXIT}) · 6 authentication · 7 permission (listing grants needs an organisation admin).`,
  args: {},
  flags: {
    pendingFor: flag.parsed('duration', 'report grants pending for longer than this (e.g. 90s, 10m, 1h)', parseDuration, { fallback: 600_000, fallbackText: '10m' }),
    failOn: flag.parsed('kinds', `exit ${FOUND_EXIT} when any of these is found: ${FINDING_KINDS.join(', ')}, or any (comma-separated)`, parseKinds),
  },
  examples: ['ankra cluster access review', 'ankra cluster access review --fail-on failed,not-member -o json > review.json', 'ankra cluster access review --pending-for 30m'],
  async run(opts, deps) {
    const { clusters: all, users } = await organisationView(deps);
    const outcomes = await fanOut(deps, accessCapable(all), 'Reviewing grants', (c) => grantsOn(deps, { id: c.id, label: c.name }));
    const code = reportFailures(deps, outcomes, 'review its grants');
    const listed = outcomes.filter((o): o is { cluster: Cluster; value: Grant[] } => o.value !== undefined);
    // Pending ages on the server's clock, which stamped `created_at`.
    const now = (await deps.api()).serverTime(deps.now());
    const findings = reviewGrants({ clusters: listed.map((o) => ({ cluster: o.cluster, grants: o.value })), users, now, pendingForMs: opts.pendingFor });
    const counts = countKinds(findings);
    const grants = listed.reduce((n, o) => n + o.value.length, 0);
    const report = {
      reviewed: { clusters: listed.length, grants },
      pending_for_s: Math.round(opts.pendingFor / 1000),
      counts,
      findings,
      errors: outcomes.filter((o) => o.error !== undefined).map((o) => ({ cluster: o.cluster.name, cluster_id: o.cluster.id, error: messageOf(o.error) })),
    };
    if (deps.out.machine) await deps.out.result(report);
    else {
      await deps.out.data(findings, {
        columns: [
          { header: 'Kind', value: (f: Finding) => f.kind, style: (f) => KIND_STYLE[f.kind] },
          { header: 'Cluster', value: (f) => f.cluster_name, flex: true },
          { header: 'User', value: (f) => grantee(f) },
          { header: 'Namespace', value: (f) => (f.scope === 'namespace' ? (f.namespace ?? '?') : '*') },
          { header: 'Role', value: (f) => f.role },
          { header: 'Status', value: (f) => f.reconcile_status, style: (f) => statusStyle(f.reconcile_status) },
          { header: 'Age', value: () => '', time: (f) => f.created_at },
          { header: 'Detail', value: (f) => f.detail, flex: true },
          { header: 'ID', value: (f) => f.id, wide: true },
        ],
        name: (f) => f.id,
      });
    }
    const found = FINDING_KINDS.filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${KIND_WORDS[k]}`);
    const what = k(grants, 'grant');
    deps.out.info(`Reviewed ${what} on ${k(listed.length, 'cluster')}: ${found.length ? found.join(', ') : 'nothing to report'}${counts.pending ? ` (pending: more than ${seconds(opts.pendingFor)})` : ''}`);
    if (code) return code;
    const hits = (opts.failOn ?? []).filter((x) => counts[x] > 0);
    if (hits.length) {
      deps.out.warn(`--fail-on: found ${hits.map((x) => `${x} (${counts[x]})`).join(', ')}`);
      return FOUND_EXIT;
    }
    return 0;
  },
});

function k(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
