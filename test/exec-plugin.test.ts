// `ankra cluster kube-token` as kubectl runs it: the cache (hit, expiry margin, corrupt and
// foreign files), exactly one mint for 32 processes on a cold cache, no lookups when ids
// are given, and one clear stderr line (stdout empty) for each way it can fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ankra, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;
const mintPath = (id: string) => `/api/v1/clusters/${id}/k8s-token`;

function box(who: keyof typeof EMAIL | null, extra: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...(who ? { ANKRA_API_TOKEN: emu.tokens[EMAIL[who]] } : {}), ...extra });
  boxes.push(b);
  return b;
}

const plugin = (b: Sandbox, cluster: string, env: NodeJS.ProcessEnv = {}) => ankra(['cluster', 'kube-token', '--cluster', cluster], { env: { ...b.env, ...env } });
const tokenOf = (r: RunResult) => JSON.parse(r.stdout).status.token as string;
const tokenFiles = (b: Sandbox) => readdirSync(join(b.home, '.cache', 'ankra', 'tokens')).filter((f) => f.endsWith('.json'));

function expectFailure(r: RunResult, code: number, says: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(says);
}

/** Revoke and grant again (a role change): Ankra kills the user's tokens for the cluster. */
async function regrant(email: string, cluster: string, role = 'view'): Promise<void> {
  const admin = emu.tokens[EMAIL.admin];
  const list = await emu.api<{ result: { id: string; user_email: string }[] }>('GET', `/api/v1/clusters/${cluster}/access/grants`, { token: admin });
  for (const g of list.body.result.filter((x) => x.user_email === email)) {
    expect((await emu.api('DELETE', `/api/v1/clusters/${cluster}/access/grants/${g.id}`, { token: admin })).status).toBe(200);
  }
  expect((await emu.api('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: admin, body: { user_email: email, scope: 'cluster', role } })).status).toBe(201);
  await emu.hook('POST', 'reconcile/now');
}

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 0 });
  const grant = (email: string, cluster: string) =>
    emu.api('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[EMAIL.admin], body: { user_email: email, scope: 'cluster', role: 'view' } });
  for (const email of [EMAIL.alice, EMAIL.bob, EMAIL.admin]) expect((await grant(email, S)).status).toBe(201);
  expect((await grant(EMAIL.alice, P)).status).toBe(201);
  await emu.hook('POST', 'reconcile/now');
});
afterAll(async () => {
  await emu.stop();
  for (const b of boxes) b.cleanup();
});

