// The exec plugin's cache hit must load no heavy dependency. Each run records every module
// the process loads (test/tools/trace-loads.mjs); a control run of another command proves
// the tracer sees those dependencies when they are loaded.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ANKRA_BIN, ROOT, runProgram, sandbox, type Sandbox } from './helpers/cli';
import { cacheKey, writeCached } from '../src/cache/token-cache';
import { resolve } from '../src/auth/source';
import { resolvePaths } from '../src/core/paths';

const HEAVY = ['commander', 'yaml', 'undici', 'openid-client', '@napi-rs/keyring', '@kubernetes/client-node', 'ora'];
const CLUSTER = '0b7a2c4e-1111-4222-8333-944455556666';
// Nothing listens here: a cache miss would fail, so success proves the hit.
const BASE = 'https://127.0.0.1:9';
const TOKEN = 'ankra_pat_hot_path_test_token_0001';

// Where each is loaded from: node_modules, or the build's bundles (commander is inside
// dist/cli/cli.cjs with the rest of the CLI; undici, yaml, openid-client and ora are each
// a dist/cli/vendor bundle).
const BUNDLED: Record<string, string> = {
  commander: '/dist/cli/cli.cjs',
  yaml: '/dist/cli/vendor/yaml.cjs',
  undici: '/dist/cli/vendor/undici.cjs',
  'openid-client': '/dist/cli/vendor/openid-client.cjs',
  ora: '/dist/cli/vendor/ora.cjs',
};

function loaded(trace: string): string[] {
  const lines = trace.split('\n');
  return HEAVY.filter((pkg) => lines.some((l) => l.includes(`/node_modules/${pkg}/`) || (BUNDLED[pkg] !== undefined && l.includes(BUNDLED[pkg]))));
}

let box: Sandbox;
beforeAll(() => {
  box = sandbox({ ANKRA_API_TOKEN: TOKEN, ANKRA_BASE_URL: BASE });
});
afterAll(() => box.cleanup());

async function traced(args: string[], env: NodeJS.ProcessEnv) {
  const traceFile = join(box.dir, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const r = await runProgram(process.execPath, ['--import', join(ROOT, 'test/tools/trace-loads.mjs'), ANKRA_BIN, ...args], {
    env: { ...env, ANKRA_TRACE_FILE: traceFile },
  });
  return { ...r, trace: existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '' };
}

describe('exec plugin hot path', () => {
  it('serves a cache hit without loading commander, yaml, undici, openid-client, the keychain, client-node or ora', async () => {
    const { source } = resolve({}, box.env, resolvePaths(box.env));
    const key = cacheKey({ baseUrl: BASE, org: undefined, cluster: CLUSTER, identity: source?.identity ?? '' });
    const expires = new Date(Date.now() + 600_000).toISOString();
    writeCached(join(box.home, '.cache', 'ankra', 'tokens'), key, { v: 1, token: 'k8s-cached-token', issued_at: new Date().toISOString(), expires_at: expires, base_url: BASE });

    const r = await traced(['cluster', 'kube-token', '--cluster', CLUSTER], box.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).status.token).toBe('k8s-cached-token');
    expect(r.trace).toContain('/dist/cli/main.cjs');
    expect(loaded(r.trace)).toEqual([]);
  });

  it('a hit that starts the background check of the token loads nothing heavy either', async () => {
    const { source } = resolve({}, box.env, resolvePaths(box.env));
    const key = cacheKey({ baseUrl: BASE, org: undefined, cluster: CLUSTER, identity: source?.identity ?? '' });
    const dir = join(box.home, '.cache', 'ankra', 'tokens');
    // Minted a minute ago and never checked: this hit starts the check (which finds nobody
    // at BASE, and changes nothing).
    writeCached(dir, key, {
      v: 1,
      token: 'k8s-cached-token',
      issued_at: new Date(Date.now() - 60_000).toISOString(),
      expires_at: new Date(Date.now() + 600_000).toISOString(),
      base_url: BASE,
      server: `${BASE}/api/v1/clusters/${CLUSTER}/k8s`,
    });
    const r = await traced(['cluster', 'kube-token', '--cluster', CLUSTER], box.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).status.token).toBe('k8s-cached-token');
    expect(existsSync(join(dir, `${key}.check`))).toBe(true); // the check was started
    expect(r.trace).toContain('node:child_process');
    expect(loaded(r.trace)).toEqual([]);
  });

  it('control: the tracer does see heavy modules when a command loads them', async () => {
    const r = await traced(['cluster', 'list', '--cluster-typo'], box.env);
    expect(r.code).toBe(2);
    expect(loaded(r.trace)).toContain('commander');
    // A command that asks the API (and fails: nobody listens at BASE) sends with Node's own
    // https, and loads undici only to go through a proxy.
    const listed = await traced(['cluster', 'list'], box.env);
    expect(listed.code).not.toBe(0);
    expect(loaded(listed.trace)).not.toContain('undici');
    const proxied = await traced(['cluster', 'list'], { ...box.env, HTTPS_PROXY: 'http://127.0.0.1:9' });
    expect(proxied.code).not.toBe(0);
    expect(loaded(proxied.trace)).toEqual(expect.arrayContaining(['commander', 'undici']));
  });
});
