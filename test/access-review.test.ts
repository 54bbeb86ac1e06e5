// `ankra cluster access review`, the built binary against the emulator: one organisation
// holding every kind of finding (a failed grant, a long-pending one, one on an offline
// cluster, one of a removed member, a cluster-admin), reported as JSON for auditors, as a
// table piped and on a terminal, with --fail-on exit codes and a 5xx on one cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ANKRA_BIN, ankra, findSecrets, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import type { Grant } from '../src/api/types';

let emu: InProcessEmulator;
let box: Sandbox;
const runs: RunResult[] = [];
const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;
const DAVE = 'dave@acme.test';
const HOSTILE_ERROR = 'admission webhook \u001b[2Jdenied\nthe RoleBinding';

interface Report {
  reviewed: { clusters: number; grants: number };
  pending_for_s: number;
  counts: Record<string, number>;
  findings: Array<Grant & { kind: string; cluster_name: string; detail: string }>;
  errors: Array<{ cluster: string; cluster_id: string; error: string }>;
}

async function admin(args: string[]): Promise<RunResult> {
  const r = await ankra(args, { env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] } });
  runs.push(r);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

async function grant(cluster: string, email: string, role: string, namespace?: string): Promise<Grant> {
  const body = { user_email: email, scope: namespace ? 'namespace' : 'cluster', role, ...(namespace ? { namespace } : {}) };
  const r = await emu.api<{ grant: Grant }>('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[EMAIL.admin], body });
  expect(r.status, r.text).toBe(201);
  return r.body.grant;
}


beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 20 });
  box = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
  await grant(S, EMAIL.alice, 'view');
  await grant(S, EMAIL.admin, 'cluster-admin');
  await emu.hook('POST', 'users', { email: DAVE });
  await grant(S, DAVE, 'edit', 'team-a');
  const edge = await emu.hook<{ id: string }>('POST', 'clusters', { name: 'edge-1' });
  await grant(edge.id, EMAIL.alice, 'view', 'default');
  await emu.hook('POST', 'reconcile/now');
  await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: HOSTILE_ERROR });
  await grant(P, EMAIL.bob, 'view', 'team-a');
  await emu.hook('POST', 'reconcile/now');
  await emu.hook('POST', 'members/remove', { email: DAVE });
  await emu.hook('POST', `clusters/${edge.id}`, { online: false });
  // One grant that stays pending.
  await emu.hook('POST', 'reconcile', { delay_ms: 3_600_000 });
  await grant(P, EMAIL.alice, 'edit', 'staging');
  // Half a minute passes on the platform's clock (not on this machine's): the review measures
  // pending ages on the server's clock, from the answers' Date headers.
  await emu.hook('POST', 'clock', { advance_s: 30 });
  await emu.clearRequests();
});

afterAll(async () => {
  expect(findSecrets(runs.flatMap((r) => [r.stdout, r.stderr]), Object.values(emu.tokens))).toEqual([]);
  await emu.stop();
  box.cleanup();
});