describe('the token cache', () => {
  it('mints once with one POST and no lookups, then serves from a 0600 file without any request', async () => {
    const b = box('alice');
    await emu.clearRequests();
    const first = await plugin(b, S);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const cred = JSON.parse(first.stdout);
    expect(cred).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: expect.stringMatching(/^ankra_k8s_/) } });
    expect(Date.parse(cred.status.expirationTimestamp) - Date.now()).toBeGreaterThan(800_000);
    expect((await emu.requests()).map((e) => `${e.method} ${e.path}`)).toEqual([`POST ${mintPath(S)}`]);

    await emu.clearRequests();
    const second = await plugin(b, S);
    expect(tokenOf(second)).toBe(cred.status.token);
    expect(await emu.requests()).toEqual([]);

    const dir = join(b.home, '.cache', 'ankra', 'tokens');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of tokenFiles(b)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('answers in the ExecCredential version kubectl asks for', async () => {
    const b = box('alice');
    const info = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', spec: { interactive: false } });
    const r = await plugin(b, S, { KUBERNETES_EXEC_INFO: info });
    expect(JSON.parse(r.stdout).apiVersion).toBe('client.authentication.k8s.io/v1beta1');
    const hit = await plugin(b, S, { KUBERNETES_EXEC_INFO: info });
    expect(JSON.parse(hit.stdout).apiVersion).toBe('client.authentication.k8s.io/v1beta1');
  });

  it('keys the cache by cluster and login: another cluster or token mints its own', async () => {
    const b = box('alice');
    const a = tokenOf(await plugin(b, S));
    const other = tokenOf(await plugin(b, P));
    const asBob = tokenOf(await plugin(b, S, { ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] }));
    expect(new Set([a, other, asBob]).size).toBe(3);
    expect(tokenFiles(b)).toHaveLength(3);
  });

  it('32 plugin processes on a cold cache mint exactly once and all get the same token', async () => {
    const b = box('bob');
    await emu.clearRequests();
    const runs = await Promise.all(Array.from({ length: 32 }, () => plugin(b, S)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(new Set(runs.map(tokenOf)).size).toBe(1);
    expect(await emu.requests({ method: 'POST', path: mintPath(S) })).toHaveLength(1);
  });

  it('never serves a token within the margin of its expiry, nor an expired one', async () => {
    const b = box('alice');
    const first = tokenOf(await plugin(b, S));
    const [file] = tokenFiles(b);
    const path = join(b.home, '.cache', 'ankra', 'tokens', file ?? '');
    const entry = JSON.parse(readFileSync(path, 'utf8'));
    // 59 s left of a 69 s lifetime: inside the 60 s margin, so not served.
    writeFileSync(path, JSON.stringify({ ...entry, issued_at: new Date(Date.now() - 10_000).toISOString(), expires_at: new Date(Date.now() + 59_000).toISOString() }));
    const second = tokenOf(await plugin(b, S));
    expect(second).not.toBe(first);
    writeFileSync(path, JSON.stringify({ ...entry, token: 'stale-token', issued_at: new Date(Date.now() - 7200_000).toISOString(), expires_at: new Date(Date.now() - 3600_000).toISOString() }));
    const r = await plugin(b, S);
    expect(tokenOf(r)).not.toBe('stale-token');
    expect(Date.parse(JSON.parse(r.stdout).status.expirationTimestamp)).toBeGreaterThan(Date.now());
  });

  it.each([
    ['garbage', '\u0000\u0001not json'],
    ['truncated JSON', '{"v":1,"token":"abc'],
    ['a foreign shape', '{"access_token":"x","expiry":"2099-01-01T00:00:00Z"}'],
    ['a future version', '{"v":2,"token":"x","issued_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"}'],
  ])('ignores and replaces a cache file holding %s', async (_what, content) => {
    const b = box('alice');
    tokenOf(await plugin(b, S));
    const [file] = tokenFiles(b);
    const path = join(b.home, '.cache', 'ankra', 'tokens', file ?? '');
    writeFileSync(path, content);
    const r = await plugin(b, S);
    expect(r.code, r.stderr).toBe(0);
    expect(tokenOf(r)).toMatch(/^ankra_k8s_/);
    expect(JSON.parse(readFileSync(path, 'utf8')).v).toBe(1);
  });
});

