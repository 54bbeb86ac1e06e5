// The HTTP client's contract with the outside world and the terminal: user-agent, proxies
// from HTTPS_PROXY / NO_PROXY (through a real CONNECT proxy), unknown API fields passed on
// untouched, aligned coloured tables on a terminal vs tab-separated rows in a pipe, and
// --help of every command with a description and an example.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ANKRA_BIN, ankra, runProgram, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { COMMANDS } from '../src/commands/index';
import pkg from '../package.json' with { type: 'json' };

let emu: InProcessEmulator;
let box: Sandbox;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startEmulator();
  box = sandbox();
  env = { ...box.env, ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] };
});
afterAll(async () => {
  await emu.stop();
  box.cleanup();
});

/** A minimal HTTPS forward proxy (CONNECT only) that counts the tunnels it opened. */
async function connectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('HTTP client', () => {
  it('says who it is: user-agent ankra/<version>', async () => {
    await emu.clearRequests();
    expect((await ankra(['cluster', 'list'], { env })).code).toBe(0);
    const log = await emu.requests({ path: '/api/v1/clusters' });
    expect(log.map((e) => e.user_agent)).toEqual([`ankra/${pkg.version}`]);
  });

  it('goes through HTTPS_PROXY with a CONNECT tunnel, and around it for NO_PROXY hosts', async () => {
    const proxy = await connectProxy();
    try {
      const via = await ankra(['cluster', 'list', '-o', 'json'], { env: { ...env, HTTPS_PROXY: proxy.url } });
      expect(via.code, via.stderr).toBe(0);
      expect(JSON.parse(via.stdout)).toHaveLength(3);
      expect(proxy.tunnels).toEqual([new URL(emu.baseUrl).host]);

      const around = await ankra(['cluster', 'list'], { env: { ...env, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
      expect(around.code, around.stderr).toBe(0);
      expect(proxy.tunnels).toHaveLength(1);

      // The lower-case form too; --debug names the stack: undici's proxy agent with a proxy,
      // Node's own https without one.
      const lower = await ankra(['cluster', 'list', '--debug'], { env: { ...env, https_proxy: proxy.url } });
      expect(lower.code, lower.stderr).toBe(0);
      expect(lower.stderr).toContain('debug: transport: undici (proxy)\n');
      expect(proxy.tunnels).toHaveLength(2);
      const direct = await ankra(['cluster', 'list', '--debug'], { env });
      expect(direct.stderr).toContain('debug: transport: node:https\n');
      expect(proxy.tunnels).toHaveLength(2);

      // The exec plugin's miss path uses the same client.
      const grant = await emu.api('POST', `/api/v1/clusters/${emu.ids.clusters.staging}/access/grants`, {
        token: emu.tokens[EMAIL.admin],
        body: { user_email: EMAIL.admin, scope: 'cluster', role: 'view' },
      });
      expect(grant.status).toBe(201);
      const plugin = await ankra(['cluster', 'kube-token', '--cluster', emu.ids.clusters.staging], { env: { ...env, HTTPS_PROXY: proxy.url } });
      expect(plugin.code, plugin.stderr).toBe(0);
      expect(proxy.tunnels).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('a proxy that is down is reported as such', async () => {
    const r = await ankra(['cluster', 'list'], { env: { ...env, HTTPS_PROXY: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ankra: cannot reach https:\/\/127\.0\.0\.1:\d+: .*; check .*proxy settings\n$/);
  });

  it('passes fields the contract does not name through -o json and -o yaml untouched', async () => {
    const r = await ankra(['cluster', 'list', '-o', 'json'], { env });
    const [staging] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(staging).toMatchObject({ name: 'staging', agent_version: 'v0.42.1', labels: { environment: 'staging' } });
    const y = await ankra(['cluster', 'list', '-o', 'yaml'], { env });
    expect(y.stdout).toContain('agent_version: v0.42.1');
  });
});

describe('terminal output', () => {
  const onPty = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runProgram('script', ['-qec', `stty cols 200 rows 40; '${process.execPath}' '${ANKRA_BIN}' ${args.join(' ')}`, '/dev/null'], {
      env: { ...env, TERM: 'xterm', ...extra },
      timeoutMs: 15_000,
    });

  it('prints an aligned table with a bold header and coloured states on a terminal', async () => {
    const r = await onPty(['cluster', 'list'], { NO_COLOR: '' });
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
    // eslint-disable-next-line no-control-regex
    const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(plain[0]).toMatch(/^NAME\s+STATE\s+ENVIRONMENT\s+KIND\s+VERSION\s+AGE$/);
    const stateColumn = plain[0]?.indexOf('STATE');
    for (const l of plain.slice(1)) expect(l.indexOf('online')).toBe(stateColumn);
    // -o wide adds the ids, last
    const wide = (await onPty(['cluster', 'list', '-o', 'wide'], { NO_COLOR: '1' })).stdout.replace(/\r/g, '').trim().split('\n');
    expect(wide[0]).toMatch(/^NAME\s+STATE\s+ENVIRONMENT\s+KIND\s+VERSION\s+AGE\s+ID$/);
    expect(wide[1]).toMatch(/ c0000000-0000-4000-8000-00000000000\d$/);
    expect(lines[0]).toContain('\u001b[1m'); // bold header
    expect(r.stdout).toContain('\u001b[32monline'); // green state
  });

  it('no colour with NO_COLOR or --no-color, even on a terminal', async () => {
    for (const r of [await onPty(['cluster', 'list'], { NO_COLOR: '1' }), await onPty(['--no-color', 'cluster', 'list'], { NO_COLOR: '' })]) {
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('\u001b[');
      expect(r.stdout).toMatch(/^NAME\s+STATE/);
    }
  });

  it('prints tab-separated rows without header or colour when piped', async () => {
    const r = await ankra(['cluster', 'list'], { env: { ...env, NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stdout.split('\n')[0]?.split('\t')).toHaveLength(7);
    expect(r.stdout).not.toMatch(/^NAME/);
  });
});

describe('help', () => {
  const commands = COMMANDS.filter((c) => !c.hidden).map((c) => [...c.path]);

  it('covers the whole command surface', () => {
    expect(commands.map((c) => c.join(' '))).toEqual(
      expect.arrayContaining([
        'login',
        'logout',
        'auth status',
        'auth token',
        'org list',
        'cluster list',
        'cluster select',
        'cluster access list',
        'cluster access grant',
        'cluster access revoke',
        'cluster access wait',
        'cluster access members',
        'cluster kubeconfig add',
        'cluster kubeconfig remove',
        'cluster kubeconfig list',
        'doctor',
        'completion',
        'version',
        'help',
      ]),
    );
  });

  it('every command has a one-line description, an example, and a one-line pointer to the global options in --help', async () => {
    const results = await Promise.all(commands.map((c) => ankra([...c, '--help'], { env: box.env })));
    results.forEach((r, i) => {
      const name = commands[i]?.join(' ');
      expect(r.code, name).toBe(0);
      const description = r.stdout.split('\n')[2] ?? '';
      expect(description.trim().length, name).toBeGreaterThan(10);
      expect(r.stdout, name).toMatch(/\nExamples?:\n {2}\$ .*\bankra /);
      expect(r.stdout, name).toContain('Global options (--org, --output, --base-url, …): `ankra help options`.');
      expect(r.stdout, name).not.toMatch(/--base-url <url>/);
    });
  });

  it('--version prints the package version and what it runs on', async () => {
    const r = await ankra(['--version'], { env: box.env });
    expect(r.stdout.trim()).toBe(`ankra ${pkg.version} (Node ${process.version}, ${process.platform}-${process.arch})`);
  });
});
