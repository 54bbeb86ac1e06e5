// `ankra doctor` against the emulator: one test per broken link (each state makes the
// expected check fail with its fix and exit code, later checks skipped), and the healthy
// case, in both table and json form. Started from a kubectl context, doctor uses exactly
// what the context pins (a second organisation's cluster included).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ankra, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { SKIP_KUBECTL } from './helpers/kubectl';
import type { DoctorReport } from '../src/commands/doctor';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;
const CHECKS = ['server', 'login', 'organisation', 'cluster', 'cached-token', 'cluster-access', 'grant', 'token', 'kubeconfig', 'kubernetes', 'namespace', 'permissions'];

function box(env: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...env });
  boxes.push(b);
  return b;
}

/** A sandbox logged in as `email` (with that user's API token) with the kubectl context for `cluster` added. */
async function member(email: string, cluster: string, namespace?: string, org?: string): Promise<Sandbox> {
  const b = box();
  const login = await ankra(['login', '--with-token'], { env: b.env, input: emu.tokens[email] });
  expect(login.code, login.stderr).toBe(0);
  const add = await ankra([...(org ? ['--org', org] : []), 'cluster', 'kubeconfig', 'add', cluster, '--use', ...(namespace ? ['--namespace', namespace] : [])], { env: b.env });
  expect(add.code, add.stderr).toBe(0);
  return b;
}

