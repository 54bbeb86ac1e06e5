// Dead cached tokens and wasted mints, with the real clients of the exec plugin against the
// emulator: Ankra kills a user's tokens when their grant is deleted (a role change is revoke
// + grant). @kubernetes/client-node never re-runs the plugin after a 401, so the plugin's
// background check must drop the dead token for the next process; kubectl re-runs it after
// a 401 and gets a new token with one line saying why this command failed; the Python
// client runs the plugin on every configuration load, which must not mint each time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ANKRA_BIN, ROOT, ankra, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { IN_CI, SKIP_KUBECTL, assertKubectl, kubectl } from './helpers/kubectl';
import { checkCachedToken } from '../src/exec/check';
import { resolve } from '../src/auth/source';
import { resolvePaths } from '../src/core/paths';

const S = IDS.clusters.staging;
const mintPath = `/api/v1/clusters/${S}/k8s-token`;
const checkPath = `/api/v1/clusters/${S}/k8s/api`;
const PYTHON = '/usr/bin/python3';
const HAS_PYTHON_CLIENT = spawnSync(PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore' }).status === 0;
if (!HAS_PYTHON_CLIENT && !IN_CI) console.warn(`skipped: the Python client tests need ${PYTHON} with the kubernetes module: apt-get install -y python3-kubernetes`);
const REPLACED = 'ankra: the cluster refused the cached token (your access was revoked or changed in Ankra), so this command failed; ankra has a new token now: run it again';
const NO_GRANT = 'ankra: you have no access grant on cluster staging (none yet, or it was revoked)';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];

