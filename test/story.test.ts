/**
 * The whole story against the emulator in its default, platform-faithful mode, as people run
 * it: an admin and a developer log in through the browser page (Ankra's CLI login, on a
 * terminal), the admin grants with --wait, the developer adds the kubectl context (whose
 * server is the proxy the platform names, on another origin than the API) and uses kubectl,
 * the admin revokes, the developer's next call is refused with ankra's explanation, and after
 * logout the token is refused. The request log holds no call outside the contract's token lane.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ankra, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { SKIP_KUBECTL, assertKubectl, kubectl } from './helpers/kubectl';
import { approveInBrowser, fileSecret, startOnPty } from './helpers/login';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];

function person(): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_LOGIN_POLL_MS: '50', BROWSER: 'none' });
  delete b.env.CI;
  boxes.push(b);
  return b;
}

async function browserLogin(b: Sandbox, email: string): Promise<string> {
  const live = startOnPty(['login'], b.env);
  const [, url] = await live.waitFor(/(https:\/\/127\.0\.0\.1:\d+\/cli\/login\?state=[\w-]+)/);
  expect((await approveInBrowser(emu, url as string, email)).status).toBe(200);
  const r = await live.done;
  expect(r.code, r.stdout).toBe(0);
  const s = fileSecret(b.env, emu.baseUrl);
  if (s?.kind !== 'api_token') throw new Error('no login saved');
  return s.token;
}

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 200 });
});
afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe.skipIf(SKIP_KUBECTL)('the Cluster Access story, on the token lane only', () => {
  it('login, grant --wait, kubeconfig add, kubectl, revoke, logout', async () => {
    assertKubectl();
    await emu.clearRequests();
    const admin = person();
    const alice = person();

    await browserLogin(admin, EMAIL.admin);
    const grant = await ankra(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--role', 'view', '--namespace', 'team-a', '--wait', '-o', 'json'], { env: admin.env });
    expect(grant.code, grant.stderr).toBe(0);
    expect(JSON.parse(grant.stdout)).toMatchObject({ user_email: EMAIL.alice, reconcile_status: 'applied' });

    const token = await browserLogin(alice, EMAIL.alice);
    const add = await ankra(['cluster', 'kubeconfig', 'add', 'staging', '--namespace', 'team-a', '--use'], { env: alice.env });
    expect(add.code, add.stderr).toBe(0);
    // the server the platform named: the proxy, on its own origin, not derived from the API's
    const config = parseYaml(readFileSync(alice.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
    expect(emu.proxyBaseUrl).not.toBe(emu.baseUrl);
    expect(config.clusters[0]?.cluster.server).toBe(`${emu.proxyBaseUrl}/api/v1/clusters/${emu.ids.clusters.staging}/k8s`);

    const pods = await kubectl(['get', 'pods'], alice.env);
    expect(pods.code, pods.stderr).toBe(0);
    expect(pods.stdout).toMatch(/^NAME\s+READY/);

    const revoke = await ankra(['cluster', 'access', 'revoke', EMAIL.alice, '--cluster', 'staging'], { env: admin.env });
    expect(revoke.code, revoke.stderr).toBe(0);
    const refused = await kubectl(['get', 'pods'], alice.env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ankra: you have no access grant on cluster staging');

    const out = await ankra(['logout'], { env: alice.env });
    expect(out.code, out.stderr).toBe(0);
    expect((await emu.api('GET', '/api/v1/org/organisation', { token })).status).toBe(401);

    expect(await emu.offContract({ browser: true })).toEqual([]);
  });
});
