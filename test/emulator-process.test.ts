/**
 * The emulator as a process (`node dist/emulator/main.js`), as `npm run emulator`, the
 * CLI's end-to-end tests and the demo run it: the ready line, the CA file, flags, exit
 * codes, and no secrets on stderr.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeServerPath } from '../src/api/types';
import type { ClusterPage, Grant, K8sToken, LoginInit, LoginPoll } from '../src/api/types';
import { EMAIL, EMULATOR_MAIN, IDS, ensureEmulatorBuilt, spawnEmulator } from './helpers/emulator';
import type { SpawnedEmulator } from './helpers/emulator';

let running: SpawnedEmulator | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Runs main.js to completion (for flags that make it exit on its own). */
async function runToExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  await ensureEmulatorBuilt();
  const child = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

describe('node dist/emulator/main.js', () => {
  it('prints one JSON ready line, serves with its CA, keeps secrets off stderr and exits 0 on SIGTERM', async () => {
    const emu = (running = await spawnEmulator(['--port', '0']));
    const ready = JSON.parse(emu.stdout()) as Record<string, unknown>;
    expect(Object.keys(ready).sort()).toEqual(['base_url', 'ca_file', 'issuer', 'proxy_base_url', 'token_ids', 'tokens']);
    expect(ready.base_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.proxy_base_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.proxy_base_url).not.toBe(ready.base_url);
    expect(ready.issuer).toBe(`${emu.baseUrl}/oidc`);
    expect(Object.keys(emu.tokens).sort()).toEqual(Object.values(EMAIL).sort());
    expect(Object.keys(emu.tokenIds).sort()).toEqual(Object.values(EMAIL).sort());
    expect(emu.stdout().split('\n')).toHaveLength(2); // one line and its newline

    // The CA file verifies both listeners; without it, TLS refuses.
    expect(existsSync(emu.caFile)).toBe(true);
    expect((await emu.api('GET', '/api/v1/org/organisation', { token: emu.tokens[EMAIL.bob] })).status).toBe(200);
    expect((await emu.api('GET', `${emu.proxyBaseUrl}/`)).status).toBe(404);
    const untrusted = new Agent();
    await expect(request(`${emu.baseUrl}/api/v1/org/organisation`, { dispatcher: untrusted })).rejects.toThrow(/certificate/i);
    await expect(request(`${emu.proxyBaseUrl}/`, { dispatcher: untrusted })).rejects.toThrow(/certificate/i);
    await untrusted.close();

    // Exercise what handles secrets: a bad token, a grant, a mint, a kubeconfig, the k8s gate.
    const admin = emu.tokens[EMAIL.admin];
    const alice = emu.tokens[EMAIL.alice];
    await emu.api('GET', '/api/v1/clusters', { token: `${alice}x` });
    await emu.api('POST', `/api/v1/clusters/${IDS.clusters.staging}/access/grants`, {
      token: admin,
      body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
    });
    const minted = await emu.api<K8sToken>('POST', `/api/v1/clusters/${IDS.clusters.staging}/k8s-token`, { token: alice });
    expect(minted.status).toBe(200);
    expect(minted.body.server).toBe(`${emu.proxyBaseUrl}${kubeServerPath(IDS.clusters.staging)}`);
    await emu.api('POST', `/api/v1/clusters/${IDS.clusters.staging}/kubeconfig`, { token: alice });
    expect((await emu.api('GET', `${minted.body.server}/version`, { token: minted.body.token })).status).toBe(200);
    await emu.api('GET', `${minted.body.server}/api/v1/namespaces`, { token: `${minted.body.token}x` });
    // A CLI login: its token and the poll's answer carry secrets too.
    await emu.cliLogin({ auto_approve: EMAIL.bob });
    const verifier = 'x'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const init = await emu.api<LoginInit>('GET', `/api/v1/cli/login/init?code_challenge=${challenge}`);
    const issued = await emu.api<LoginPoll>('POST', '/api/v1/cli/login/poll', { body: { ticket: init.body.ticket, code_verifier: verifier } });
    expect(issued.body.status).toBe('issued');
    // Only the test's own probe of the proxy's root is off the token lane.
    expect((await emu.offContract()).map((e) => `${e.method} ${e.origin}${e.path}`)).toEqual([`GET ${emu.proxyBaseUrl}/`]);
    expect((await emu.requests()).length).toBeGreaterThanOrEqual(8);

    await emu.stop();
    running = undefined;
    expect(await emu.exited).toBe(0);
    expect(emu.stdout().trim().split('\n')).toHaveLength(1);
    for (const secret of [...Object.values(emu.tokens), minted.body.token, init.body.ticket, verifier, issued.body.token ?? 'none']) {
      expect(emu.stderr()).not.toContain(secret);
    }
    // The CA lived in a temporary directory of the emulator's own.
    expect(existsSync(emu.caFile)).toBe(false);
  });

  it('applies its flags and exits 0 on SIGINT', async () => {
    const emu = (running = await spawnEmulator([
      '--reconcile-delay-ms=0',
      '--token-ttl-s',
      '60',
      '--gateway-disabled',
      '--auto-approve',
      EMAIL.bob,
    ]));
    const state = await emu.hook<{ settings: Record<string, unknown> }>('GET', 'state');
    expect(state.settings).toMatchObject({ gateway_enabled: false, reconcile_delay_ms: 0, k8s_token_s: 60, accept_oidc_tokens: false });
    // --auto-approve covers the CLI login (and the OIDC device flow).
    expect((await emu.hook<{ auto_approve: string }>('GET', 'cli-login')).auto_approve).toBe(EMAIL.bob);
    emu.child.kill('SIGINT');
    expect(await emu.exited).toBe(0);
  });

  it('--proxy-on-api-origin and --accept-oidc-tokens', async () => {
    const emu = (running = await spawnEmulator(['--proxy-on-api-origin', '--accept-oidc-tokens']));
    expect(emu.proxyBaseUrl).toBe(emu.baseUrl);
    const state = await emu.hook<{ settings: Record<string, unknown> }>('GET', 'state');
    expect(state.settings).toMatchObject({ accept_oidc_tokens: true });
  });

  it('--generate starts with a large organisation, in a few seconds and sane memory', async () => {
    const emu = (running = await spawnEmulator(['--generate', 'clusters=500,members=2500,grants=10000']));
    const admin = emu.tokens[EMAIL.admin];
    const page = await emu.api<ClusterPage>('GET', '/api/v1/clusters?page=1&page_size=100', { token: admin });
    expect(page.body.pagination).toMatchObject({ total_count: 3 + 500 + 1, total_pages: 6 });
    const big = await emu.api<ClusterPage>('GET', '/api/v1/clusters?cluster_name=gen-big', { token: admin });
    const grants = await emu.api<{ result: Grant[] }>('GET', `/api/v1/clusters/${big.body.result[0]?.id ?? ''}/access/grants`, { token: admin });
    expect(grants.body.result).toHaveLength(10_000);
    // The ready line holds the seeded users' tokens only, not 2,500 more.
    expect(Object.keys(emu.tokens)).toHaveLength(Object.keys(EMAIL).length);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${emu.child.pid}/status`, 'utf8'))?.[1]);
    expect(rssKb).toBeLessThan(400 * 1024);
  });

  it.each([
    [['--nope']],
    [['--port', 'abc']],
    [['--port', '70000']],
    [['--token-ttl-s', '0']],
    [['--reconcile-delay-ms', '-1']],
    [['--generate', 'clusters=lots']],
    [['--generate', 'planets=3']],
    [['--generate', 'clusters=20000']],
    [['stray']],
  ])('%j: exit 2 with one line on stderr, nothing on stdout', async (args) => {
    const { code, stdout, stderr } = await runToExit(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^ankra-emulator: .*usage: npm run emulator/);
  });

  it('exits 1 with one line when it cannot start', async () => {
    const { code, stdout, stderr } = await runToExit(['--seed', '/nonexistent/seed.json']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/ankra-emulator: cannot start: .*nonexistent/);
  });
});
