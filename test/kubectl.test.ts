// The developer's side end to end with the real kubectl and @kubernetes/client-node:
// `ankra login`, `ankra cluster kubeconfig add`, then plain kubectl calling
// `ankra cluster kube-token` as its exec credential plugin against the emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ANKRA_BIN, ROOT, ankra, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { SKIP_KUBECTL, assertKubectl, kubectl } from './helpers/kubectl';
import { approveInBrowser, startOnPty } from './helpers/login';

let emu: InProcessEmulator;
let adminEnv: NodeJS.ProcessEnv;
let alice: Sandbox;
const boxes: Sandbox[] = [];
const P = IDS.clusters.prodEu;

function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...extra });
  boxes.push(b);
  return b;
}

async function admin(args: string[]): Promise<RunResult> {
  const r = await ankra(args, { env: adminEnv });
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** `ankra login` on a terminal, approved in the emulator's browser page as `email`. */
async function login(b: Sandbox, email: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...b.env, ANKRA_LOGIN_POLL_MS: '50', BROWSER: 'none' };
  delete env.CI; // a person at a terminal
  const live = startOnPty(['login'], env);
  const [, url] = await live.waitFor(/(https:\/\/127\.0\.0\.1:\d+\/cli\/login\?state=[\w-]+)/);
  expect((await approveInBrowser(emu, url as string, email)).status).toBe(200);
  const r = await live.done;
  expect(r.code, r.stdout).toBe(0);
}

const k = (b: Sandbox, ...args: string[]) => kubectl(args, b.env);