const mints = async () => (await emu.requests({ method: 'POST', path: mintPath })).length;
const checks = async () => (await emu.requests({ method: 'GET', path: checkPath })).filter((e) => e.path === checkPath);
const count = (text: string, line: string) => text.split('\n').filter((l) => l.startsWith(line)).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sandbox with a kubeconfig whose user runs the built plugin as alice. */
function box(): Sandbox & { kubeconfig: string } {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
  boxes.push(b);
  const kubeconfig = join(b.dir, 'kubeconfig.yaml');
  const ca = Buffer.from(emu.caPem).toString('base64');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: s, cluster: {server: "${emu.proxyBaseUrl}/api/v1/clusters/${S}/k8s", certificate-authority-data: ${ca}}}]`,
      `users: [{name: s, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${ANKRA_BIN}, args: [cluster, kube-token, --cluster, ${S}, --ca-file, ${emu.caFile}], interactiveMode: Never}}}]`,
      'contexts: [{name: s, context: {cluster: s, user: s, namespace: default}}]',
      'current-context: s',
      '',
    ].join('\n'),
  );
  return { ...b, kubeconfig, env: { ...b.env, KUBECONFIG: kubeconfig } };
}

/** Delete alice's grants on the cluster (Ankra kills her tokens), then grant `role` if given. */
async function regrant(role?: string): Promise<void> {
  const admin = emu.tokens[EMAIL.admin];
  const list = await emu.api<{ result: { id: string; user_email: string }[] }>('GET', `/api/v1/clusters/${S}/access/grants`, { token: admin });
  for (const g of list.body.result.filter((x) => x.user_email === EMAIL.alice)) {
    expect((await emu.api('DELETE', `/api/v1/clusters/${S}/access/grants/${g.id}`, { token: admin })).status).toBe(200);
  }
  if (role) {
    const g = await emu.api('POST', `/api/v1/clusters/${S}/access/grants`, { token: admin, body: { user_email: EMAIL.alice, scope: 'cluster', role } });
    expect(g.status).toBe(201);
    await emu.hook('POST', 'reconcile/now');
  }
}

const tokenDir = (b: Sandbox) => join(b.home, '.cache', 'ankra', 'tokens');
const entryFile = (b: Sandbox) => {
  const f = readdirSync(tokenDir(b)).find((n) => n.endsWith('.json'));
  return f ? join(tokenDir(b), f) : undefined;
};
/** Make the cached token look minted a minute ago (a check is due for it; no waiting). */
function age(b: Sandbox): void {
  const file = entryFile(b) as string;
  const e = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...e, issued_at: new Date(Date.now() - 60_000).toISOString() }));
}
const plugin = (b: Sandbox, env: NodeJS.ProcessEnv = {}) => ankra(['cluster', 'kube-token', '--cluster', S, '--ca-file', emu.caFile], { env: { ...b.env, ...env } });
const tokenOf = (r: RunResult) => JSON.parse(r.stdout).status.token as string;

/** client-node in its own process: pods, namespaces and secrets of `default`, or the HTTP status. */
const clientNode = (b: Sandbox & { kubeconfig: string }) => runProgram(process.execPath, [join(ROOT, 'test', 'tools', 'client-node-pods.mjs'), b.kubeconfig, 'default'], { env: b.env, cwd: ROOT });

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 0 });
  await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 100_000 });
});
afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe('the background check of cached tokens', () => {
  it('a hit on a token not checked for a while starts one check: a live token stays, a dead one is dropped', async () => {
    await regrant('view');
    const b = box();
    const first = await plugin(b);
    expect(first.code, first.stderr).toBe(0);
    age(b);
    await emu.clearRequests();
    const hit = await plugin(b);
    expect(tokenOf(hit)).toBe(tokenOf(first));
    expect(hit.stderr).toBe('');
    // Detached: it may finish after the hit did.
    for (let i = 0; i < 100 && (await checks()).length === 0; i++) await sleep(50);
    expect((await checks()).map((e) => e.status)).toEqual([200]);
    expect(await mints()).toBe(0);
    // Checked just now: the next hits start none.
    for (let i = 0; i < 3; i++) expect(tokenOf(await plugin(b))).toBe(tokenOf(first));
    await sleep(300);
    expect(await checks()).toHaveLength(1);

    // Ankra kills the token. The next hit still answers it (only the cluster can tell), and
    // its check drops it; the process after that gets a new token.
    await regrant('edit');
    age(b);
    ageCheckMarker(b);
    await emu.clearRequests();
    expect(tokenOf(await plugin(b))).toBe(tokenOf(first));
    for (let i = 0; i < 100 && entryFile(b); i++) await sleep(50);
    expect(entryFile(b)).toBeUndefined();
    expect((await checks()).map((e) => e.status)).toEqual([401]);
    const next = await plugin(b);
    expect(tokenOf(next)).not.toBe(tokenOf(first));
    expect(await mints()).toBe(1);
  });

  it('checkCachedToken (for `ankra doctor`): none, alive, dead (and dropped), unknown', async () => {
    await regrant('view');
    const b = box();
    const paths = resolvePaths(b.env);
    const { target, source } = resolve({}, b.env, paths, { exec: true });
    const parts = { baseUrl: target.baseUrl, org: target.org, cluster: S, identity: source?.identity ?? '' };
    const deps = { env: b.env, caFile: emu.caFile };
    expect(await checkCachedToken(paths, parts, deps)).toBe('none');
    expect((await plugin(b)).code).toBe(0);
    expect(await checkCachedToken(paths, parts, deps)).toBe('alive');
    await emu.hook('POST', `clusters/${S}`, { online: false });
    try {
      expect(await checkCachedToken(paths, parts, deps)).toBe('unknown'); // 503: proves nothing
      expect(entryFile(b)).toBeDefined();
    } finally {
      await emu.hook('POST', `clusters/${S}`, { online: true });
    }
    await regrant('view');
    expect(await checkCachedToken(paths, parts, deps)).toBe('dead');
    expect(entryFile(b)).toBeUndefined();
    expect(await checkCachedToken(paths, parts, deps)).toBe('none');
  });
});

/** Make the last check look a minute old (the next hit may start one). */
function ageCheckMarker(b: Sandbox): void {
  const old = new Date(Date.now() - 60_000);
  for (const f of readdirSync(tokenDir(b))) if (f.endsWith('.check')) utimesSync(join(tokenDir(b), f), old, old);
}

describe('@kubernetes/client-node (never re-runs the plugin after a 401)', () => {
  it('revoke, re-grant with another role: a new process works within a few seconds', async () => {
    await regrant('view');
    const b = box();
    const first = await clientNode(b);
    expect(first.code, first.stderr).toBe(0);
    const before = JSON.parse(first.stdout);
    expect(before.pods, first.stderr).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(before.secrets).toEqual({ status: 403, reason: 'Forbidden' }); // view

    await regrant('edit');
    const t0 = Date.now();
    const seen: string[] = [];
    let after: { pods: unknown; secrets: unknown } | undefined;
    while (Date.now() - t0 < 20_000) {
      const r = await clientNode(b);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      if (Array.isArray(out.pods)) {
        after = out;
        break;
      }
      seen.push(JSON.stringify(out.pods));
    }
    const took = Date.now() - t0;
    expect(after, `still refused after ${took} ms: ${seen.join(', ')}`).toBeDefined();
    // The new role is in force: edit may list secrets.
    expect(Array.isArray(after?.secrets)).toBe(true);
    for (const s of seen) expect(JSON.parse(s).status).toBe(401);
    expect(took).toBeLessThan(15_000);
  }, 60_000);
});

describe.skipIf(SKIP_KUBECTL)('kubectl (re-runs the plugin after a 401)', () => {
  beforeAll(() => assertKubectl());

  it('revoke + re-grant while a token is cached: one line says why this command failed, and the next works', async () => {
    await regrant('view');
    const b = box();
    expect((await kubectl(['get', 'ns'], b.env)).code).toBe(0);
    await regrant('edit');
    await emu.clearRequests();
    const failed = await kubectl(['get', 'ns'], b.env);
    expect(failed.code).toBe(1);
    expect(count(failed.stderr, REPLACED)).toBe(1);
    expect(failed.stderr).toContain('Unauthorized');
    expect(await mints()).toBe(1);
    const next = await kubectl(['get', 'secrets', '-n', 'default'], b.env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('ankra');
    expect(await mints()).toBe(1);
  });

  it('revoked for good: the explanation is printed once per kubectl command, though kubectl runs the plugin again', async () => {
    await regrant('view');
    const b = box();
    expect((await kubectl(['get', 'ns'], b.env)).code).toBe(0);
    await regrant();
    const r = await kubectl(['get', 'ns'], b.env);
    expect(r.code).toBe(1);
    expect(count(r.stderr, NO_GRANT)).toBe(1);
    // A later command is told again.
    const again = await kubectl(['get', 'ns'], b.env);
    expect(count(again.stderr, NO_GRANT)).toBe(1);
  });

  it('not logged in: kubectl runs the failing plugin several times in one command, the line shows once', async () => {
    const b = box();
    delete b.env.ANKRA_API_TOKEN;
    const r = await kubectl(['get', 'ns'], b.env);
    expect(r.code).toBe(1);
    // kubectl's own lines show how often it ran the plugin; ankra's explanation shows once.
    expect(r.stderr.split('\n').filter((l) => l.includes('failed with exit code 6')).length).toBeGreaterThan(1);
    expect(count(r.stderr, 'ankra: not logged in to ')).toBe(1);
  });
});

describe.skipIf(!HAS_PYTHON_CLIENT && !IN_CI)("the Python client (Debian's python3-kubernetes: the plugin on every config load)", () => {
  const script = [
    'import sys',
    'from kubernetes import client, config',
    'for _ in range(3):',
    '    config.load_kube_config(config_file=sys.argv[1])',
    '    print(len(client.CoreV1Api().list_namespace().items))',
  ].join('\n');
  const python = (b: Sandbox & { kubeconfig: string }) => runProgram(PYTHON, ['-c', script, b.kubeconfig], { env: b.env });

  it('three loads in one process: 1 mint on a cold cache, 0 on a warm one', async () => {
    expect(HAS_PYTHON_CLIENT, `${PYTHON} cannot import kubernetes: apt-get install -y python3-kubernetes`).toBe(true);
    await regrant('view');
    const b = box();
    await emu.clearRequests();
    const cold = await python(b);
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stdout.trim().split('\n')).toEqual(['4', '4', '4']);
    expect(await mints()).toBe(1);
    await emu.clearRequests();
    const warm = await python(b);
    expect(warm.code, warm.stderr).toBe(0);
    expect(await mints()).toBe(0);
    // Each load after the first asked the cluster instead of Ankra (a background check of
    // the token may add one more on a slow machine).
    const asked = (await checks()).map((e) => e.status);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(new Set(asked)).toEqual(new Set([200]));
  });
});