describe('access review', () => {
  it('-o json reports every kind across clusters, with the grants as the API sent them', async () => {
    const r = await admin(['cluster', 'access', 'review', '--pending-for', '20s', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.reviewed).toEqual({ clusters: 3, grants: 6 });
    expect(report.pending_for_s).toBe(20);
    expect(report.counts).toEqual({ failed: 1, pending: 1, offline: 1, 'not-member': 1, 'cluster-admin': 1 });
    expect(report.errors).toEqual([]);
    const by = (kind: string) => report.findings.filter((f) => f.kind === kind);
    expect(by('failed')).toMatchObject([{ cluster_name: 'prod-eu', user_email: EMAIL.bob, reconcile_status: 'failed', reconcile_error: HOSTILE_ERROR, detail: HOSTILE_ERROR }]);
    expect(by('pending')).toMatchObject([{ cluster_name: 'prod-eu', user_email: EMAIL.alice, namespace: 'staging', reconcile_status: 'pending' }]);
    expect(by('pending')[0]?.detail).toMatch(/^pending for (29|30|31)s$/);
    expect(by('offline')).toMatchObject([{ cluster_name: 'edge-1', user_email: EMAIL.alice, detail: 'cluster edge-1 is offline' }]);
    expect(by('not-member')).toMatchObject([{ cluster_name: 'staging', user_email: DAVE, detail: 'not a member of the organisation any more' }]);
    expect(by('cluster-admin')).toMatchObject([{ cluster_name: 'staging', user_email: EMAIL.admin, role: 'cluster-admin', scope: 'cluster' }]);
    expect(report.findings.map((f) => f.kind)).toEqual(['failed', 'pending', 'offline', 'not-member', 'cluster-admin']);
    expect(r.stderr).toContain('Reviewed 6 grants on 3 clusters: 1 failed, 1 pending too long, 1 on offline clusters, 1 of people no longer active members, 1 cluster-admin (pending: more than 20s)');
    // Exactly the contract's calls: the organisations, its users, the clusters, one grant list per cluster.
    expect((await emu.requests()).map((e) => `${e.method} ${e.path.replace(/[0-9a-f-]{36}/g, 'ID')}`).sort()).toEqual([
      'GET /api/v1/clusters',
      'GET /api/v1/clusters/ID/access/grants',
      'GET /api/v1/clusters/ID/access/grants',
      'GET /api/v1/clusters/ID/access/grants',
      'GET /api/v1/org/organisation',
      'GET /api/v1/org/organisation/ID',
    ]);
    expect(await emu.offContract()).toEqual([]);
  });

  it('reports pending grants only beyond --pending-for (10m unless given); -o yaml prints the same report', async () => {
    const r = await admin(['cluster', 'access', 'review', '-o', 'yaml']);
    expect(r.code).toBe(0);
    const report = parseYaml(r.stdout) as Report;
    expect(report.pending_for_s).toBe(600);
    expect(report.counts.pending).toBe(0);
    expect(report.counts.failed).toBe(1);
  });

  it('--fail-on makes CI fail (exit 10) when a listed kind is present, and only then', async () => {
    const failed = await admin(['cluster', 'access', 'review', '--fail-on', 'failed,not-member']);
    expect(failed.code).toBe(10);
    expect(failed.stderr).toContain('warning: --fail-on: found failed (1), not-member (1)');
    expect((await admin(['cluster', 'access', 'review', '--fail-on', 'pending'])).code).toBe(0);
    expect((await admin(['cluster', 'access', 'review', '--fail-on', 'any'])).code).toBe(10);
    const bad = await admin(['cluster', 'access', 'review', '--fail-on', 'failed,bogus']);
    expect([bad.code, bad.stderr]).toEqual([2, 'ankra: invalid --fail-on "failed,bogus": unknown kind "bogus": choose failed, pending, offline, not-member, cluster-admin or any\n']);
  });

  it('piped, prints one tab-separated row per finding with server text on one clean line', async () => {
    const r = await admin(['cluster', 'access', 'review']);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((c) => c.slice(0, 6))).toEqual([
      ['failed', 'prod-eu', EMAIL.bob, 'team-a', 'view', 'failed'],
      ['offline', 'edge-1', EMAIL.alice, 'default', 'view', 'applied'],
      ['not-member', 'staging', DAVE, 'team-a', 'edit', 'applied'],
      ['cluster-admin', 'staging', EMAIL.admin, '*', 'cluster-admin', 'applied'],
    ]);
    expect(rows[0]?.[7]).toBe('admission webhook denied the RoleBinding');
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/\u001b/);
  });

  it('on a terminal, the table fits the width, cutting the detail', async () => {
    const r = await runProgram('script', ['-qec', `stty cols 96 rows 40; '${process.execPath}' '${ANKRA_BIN}' cluster access review`, '/dev/null'], {
      env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin], TERM: 'xterm' },
      timeoutMs: 20_000,
    });
    runs.push(r);
    expect(r.code, r.stdout).toBe(0);
    // eslint-disable-next-line no-control-regex
    const lines = r.stdout.replace(/\u001b\[[0-9;]*m/g, '').split(/\r?\n/).filter((l) => l.trim());
    const table = lines.filter((l) => /^(KIND|failed|offline|not-member|cluster-admin)\s/.test(l));
    expect(table[0]).toMatch(/^KIND\s+CLUSTER\s+USER\s+NAMESPACE\s+ROLE\s+STATUS\s+AGE\s+DETAIL$/);
    expect(table).toHaveLength(5);
    for (const l of table) expect([...l].length).toBeLessThanOrEqual(96);
    expect(table[1]).toMatch(/^failed\s+prod-eu\s+bob@acme.test\s+team-a\s+view\s+failed\s+\S+\s+admission .*…$/);
  });

  it('a 5xx on one cluster is named and exits 1 (even with --fail-on); the other clusters are still reviewed', async () => {
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${P}/access/grants`, method: 'GET', status: 503 });
    try {
      const r = await admin(['cluster', 'access', 'review', '--fail-on', 'any', '-o', 'json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('warning: prod-eu: could not review its grants: cannot list the grants on prod-eu: the Ankra API answered 503');
      const report = JSON.parse(r.stdout) as Report;
      expect(report.reviewed.clusters).toBe(2);
      expect(report.errors).toMatchObject([{ cluster: 'prod-eu', cluster_id: P }]);
      expect(report.counts).toMatchObject({ failed: 0, offline: 1, 'not-member': 1, 'cluster-admin': 1 });
    } finally {
      await emu.hook('DELETE', 'faults');
    }
  });

  it('needs an organisation admin: a member gets exit 7', async () => {
    const r = await ankra(['cluster', 'access', 'review'], { env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] } });
    runs.push(r);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('needs an organisation admin');
    expect(await emu.offContract()).toEqual([]);
  });
});
