/**
 * The emulator as a process (`node dist/emulator/main.js`), as `npm run emulator`, the
 * CLI's end-to-end tests and the demo run it: the ready line, the CA file, flags, exit
 * codes, and no secrets on stderr.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeServerPath } from '../src/api/types';
import type { K8sToken } from '../src/api/types';
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
    expect(Object.keys(ready).sort()).toEqual(['base_url', 'ca_file', 'issuer', 'tokens']);
    expect(ready.base_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.issuer).toBe(`${emu.baseUrl}/oidc`);
    expect(Object.keys(emu.tokens).sort()).toEqual(Object.values(EMAIL).sort());
    expect(emu.stdout().split('\n')).toHaveLength(2); // one line and its newline

    // The CA file verifies the server; without it, TLS refuses.
    expect(existsSync(emu.caFile)).toBe(true);
    expect((await emu.api('GET', '/api/v1/cli/oidc')).status).toBe(200);
    const untrusted = new Agent();
    await expect(request(`${emu.baseUrl}/api/v1/cli/oidc`, { dispatcher: untrusted })).rejects.toThrow(/certificate/i);
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
    expect(minted.status).toBe(201);
    await emu.api('POST', `/api/v1/clusters/${IDS.clusters.staging}/kubeconfig`, { token: alice });
    await emu.api('GET', `${kubeServerPath(IDS.clusters.staging)}/api/v1/namespaces`, { token: minted.body.token });
    await emu.api('GET', `${kubeServerPath(IDS.clusters.staging)}/api/v1/namespaces`, { token: `${minted.body.token}x` });
    expect((await emu.requests()).length).toBeGreaterThanOrEqual(7);

    await emu.stop();
    running = undefined;
    expect(await emu.exited).toBe(0);
    expect(emu.stdout().trim().split('\n')).toHaveLength(1);
    for (const secret of [...Object.values(emu.tokens), minted.body.token]) expect(emu.stderr()).not.toContain(secret);
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
    expect(state.settings).toMatchObject({ gateway_enabled: false, reconcile_delay_ms: 0, k8s_token_s: 60 });
    emu.child.kill('SIGINT');
    expect(await emu.exited).toBe(0);
  });

  it.each([
    [['--nope']],
    [['--port', 'abc']],
    [['--port', '70000']],
    [['--token-ttl-s', '0']],
    [['--reconcile-delay-ms', '-1']],
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