async function grant(email: string, cluster: string, body: Record<string, unknown> = { scope: 'cluster', role: 'view' }, org?: string) {
  const r = await emu.api('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[org ? EMAIL.globexAdmin : EMAIL.admin], org, body: { user_email: email, ...body } });
  expect([200, 201]).toContain(r.status);
  return r.body as { grant: { id: string } };
}

async function doctor(b: Sandbox, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const r = await ankra(['doctor', '-o', 'json', ...args], { env: { ...b.env, ...env } });
  const report = JSON.parse(r.stdout) as DoctorReport;
  return { ...r, report };
}

/** The report fails at `check` with a detail and a fix, after every earlier check passed. */
function expectBrokenAt(report: DoctorReport, check: string, detail: RegExp, fix: RegExp): void {
  expect(report.ok).toBe(false);
  expect(report.checks.map((c) => c.check)).toEqual(CHECKS);
  const i = CHECKS.indexOf(check);
  expect(report.checks.slice(0, i).map((c) => c.status)).toEqual(Array(i).fill('ok'));
  const failed = report.checks[i];
  expect(failed?.status).toBe('fail');
  expect(failed?.detail).toMatch(detail);
  expect(failed?.fix).toMatch(fix);
  expect(report.checks.slice(i + 1).every((c) => c.status === 'skip')).toBe(true);
}

describe.skipIf(SKIP_KUBECTL)('ankra doctor', () => {
  let healthy: Sandbox;
  beforeAll(async () => {
    emu = await startEmulator({ reconcileDelayMs: 0 });
    await grant(EMAIL.alice, S, { scope: 'namespace', namespace: 'team-a', role: 'edit' });
    await emu.hook('POST', 'reconcile/now');
    healthy = await member(EMAIL.alice, 'staging', 'team-a');
  });
  afterAll(async () => {
    await emu.stop();
    for (const b of boxes) b.cleanup();
  });

  it('healthy: every check passes, exit 0; the table form says kubectl should work', async () => {
    const { code, report } = await doctor(healthy);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual(CHECKS.map((c) => [c, 'ok']));
    expect(report).toMatchObject({ organisation: 'acme', cluster: 'staging', context: 'ankra-staging' });
    expect(report.checks.find((c) => c.check === 'kubernetes')?.detail).toContain('you are alice@acme.test');
    // a member cannot read grants: the token proves one exists
    expect(report.checks.find((c) => c.check === 'grant')?.detail).toMatch(/you have a grant/);
    const table = await ankra(['doctor'], { env: healthy.env });
    expect(table.code).toBe(0);
    // piped: words, not glyphs
    expect(table.stdout).toMatch(/^ok {2}permissions\s+you may list pods in team-a/m);
    expect(table.stdout).not.toContain('✓');
    expect(table.stdout).toContain('kubectl should work: kubectl --context ankra-staging get pods');
  });

  it('a cached token the cluster refuses (the grant was revoked and given again) is dropped, and doctor says so', async () => {
    const b = await member(EMAIL.alice, 'staging', 'team-a');
    // kubectl's first call: the token is cached under the context's key.
    const kubeToken = await ankra(['cluster', 'kube-token', '--cluster', S, '--org', IDS.orgs.acme], { env: b.env });
    expect(kubeToken.code, kubeToken.stderr).toBe(0);
    const cached = JSON.parse(kubeToken.stdout).status.token as string;
    const first = await doctor(b);
    expect(first.report.checks.find((c) => c.check === 'cached-token')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/the cluster accepts/) });

    // Revoking kills the user's tokens for the cluster; a new grant does not revive them.
    const admin = emu.tokens[EMAIL.admin];
    const grants = await emu.api<{ result: { id: string; user_email: string }[] }>('GET', `/api/v1/clusters/${S}/access/grants`, { token: admin });
    const mine = grants.body.result.filter((g) => g.user_email === EMAIL.alice);
    for (const g of mine) expect((await emu.api('DELETE', `/api/v1/clusters/${S}/access/grants/${g.id}`, { token: admin })).status).toBe(200);
    await grant(EMAIL.alice, S, { scope: 'namespace', namespace: 'team-a', role: 'edit' });
    await emu.hook('POST', 'reconcile/now');

    const { code, report } = await doctor(b);
    expect(report.checks.find((c) => c.check === 'cached-token')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/refused the cached Kubernetes token .*dropped it/) });
    // The rest goes on with a new token: everything passes.
    expect(code, JSON.stringify(report.checks)).toBe(0);
    const again = await ankra(['cluster', 'kube-token', '--cluster', S, '--org', IDS.orgs.acme], { env: b.env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).status.token).not.toBe(cached);
  });

  it('takes the cluster as a positional or as --cluster', async () => {
    for (const args of [['staging'], ['--cluster', 'staging']]) {
      const { code, report } = await doctor(healthy, args);
      expect(code).toBe(0);
      expect(report.cluster).toBe('staging');
    }
  });

  it("a context of the user's other organisation is checked with the organisation it pins", async () => {
    await grant(EMAIL.bob, IDS.clusters.globexStaging, { scope: 'cluster', role: 'view' }, IDS.orgs.globex);
    await emu.hook('POST', 'reconcile/now');
    // bob's current organisation is acme; the context was added for globex's staging
    const b = await member(EMAIL.bob, 'staging', undefined, 'globex');
    const { code, report } = await doctor(b);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({ organisation: 'globex', cluster: 'staging', context: 'ankra-staging' });
    expect(report.checks.find((c) => c.check === 'organisation')?.detail).toContain('pinned by kubectl context ankra-staging');
  });

  it('server unreachable → server, exit 1', async () => {
    const { code, report } = await doctor(box(), ['--cluster', S], { ANKRA_BASE_URL: 'https://127.0.0.1:9' });
    expect(code).toBe(1);
    expectBrokenAt(report, 'server', /cannot reach https:\/\/127\.0\.0\.1:9: connection refused/, /--base-url/);
  });

  it('TLS not trusted → server, exit 1', async () => {
    const { code, report } = await doctor(box({ ANKRA_CA_FILE: undefined }), ['--cluster', S]);
    expect(code).toBe(1);
    expectBrokenAt(report, 'server', /TLS verification failed/, /--ca-file/);
  });

  it('not logged in → login, exit 6', async () => {
    const { code, report } = await doctor(box(), ['--cluster', S]);
    expect(code).toBe(6);
    expectBrokenAt(report, 'login', /not logged in/, /ankra login/);
  });

  it('a rejected credential → login, exit 6', async () => {
    const { code, report } = await doctor(box({ ANKRA_API_TOKEN: 'ankra_pat_nope_nope_nope_nope_0000' }), ['--cluster', S]);
    expect(code).toBe(6);
    expectBrokenAt(report, 'login', /rejected the API token from ANKRA_API_TOKEN/, /ANKRA_API_TOKEN/);
  });

  it('an organisation one is not in → organisation, exit 6', async () => {
    const { code, report } = await doctor(box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] }), ['--cluster', S, '--org', IDS.orgs.globex]);
    expect(code).toBe(6);
    expectBrokenAt(report, 'organisation', /not a member/, /org/);
  });

  it('cluster not found → cluster, exit 3', async () => {
    const { code, report } = await doctor(box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] }), ['--cluster', 'nope']);
    expect(code).toBe(3);
    expectBrokenAt(report, 'cluster', /cluster "nope" not found/, /ankra cluster list/);
  });

  it('an offline cluster is its own failure, with the real cause → cluster, exit 5', async () => {
    await emu.hook('POST', `clusters/${S}`, { online: false });
    try {
      const { code, report } = await doctor(healthy);
      expect(code).toBe(5);
      expectBrokenAt(report, 'cluster', /staging is offline: its Ankra agent is disconnected; kubectl will fail until it reconnects/, /Ankra agent/);
    } finally {
      await emu.hook('POST', `clusters/${S}`, { online: true });
    }
  });

  it('Cluster Access disabled, and a sandbox → cluster-access, exit 1', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    const sandboxCluster = await doctor(b, ['--cluster', 'sandbox-1']);
    expect(sandboxCluster.code).toBe(1);
    expectBrokenAt(sandboxCluster.report, 'cluster-access', /not available for sandbox clusters \(sandbox-1 is one\)/, /use a non-sandbox cluster/);
    await emu.hook('POST', 'gateway', { enabled: false });
    try {
      const { code, report } = await doctor(b, ['--cluster', S]);
      expect(code).toBe(1);
      expectBrokenAt(report, 'cluster-access', /Cluster Access is not enabled for this cluster or Ankra deployment/, /enable the access gateway/);
    } finally {
      await emu.hook('POST', 'gateway', { enabled: true });
    }
  });

  it('no grant → grant, exit 6, with the line an admin would run (with the real email)', async () => {
    const { code, report } = await doctor(box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] }), ['--cluster', 'prod-eu']);
    expect(code).toBe(6);
    expectBrokenAt(report, 'grant', /no access grant on prod-eu/, /^ask an organisation admin to run `ankra cluster access grant bob@acme\.test --cluster prod-eu`$/);
  });

  it('an admin sees their own grant pending or failed → grant, exit 1', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] });
    await emu.hook('POST', 'reconcile', { delay_ms: 600_000 });
    const g = await grant(EMAIL.admin, P);
    await emu.hook('POST', 'reconcile', { delay_ms: 0 });
    const pending = await doctor(b, ['--cluster', 'prod-eu']);
    expectBrokenAt(pending.report, 'grant', /still pending/, /ankra cluster access wait [0-9a-f-]{36} --cluster prod-eu/);
    await emu.api('DELETE', `/api/v1/clusters/${P}/access/grants/${g.grant.id}`, { token: emu.tokens[EMAIL.admin] });

    await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: 'RoleBinding rejected by admission webhook' });
    const failedGrant = await grant(EMAIL.admin, P);
    await emu.hook('POST', 'reconcile/now');
    const failed = await doctor(b, ['--cluster', 'prod-eu']);
    expect(failed.code).toBe(1);
    expectBrokenAt(failed.report, 'grant', /failed to apply: RoleBinding rejected by admission webhook/, /--replace/);
    await emu.api('DELETE', `/api/v1/clusters/${P}/access/grants/${failedGrant.grant.id}`, { token: emu.tokens[EMAIL.admin] });
  });

  it('no token can be minted (rate limited) → grant (a token is the proof), exit 1', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${S}/k8s-token`, status: 429, retry_after_s: 90 });
    try {
      const { code, report } = await doctor(b, ['--cluster', S]);
      expect(code).toBe(1);
      expectBrokenAt(report, 'grant', /rate limited/, /try again in 90 s/);
    } finally {
      await emu.hook('DELETE', 'faults');
    }
  });

  it('no kubectl context, or one that runs another ankra → kubeconfig, exit 1', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    const none = await doctor(b, ['--cluster', S]);
    expectBrokenAt(none.report, 'kubeconfig', /no kubectl context for staging/, /ankra cluster kubeconfig add staging/);
    // A context whose command is another copy of ankra.
    const other = join(b.dir, 'other-ankra');
    mkdirSync(other);
    symlinkSync('/bin/true', join(other, 'ankra'));
    const add = await ankra(['cluster', 'kubeconfig', 'add', 'staging', '--exec-command', join(other, 'ankra')], { env: b.env });
    expect(add.code, add.stderr).toBe(0);
    const wrong = await doctor(b, ['--cluster', S]);
    expect(wrong.code).toBe(1);
    expectBrokenAt(wrong.report, 'kubeconfig', /runs \/(usr\/)?bin\/true, not this ankra/, /kubeconfig add staging/);
  });

  it('the cluster behind the proxy does not answer → kubernetes, exit 1', async () => {
    const b = await member(EMAIL.alice, 'staging', 'team-a');
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${S}/k8s/apis/authentication.k8s.io`, status: 503, detail: 'cluster agent disconnected' });
    try {
      const { code, report } = await doctor(b);
      expect(code).toBe(1);
      expectBrokenAt(report, 'kubernetes', /answered 503/, /kubectl get --raw \/version/);
    } finally {
      await emu.hook('DELETE', 'faults');
    }
  });

  it('a CA that only NODE_EXTRA_CA_CERTS supplies (kubectl ignores it) → kubernetes, exit 1', async () => {
    // ankra itself trusts the emulator through NODE_EXTRA_CA_CERTS, so no CA lands in the
    // kubeconfig, and kubectl would refuse the proxy's certificate: doctor must say so.
    const b = box({ ANKRA_CA_FILE: undefined, NODE_EXTRA_CA_CERTS: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    const add = await ankra(['cluster', 'kubeconfig', 'add', 'staging', '--use', '--namespace', 'team-a'], { env: b.env });
    expect(add.code, add.stderr).toBe(0);
    const { code, report } = await doctor(b);
    expect(code).toBe(1);
    expectBrokenAt(report, 'kubernetes', /kubectl would not trust the certificate/, /--ca-file CA\.pem cluster kubeconfig add/);
  });

  it("an admin's context in another namespace than granted → namespace, exit 1", async () => {
    await grant(EMAIL.admin, S, { scope: 'namespace', namespace: 'team-a', role: 'view' });
    await emu.hook('POST', 'reconcile/now');
    const b = await member(EMAIL.admin, 'staging', 'kube-system');
    const { code, report } = await doctor(b);
    expect(code).toBe(1);
    expectBrokenAt(report, 'namespace', /uses namespace kube-system, but your grant is for team-a/, /kubectl config set-context ankra-staging --namespace team-a/);
  });

  it("a member whose context's namespace is not allowed → permissions, exit 1", async () => {
    // A member cannot read grants, so the namespace check cannot tell; the cluster itself
    // (SelfSubjectAccessReview) then says no.
    const b = await member(EMAIL.alice, 'staging', 'kube-system');
    const { code, report } = await doctor(b);
    expect(code).toBe(1);
    expect(report.checks.find((c) => c.check === 'namespace')?.detail).toContain('visible to organisation admins only');
    expectBrokenAt(report, 'permissions', /may not list pods in kube-system/, /ankra cluster access list staging --user alice@acme\.test/);
  });

  it('uses the current kubectl context when no cluster is given', async () => {
    const { report } = await doctor(healthy);
    expect(report.cluster).toBe('staging');
  });
});