describe('failures: one line on stderr naming the cause and the next command, stdout empty', () => {
  it('not logged in', async () => {
    expectFailure(await plugin(box(null), S), 6, /^ankra: not logged in to https:\/\/127\.0\.0\.1:\d+; run `ankra login`/);
  });

  it('a rejected token', async () => {
    expectFailure(await plugin(box(null, { ANKRA_API_TOKEN: 'ankra_pat_revoked_or_made_up_0000' }), S), 6, /rejected the API token from ANKRA_API_TOKEN .*; check ANKRA_API_TOKEN, or run `ankra login`/);
  });

  it('no grant: the grant line an admin would run, remembered for a few seconds', async () => {
    const b = box('bob');
    await emu.clearRequests();
    const r = await plugin(b, P);
    expectFailure(r, 6, /you have no access grant on cluster prod-eu .*ask an organisation admin to grant it: `ankra cluster access grant YOUR-EMAIL --cluster prod-eu`/);
    const again = await plugin(b, P);
    expect(again.stderr).toBe(r.stderr);
    expect(again.code).toBe(6);
    expect(await emu.requests({ path: mintPath(P) })).toHaveLength(1);
  });

  it('unknown cluster', async () => {
    expectFailure(await plugin(box('alice'), '00000000-0000-4000-8000-00000000beef'), 3, /cluster "00000000-0000-4000-8000-00000000beef" not found in this organisation; run `ankra cluster list`/);
  });

  it('a token one client process asks for twice is checked with the cluster first: served again while it works, replaced with one line once refused', async () => {
    const b = box('alice');
    const info = { KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } }) };
    const first = await plugin(b, S, info);
    // Same parent process (this test), same token: what client-go does after a 401, and what
    // the Python client does on every configuration load. The cluster still takes it: no mint.
    await emu.clearRequests();
    const again = await plugin(b, S, info);
    expect(again.stderr).toBe('');
    expect(tokenOf(again)).toBe(tokenOf(first));
    expect((await emu.requests()).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([`GET /api/v1/clusters/${S}/k8s/api 200`]);

    // Ankra kills the token (as when a grant is deleted): the next ask is answered with a new
    // token, and one line saying why this command failed.
    await emu.clearRequests();
    await regrant(EMAIL.alice, S);
    const replaced = await plugin(b, S, info);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(tokenOf(replaced)).not.toBe(tokenOf(first));
    expect(replaced.stderr).toBe('ankra: the cluster refused the cached token (your access was revoked or changed in Ankra), so this command failed; ankra has a new token now: run it again\n');
    expect(await emu.requests({ path: mintPath(S) })).toHaveLength(1);
    // Without KUBERNETES_EXEC_INFO (a person or a script), repeated calls are plain hits.
    await emu.clearRequests();
    expect(tokenOf(await plugin(b, S))).toBe(tokenOf(replaced));
    expect(tokenOf(await plugin(b, S))).toBe(tokenOf(replaced));
    expect(await emu.requests()).toEqual([]);
  });

  it('a cluster name is looked up once, then cached like an id', async () => {
    const b = box('alice');
    const r = await plugin(b, 'prod-eu');
    expect(r.code, r.stderr).toBe(0);
    await emu.clearRequests();
    expect(tokenOf(await plugin(b, 'prod-eu'))).toBe(tokenOf(r));
    expect(await emu.requests()).toEqual([]);
  });

  it('Cluster Access disabled', async () => {
    await emu.hook('POST', 'gateway', { enabled: false });
    try {
      expectFailure(await plugin(box('alice'), S), 1, /Cluster Access is not enabled for this cluster or Ankra deployment; ask your Ankra administrator/);
    } finally {
      await emu.hook('POST', 'gateway', { enabled: true });
    }
  });

  it('rate limited', async () => {
    await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 1 });
    try {
      // admin has minted nothing yet: one token a minute, then 429 with Retry-After
      expect((await plugin(box('admin'), S)).code).toBe(0);
      expectFailure(await plugin(box('admin'), S), 1, /rate limited by the Ankra API; try again in \d+ s/);
    } finally {
      await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 60 });
    }
  });

  it('server unreachable', async () => {
    expectFailure(await plugin(box('alice', { ANKRA_BASE_URL: 'https://127.0.0.1:9' }), S), 1, /cannot reach https:\/\/127\.0\.0\.1:9: connection refused; check --base-url/);
  });

  it('a server error after retries', async () => {
    await emu.hook('POST', 'faults', { path_prefix: mintPath(S), status: 503 });
    try {
      expectFailure(await plugin(box('alice'), S), 1, /cannot get a Kubernetes token for \S+: the Ankra API answered 503 .*after 3 attempts; try again later/);
    } finally {
      await emu.hook('DELETE', 'faults');
    }
  });

  it('bad arguments go to the full CLI for a usage error', async () => {
    const r = await ankra(['cluster', 'kube-token', '--cluster', S, '--bogus'], { env: box('alice').env });
    expectFailure(r, 2, /unknown option --bogus; see `ankra cluster kube-token --help`/);
    const missing = await ankra(['cluster', 'kube-token'], { env: box('alice').env });
    expectFailure(missing, 2, /--cluster is required/);
  });
});

describe('clock skew between this machine and Ankra', () => {
  it("moves the token's expiry onto the local clock (from the Date header) and still caches it", async () => {
    const skewed = await startEmulator({ reconcileDelayMs: 0 });
    try {
      // The server's clock runs an hour ahead of ours.
      await skewed.hook('POST', 'clock', { advance_s: 3600 });
      const g = await skewed.api('POST', `/api/v1/clusters/${S}/access/grants`, {
        token: skewed.tokens[EMAIL.admin],
        body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
      });
      expect(g.status).toBe(201);
      const b = sandbox({ ANKRA_BASE_URL: skewed.baseUrl, ANKRA_CA_FILE: skewed.caFile, ANKRA_API_TOKEN: skewed.tokens[EMAIL.alice] });
      boxes.push(b);
      const first = await plugin(b, S);
      expect(first.code, first.stderr).toBe(0);
      const expiresIn = Date.parse(JSON.parse(first.stdout).status.expirationTimestamp) - Date.now();
      // 900 s on Ankra's clock is 900 s on ours, not 4500 s.
      expect(expiresIn).toBeGreaterThan(880_000);
      expect(expiresIn).toBeLessThan(905_000);
      await skewed.clearRequests();
      expect(tokenOf(await plugin(b, S))).toBe(tokenOf(first));
      expect(await skewed.requests()).toEqual([]);
    } finally {
      await skewed.stop();
    }
  });
});