describe.skipIf(SKIP_KUBECTL)('kubectl through ankra', () => {
  beforeAll(async () => {
    assertKubectl();
    emu = await startEmulator({ reconcileDelayMs: 100 });
    adminEnv = { ...box().env, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] };
    alice = box();
    await login(alice, EMAIL.alice);
  });
  afterAll(async () => {
    await emu?.stop();
    for (const b of boxes) b.cleanup();
  });

  it('kubeconfig add, then kubectl works for an applied cluster-wide grant', async () => {
    await admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'view', '--wait']);
    const add = await ankra(['cluster', 'kubeconfig', 'add', 'prod-eu', '--use'], { env: alice.env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('Added context ankra-prod-eu');

    const config = parseYaml(readFileSync(alice.kubeconfig, 'utf8'));
    expect(config['current-context']).toBe('ankra-prod-eu');
    expect(config.clusters[0].cluster).toEqual({
      server: `${emu.proxyBaseUrl}/api/v1/clusters/${P}/k8s`,
      'certificate-authority-data': Buffer.from(emu.caPem).toString('base64'),
    });
    expect(config.users[0].user.exec).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      // ankra on PATH is not this binary here, so the entry names it by path
      command: ANKRA_BIN,
      args: ['cluster', 'kube-token', '--cluster', P, '--org', IDS.orgs.acme, '--base-url', emu.baseUrl, '--ca-file', emu.caFile],
      interactiveMode: 'Never',
      provideClusterInfo: false,
      installHint: expect.stringContaining('ankra login'),
    });

    const ns = await k(alice, 'get', 'ns');
    expect(ns.code, ns.stderr).toBe(0);
    // Warm cache: more kubectl runs mint nothing (kubectl on PATH may be a dispatcher that
    // runs the plugin twice under one pid, as Google Cloud SDK's does).
    await emu.clearRequests();
    for (let i = 0; i < 3; i++) expect((await k(alice, 'get', 'ns')).code).toBe(0);
    expect(await emu.requests({ method: 'POST', path: `/api/v1/clusters/${P}/k8s-token` })).toEqual([]);
    expect(ns.stdout).toMatch(/^NAME\s+STATUS\s+AGE/);
    for (const n of ['default', 'kube-system', 'staging', 'team-a']) expect(ns.stdout).toContain(n);
    const secrets = await k(alice, 'get', 'secrets', '-n', 'default');
    expect(secrets.code).toBe(1);
    expect(secrets.stderr).toContain('secrets is forbidden: User "alice@acme.test" cannot list resource "secrets"');
    const whoami = await k(alice, 'auth', 'whoami');
    expect(whoami.stdout).toMatch(/Username\s+alice@acme\.test/);
  });

  it('while the grant is pending kubectl is Forbidden (a member cannot read grants, so ankra adds nothing); then it works in its namespace only', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 600_000 });
    await admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--role', 'edit', '--namespace', 'team-a']);
    await emu.hook('POST', 'reconcile', { delay_ms: 100 });
    const add = await ankra(['cluster', 'kubeconfig', 'add', 'staging', '--namespace', 'team-a', '--use'], { env: alice.env });
    expect(add.code, add.stderr).toBe(0);

    const pending = await k(alice, 'get', 'pods');
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('Forbidden');
    // Listing grants needs an organisation admin: the plugin cannot tell a member why.
    expect(pending.stderr).not.toContain('ankra:');

    // The token names the user, not the grant: once Ankra applies the grant it works.
    expect(await emu.hook('POST', 'reconcile/now')).toEqual({ reconciled: 1 });
    const pods = await k(alice, 'get', 'pods');
    expect(pods.code, pods.stderr).toBe(0);
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(pods.stderr).toBe('');
    const create = await k(alice, 'create', 'configmap', 'from-alice', '--from-literal=a=b');
    expect(create.code, create.stderr).toBe(0);
    const elsewhere = await k(alice, 'get', 'pods', '-n', 'kube-system');
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('pods is forbidden: User "alice@acme.test" cannot list resource "pods" in API group "" in the namespace "kube-system"');
    const can = await k(alice, 'auth', 'can-i', 'delete', 'pods');
    expect(can.stdout.trim()).toBe('yes');
    const cannot = await k(alice, 'auth', 'can-i', 'list', 'pods', '-n', 'default');
    expect(cannot.stdout.trim()).toBe('no');
  });

  it('after revoke, kubectl fails with ankra explaining there is no grant (even with a cached token)', async () => {
    expect((await k(alice, 'get', 'pods')).code).toBe(0); // the token is cached now
    await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--cluster', 'staging']);
    const r = await k(alice, 'get', 'pods');
    expect(r.code).toBe(1);
    const line =
      'ankra: you have no access grant on cluster staging (none yet, or it was revoked); ask an organisation admin to grant it: `ankra cluster access grant alice@acme.test --cluster staging`';
    expect(r.stderr).toContain(line);
    // kubectl may run the failing plugin again in the same command: the line shows once.
    expect(r.stderr.split('\n').filter((l) => l === line)).toHaveLength(1);
  });

  it('serves v1beta1 ExecCredentials to a v1beta1 exec entry', async () => {
    const printed = await ankra(['cluster', 'kubeconfig', 'add', 'prod-eu', '--print', '--namespace', 'team-a'], { env: alice.env });
    expect(printed.code, printed.stderr).toBe(0);
    const file = join(alice.dir, 'v1beta1.yaml');
    writeFileSync(file, printed.stdout.replace('client.authentication.k8s.io/v1\n', 'client.authentication.k8s.io/v1beta1\n'));
    expect(readFileSync(file, 'utf8')).toContain('apiVersion: client.authentication.k8s.io/v1beta1');
    const r = await k(alice, '--kubeconfig', file, 'get', 'pods');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('NAME');
  });

  it("works with an entry in the Go CLI's exact shape (command: ankra on PATH)", async () => {
    const bin = join(alice.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(ANKRA_BIN, join(bin, 'ankra'));
    const goCli = join(alice.dir, 'go-cli.yaml');
    writeFileSync(
      goCli,
      [
        'apiVersion: v1',
        'kind: Config',
        // the real platform has a public CA; the emulator's must be trusted explicitly
        `clusters: [{name: ankra-my-cluster, cluster: {server: "${emu.proxyBaseUrl}/api/v1/clusters/${P}/k8s", certificate-authority-data: ${Buffer.from(emu.caPem).toString('base64')}}}]`,
        'users:',
        '- name: ankra-my-cluster',
        '  user:',
        '    exec:',
        '      apiVersion: client.authentication.k8s.io/v1',
        '      command: ankra',
        `      args: [cluster, kube-token, --cluster, ${P}, --org, ${IDS.orgs.acme}]`,
        '      interactiveMode: Never',
        'contexts: [{name: ankra-my-cluster, context: {cluster: ankra-my-cluster, user: ankra-my-cluster, namespace: staging}}]',
        'current-context: ankra-my-cluster',
        '',
      ].join('\n'),
    );
    const env = { ...alice.env, PATH: `${bin}:${alice.env.PATH}` };
    const r = await kubectl(['--kubeconfig', goCli, 'get', 'configmaps'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('NAME');

    const list = await ankra(['cluster', 'kubeconfig', 'list', '--kubeconfig', goCli, '-o', 'json'], { env });
    expect(JSON.parse(list.stdout)).toMatchObject([{ context: 'ankra-my-cluster', cluster_id: P, org_id: IDS.orgs.acme, namespace: 'staging', command: 'ankra', current: true }]);
    // Re-adding replaces the Go CLI's entry in place, keeping its name, and now ankra on PATH is this binary.
    const add = await ankra(['cluster', 'kubeconfig', 'add', P, '--kubeconfig', goCli], { env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('Updated context ankra-my-cluster');
    const after = parseYaml(readFileSync(goCli, 'utf8'));
    expect(after.users).toHaveLength(1);
    expect(after.users[0].user.exec.command).toBe('ankra');
    expect((await kubectl(['--kubeconfig', goCli, 'get', 'configmaps'], env)).code).toBe(0);
  });

  it('@kubernetes/client-node runs the exec plugin too', async () => {
    const script = join(ROOT, 'test', 'tools', 'client-node-pods.mjs');
    const kubeconfig = join(alice.dir, 'v1beta1.yaml');
    const r = await runProgram(process.execPath, [script, kubeconfig, 'team-a'], { env: alice.env, cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // alice has view on all of prod-eu: pods and namespaces yes, secrets no
    expect(out.pods.length).toBeGreaterThan(0);
    expect(out.namespaces).toContain('team-a');
    expect(out.secrets).toEqual({ status: 403, reason: 'Forbidden' });
  });

  it('for an organisation admin (who may read grants) the plugin explains a failed grant and an offline cluster, and caches nothing', async () => {
    const S = IDS.clusters.staging;
    const plugin = (env: NodeJS.ProcessEnv) => ankra(['cluster', 'kube-token', '--cluster', S], { env });
    // A saved login knows whose it is (an API token in ANKRA_API_TOKEN does not).
    const me = box();
    const login = await ankra(['login', '--with-token'], { env: me.env, input: emu.tokens[EMAIL.admin] });
    expect(login.code, login.stderr).toBe(0);
    const adminEnv = me.env;
    await emu.hook('POST', `clusters/${S}`, { fail_next_reconcile: 'quota exceeded for RoleBindings' });
    await admin(['cluster', 'access', 'grant', EMAIL.admin, '--cluster', 'staging', '--role', 'view']);
    await emu.hook('POST', 'reconcile/now');
    const failed = await plugin(adminEnv);
    expect(failed.code, failed.stderr).toBe(0);
    expect(JSON.parse(failed.stdout).status.token).toBeTruthy();
    expect(failed.stderr.trim()).toBe(
      'ankra: your grant on cluster staging failed to apply (quota exceeded for RoleBindings), so kubectl answers Forbidden; ask an organisation admin to revoke and grant it again',
    );
    await admin(['cluster', 'access', 'revoke', EMAIL.admin, '--cluster', 'staging']);

    await emu.hook('POST', `clusters/${S}`, { online: false });
    try {
      await admin(['cluster', 'access', 'grant', EMAIL.admin, '--cluster', 'staging', '--role', 'view']);
      await emu.hook('POST', 'reconcile/now');
      await emu.clearRequests();
      const offline = await plugin(adminEnv);
      expect(offline.code).toBe(0);
      expect(offline.stderr).toContain('ankra: cluster staging is offline (not connected to Ankra); your grant applies when it reconnects');
      // Not cached: the next call asks again, and learns when the cluster is back.
      await plugin(adminEnv);
      expect(await emu.requests({ method: 'POST', path: `/api/v1/clusters/${S}/k8s-token` })).toHaveLength(2);
      // A member's plugin cannot read grants: it says nothing, and its token is served.
      await admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--role', 'view']);
      const member = await plugin(alice.env);
      expect(member.code, member.stderr).toBe(0);
      expect(member.stderr).toBe('');
    } finally {
      await emu.hook('POST', `clusters/${S}`, { online: true });
    }
  });
});
