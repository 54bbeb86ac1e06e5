// `ankra cluster kubeconfig add|remove|list` end to end: the built binary editing real files
// (the library's own tests cover the editing rules in depth). 20 concurrent adds, --all,
// the cross-organisation name clash, KUBECONFIG lists, --print, invalid files left alone,
// and add-then-remove restoring a commented kubectl file byte for byte. Then kubeconfig
// files as people have them: bind-mounted into a container, read-only, KUBECONFIG naming
// no file, Latin-1 text, a FIFO.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ROOT, ankra, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { SKIP_KUBECTL, kubectl } from './helpers/kubectl';
import defaultSeed from '../fixtures/seed.json' with { type: 'json' };

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const S = IDS.clusters.staging;

/** The default world plus 20 more clusters in acme, for the concurrency test. */
function seedWith20(): typeof defaultSeed {
  const seed = structuredClone(defaultSeed);
  const acme = seed.organisations.find((o) => o.slug === 'acme');
  const template = acme?.clusters[0];
  if (!acme || !template) throw new Error('default seed changed');
  for (let i = 1; i <= 20; i++) {
    acme.clusters.push({ ...structuredClone(template), id: `c1000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `fleet-${i}` });
  }
  return seed;
}

function box(who: keyof typeof EMAIL, extra: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL[who]], ...extra });
  boxes.push(b);
  return b;
}

const run = (b: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}) => ankra(args, { env: { ...b.env, ...env } });

function ok(r: RunResult): RunResult {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 0, seed: seedWith20() as never });
  // alice may reach the 20 fleet clusters (kubeconfig add proves access with a token)
  for (let i = 1; i <= 20; i++) {
    const res = await emu.api('POST', `/api/v1/clusters/c1000000-0000-4000-8000-${String(i).padStart(12, '0')}/access/grants`, {
      token: emu.tokens[EMAIL.admin],
      body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
    });
    expect([200, 201]).toContain(res.status);
  }
  for (const [email, cluster, org] of [
    [EMAIL.bob, S, undefined],
    [EMAIL.bob, IDS.clusters.prodEu, undefined],
    [EMAIL.bob, IDS.clusters.globexStaging, IDS.orgs.globex],
  ] as const) {
    const token = emu.tokens[org ? EMAIL.globexAdmin : EMAIL.admin];
    const res = await emu.api('POST', `/api/v1/clusters/${cluster}/access/grants`, { token, org, body: { user_email: email, scope: 'cluster', role: 'view' } });
    expect([200, 201]).toContain(res.status);
  }
});
afterAll(async () => {
  await emu.stop();
  for (const b of boxes) b.cleanup();
});

describe('ankra cluster kubeconfig', () => {
  it('20 concurrent adds of different clusters leave all 20', async () => {
    const b = box('alice');
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => run(b, ['cluster', 'kubeconfig', 'add', `fleet-${i + 1}`])));
    for (const r of runs) ok(r);
    const list = JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'])).stdout) as { context: string }[];
    expect(list.map((c) => c.context).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `ankra-fleet-${i + 1}`).sort());
    const config = parseYaml(readFileSync(b.kubeconfig, 'utf8'));
    expect([config.clusters.length, config.users.length, config.contexts.length]).toEqual([20, 20, 20]);
    expect(existsSync(`${b.kubeconfig}.lock`)).toBe(false);
  });

  it('--all adds the clusters with Cluster Access and a grant; no grant or a sandbox is skipped', async () => {
    const b = box('bob');
    const r = ok(await run(b, ['cluster', 'kubeconfig', 'add', '--all']));
    expect(r.stderr).toContain('Added context ankra-staging');
    expect(r.stderr).toContain('Added context ankra-prod-eu');
    const contexts = parseYaml(readFileSync(b.kubeconfig, 'utf8')).contexts.map((c: { name: string }) => c.name);
    expect(contexts).toEqual(['ankra-staging', 'ankra-prod-eu']);
    // Nothing reachable at all is an error, not an empty success.
    const none = await run(box('admin'), ['cluster', 'kubeconfig', 'add', '--all']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('you have no access grant on any cluster');
  });

  it('--all as an organisation admin mints only where the grant lists show a grant of theirs: no 429 under a mint limit of 2 a minute', async () => {
    const fleet = (i: number) => `c1000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const granted: Array<[string, string]> = [];
    for (const i of [3, 7]) {
      const res = await emu.api('POST', `/api/v1/clusters/${fleet(i)}/access/grants`, { token: emu.tokens[EMAIL.admin], body: { user_email: EMAIL.admin, scope: 'cluster', role: 'view' } });
      expect([200, 201]).toContain(res.status);
      granted.push([fleet(i), (res.body as { grant: { id: string } }).grant.id]);
    }
    await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 2 });
    try {
      await emu.clearRequests();
      const b = box('admin');
      const r = ok(await run(b, ['cluster', 'kubeconfig', 'add', '--all']));
      expect(parseYaml(readFileSync(b.kubeconfig, 'utf8')).contexts.map((c: { name: string }) => c.name)).toEqual(['ankra-fleet-3', 'ankra-fleet-7']);
      expect(r.stderr).not.toContain('skipped');
      const log = await emu.requests();
      const mints = log.filter((e) => e.method === 'POST' && e.path.endsWith('/k8s-token'));
      expect(mints.map((e) => e.path).sort()).toEqual(granted.map(([id]) => `/api/v1/clusters/${id}/k8s-token`).sort());
      expect(log.filter((e) => e.status === 429)).toEqual([]);
      // every cluster's grant list was read once instead
      const lists = log.filter((e) => e.method === 'GET' && e.path.endsWith('/access/grants'));
      expect(lists.length).toBe(new Set(lists.map((e) => e.path)).size);
      expect(lists.length).toBeGreaterThanOrEqual(22);
    } finally {
      await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 60 });
      for (const [cluster, id] of granted) await emu.api('DELETE', `/api/v1/clusters/${cluster}/access/grants/${id}`, { token: emu.tokens[EMAIL.admin] });
    }
  });

  it('says why a cluster cannot be added: a sandbox, or no access gateway for the deployment', async () => {
    const b = box('bob');
    const sandboxCluster = await run(b, ['cluster', 'kubeconfig', 'add', 'sandbox-1']);
    expect(sandboxCluster.code).toBe(1);
    expect(sandboxCluster.stderr).toContain('Cluster Access is not available for sandbox clusters (sandbox-1 is one)');
    await emu.hook('POST', 'gateway', { enabled: false });
    try {
      for (const args of [['--all'], ['staging']]) {
        const r = await run(b, ['cluster', 'kubeconfig', 'add', ...args]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr.trim()).toBe('ankra: Cluster Access is not enabled for this cluster or Ankra deployment; ask your Ankra administrator to enable the access gateway');
      }
    } finally {
      await emu.hook('POST', 'gateway', { enabled: true });
    }
    expect(existsSync(b.kubeconfig)).toBe(false);
  });

  it("names a second cluster called staging (another organisation's) after its organisation; --org removes only that organisation's", async () => {
    const b = box('bob');
    ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging']));
    const r = ok(await run(b, ['--org', 'globex', 'cluster', 'kubeconfig', 'add', 'staging', '--namespace', 'team-a']));
    expect(r.stderr).toContain('Added context ankra-globex-staging');
    const list = JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'])).stdout);
    expect(list).toMatchObject([
      { context: 'ankra-staging', cluster_id: S, org_id: IDS.orgs.acme },
      { context: 'ankra-globex-staging', cluster_id: IDS.clusters.globexStaging, org_id: IDS.orgs.globex, namespace: 'team-a' },
    ]);
    const removed = ok(await run(b, ['--org', 'globex', 'cluster', 'kubeconfig', 'remove', 'staging']));
    expect(removed.stderr).toContain('Removed context ankra-globex-staging');
    expect(JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'])).stdout)).toMatchObject([{ context: 'ankra-staging', org_id: IDS.orgs.acme }]);
  });

  it('without a grant adds nothing (exit 6) and names the line an admin would run, with the real email', async () => {
    const b = box('alice');
    const r = await run(b, ['cluster', 'kubeconfig', 'add', 'staging']);
    expect(r.code).toBe(6);
    expect(r.stderr).toBe('ankra: you have no access grant on staging: nothing was added; ask an organisation admin to run `ankra cluster access grant alice@acme.test --cluster staging`\n');
    expect(existsSync(b.kubeconfig)).toBe(false);
  });

  it('no grant here but one in your other organisation: says so, with the --org to use', async () => {
    // dave belongs to acme (current) and globex, and has a grant on globex's staging only
    for (const organisation of ['acme', 'globex']) await emu.hook('POST', 'users', { email: 'dave@acme.test', organisation });
    const grantRes = await emu.api('POST', `/api/v1/clusters/${IDS.clusters.globexStaging}/access/grants`, {
      token: emu.tokens[EMAIL.globexAdmin],
      org: IDS.orgs.globex,
      body: { user_email: 'dave@acme.test', scope: 'cluster', role: 'view' },
    });
    expect([200, 201]).toContain(grantRes.status);
    const dave = (await emu.hook('POST', 'users', { email: 'dave@acme.test', organisation: 'acme' })) as { token: string };
    const b = box('alice', { ANKRA_API_TOKEN: dave.token });
    const one = await run(b, ['cluster', 'kubeconfig', 'add', 'staging']);
    expect(one.code).toBe(6);
    expect(one.stderr).toBe('ankra: you have no access grant on staging in acme, but you have one on staging in globex; run `ankra --org globex cluster kubeconfig add staging`\n');
    const all = await run(b, ['cluster', 'kubeconfig', 'add', '--all']);
    expect(all.code).toBe(3);
    expect(all.stderr).toContain('you have no access grant on any cluster of this organisation; you have access in globex: run `ankra --org globex cluster kubeconfig add --all`');
    expect(existsSync(b.kubeconfig)).toBe(false);
    ok(await run(b, ['--org', 'globex', 'cluster', 'kubeconfig', 'add', 'staging']));
  });

  it('follows KUBECONFIG: a new entry goes to the first existing file', async () => {
    const b = box('bob');
    const [a, c] = [join(b.dir, 'a.yaml'), join(b.dir, 'c.yaml')];
    writeFileSync(c, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging'], { KUBECONFIG: `${a}:${c}` }));
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(c, 'utf8')).toContain('name: ankra-staging');
    const list = JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'], { KUBECONFIG: `${a}:${c}` })).stdout);
    expect(list).toMatchObject([{ context: 'ankra-staging', file: c }]);
  });

  it('add then remove restores a commented kubectl-written file byte for byte; --use and current-context', async () => {
    const b = box('bob');
    mkdirSync(join(b.home, '.kube'), { recursive: true });
    copyFileSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), b.kubeconfig);
    const original = readFileSync(b.kubeconfig);
    ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging', '--use', '--namespace', 'team-a']));
    const added = readFileSync(b.kubeconfig, 'utf8');
    expect(parseYaml(added)['current-context']).toBe('ankra-staging');
    const removed = ok(await run(b, ['cluster', 'kubeconfig', 'remove', 'staging']));
    expect(removed.stderr).toContain('Removed context ankra-staging');
    expect(removed.stderr).toContain('current-context was one of them');
    const back = readFileSync(b.kubeconfig, 'utf8');
    // Only current-context differs (it pointed at our context, now cleared).
    const strip = (s: string) => s.replace(/^current-context:.*$/m, '');
    expect(strip(back)).toBe(strip(original.toString('utf8')));
  });

  it('removes by id, by context name and --all; an unknown one is exit 3', async () => {
    const b = box('bob');
    ok(await run(b, ['cluster', 'kubeconfig', 'add', '--all']));
    expect((await run(b, ['cluster', 'kubeconfig', 'remove', 'nope'])).code).toBe(3);
    ok(await run(b, ['cluster', 'kubeconfig', 'remove', S]));
    ok(await run(b, ['cluster', 'kubeconfig', 'remove', 'ankra-prod-eu']));
    expect(JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'])).stdout)).toEqual([]);
    ok(await run(b, ['cluster', 'kubeconfig', 'add', '--all']));
    const all = ok(await run(b, ['cluster', 'kubeconfig', 'remove', '--all', '-o', 'json']));
    expect(JSON.parse(all.stdout)).toHaveLength(2);
  });

  it('entries written with --exec-command stay listable, and a later add replaces them in place', async () => {
    const b = box('bob');
    const wrapper = join(b.dir, 'ankra-wrapper.sh');
    ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging', '--exec-command', wrapper]));
    expect(JSON.parse(ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'])).stdout)).toMatchObject([{ context: 'ankra-staging', command: wrapper }]);
    const again = ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging']));
    expect(again.stderr).toContain('Updated context ankra-staging');
    const config = parseYaml(readFileSync(b.kubeconfig, 'utf8'));
    expect(config.users).toHaveLength(1);
    expect(config.users[0].user.exec.command).not.toBe(wrapper);
    expect((await run(b, ['cluster', 'kubeconfig', 'add', 'staging', '--exec-command', ''])).code).toBe(2);
  });

  it('reports a file that is not kubeconfig YAML and leaves it untouched', async () => {
    const b = box('bob');
    mkdirSync(join(b.home, '.kube'), { recursive: true });
    const bad = 'apiVersion: v1\nclusters:\n  - name: x\n    cluster: {server: "unterminated\n';
    writeFileSync(b.kubeconfig, bad);
    const r = await run(b, ['cluster', 'kubeconfig', 'add', 'staging']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(b.kubeconfig);
    expect(readFileSync(b.kubeconfig, 'utf8')).toBe(bad);
  });

  it('usage errors: --use with --all, a cluster with --all, --print with --kubeconfig', async () => {
    const b = box('bob');
    for (const args of [
      ['--all', '--use'],
      ['staging', '--all'],
      ['staging', '--print', '--kubeconfig', join(b.dir, 'x')],
      ['staging', '--namespace', 'Bad'],
    ]) {
      const r = await run(b, ['cluster', 'kubeconfig', 'add', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(existsSync(b.kubeconfig)).toBe(false);
  });

  it.skipIf(SKIP_KUBECTL)('--print writes a standalone kubeconfig to stdout and no file', async () => {
    const b = box('bob');
    const r = ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging', '--print', '--namespace', 'team-a']));
    expect(existsSync(b.kubeconfig)).toBe(false);
    const file = join(b.dir, 'printed.yaml');
    writeFileSync(file, r.stdout);
    const view = await kubectl(['config', 'view', '--kubeconfig', file, '-o', 'json'], b.env);
    expect(view.code, view.stderr).toBe(0);
    expect(JSON.parse(view.stdout)).toMatchObject({ 'current-context': 'ankra-staging', contexts: [{ name: 'ankra-staging', context: { namespace: 'team-a' } }] });
    const pods = await kubectl(['--kubeconfig', file, 'get', 'pods'], b.env);
    expect(pods.code, pods.stderr).toBe(0);
  });
});

/** Whether this process may bind-mount a file (root, in a sandbox that permits it). */
const canBindMount = await (async () => {
  if (process.getuid?.() !== 0) return false;
  const b = sandbox();
  try {
    const [a, c] = [join(b.dir, 'a'), join(b.dir, 'c')];
    writeFileSync(a, '');
    writeFileSync(c, '');
    const mounted = await promisify(execFile)('mount', ['--bind', a, c]).then(() => true, () => false);
    if (mounted) await promisify(execFile)('umount', [c]);
    return mounted;
  } finally {
    b.cleanup();
  }
})();
if (!canBindMount) process.stderr.write('kubeconfig-cli: the bind-mount case is skipped: mount --bind needs root and a sandbox that permits it\n');

/** Whether this process may bind-mount a file (root, and a sandbox that allows it). */
const BIND_MOUNT_REFUSAL = await (async () => {
  if (process.getuid?.() !== 0) return `mount --bind needs root (this is uid ${process.getuid?.()})`;
  const dir = join(ROOT, 'node_modules', '.cache', `ankra-bind-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a'), '');
    writeFileSync(join(dir, 'b'), '');
    await promisify(execFile)('mount', ['--bind', join(dir, 'a'), join(dir, 'b')]);
    await promisify(execFile)('umount', [join(dir, 'b')]);
    return undefined;
  } catch (err) {
    return `mount --bind is not permitted here: ${(err as Error).message.split('\n')[0]}`;
  }
})();
if (BIND_MOUNT_REFUSAL) process.stderr.write(`kubeconfig-cli: the bind-mount test is skipped: ${BIND_MOUNT_REFUSAL}\n`);

describe('kubeconfig files as people have them', () => {
  const KUBECTL_STYLE = join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml');
  const run$ = promisify(execFile);

  /** One line on stderr, naming `file`, and the exit code. */
  function refused(r: RunResult, code: number, ...words: string[]): void {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const w of words) expect(lines[0]).toContain(w);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }

  it.skipIf(BIND_MOUNT_REFUSAL !== undefined)('a bind-mounted kubeconfig (rename refused: EBUSY) is written in place, and --debug says so', async () => {
    const b = box('bob');
    const host = join(b.dir, 'host-config');
    copyFileSync(KUBECTL_STYLE, host);
    chmodSync(host, 0o640);
    mkdirSync(join(b.home, '.kube'));
    writeFileSync(b.kubeconfig, '');
    await run$('mount', ['--bind', host, b.kubeconfig]);
    try {
      const inode = statSync(b.kubeconfig).ino;
      const r = ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging', '--debug']));
      expect(r.stderr).toContain(`debug: wrote ${b.kubeconfig}: in place (rename refused: EBUSY), spliced into the original text\n`);
      expect(statSync(b.kubeconfig).ino).toBe(inode);
      // the host's file is the one that changed, with its mode; nothing is left beside the mount
      const written = readFileSync(host, 'utf8');
      expect(written.startsWith(readFileSync(KUBECTL_STYLE, 'utf8').split('\n')[0] ?? '')).toBe(true);
      expect(parseYaml(written).contexts.map((c: { name: string }) => c.name)).toContain('ankra-staging');
      expect(statSync(host).mode & 0o777).toBe(0o640);
      expect(readdirSync(join(b.home, '.kube'))).toEqual(['config']);
      const removed = ok(await run(b, ['cluster', 'kubeconfig', 'remove', 'staging', '--debug']));
      expect(removed.stderr).toContain(`debug: wrote ${b.kubeconfig}: in place (rename refused: EBUSY)\n`);
      expect(readFileSync(host)).toEqual(readFileSync(KUBECTL_STYLE));
    } finally {
      await run$('umount', [b.kubeconfig]).catch(() => undefined);
    }
  });

  it('a read-only kubeconfig is refused (exit 1) and keeps its bytes and mode', async () => {
    const b = box('bob');
    mkdirSync(join(b.home, '.kube'));
    copyFileSync(KUBECTL_STYLE, b.kubeconfig);
    chmodSync(b.kubeconfig, 0o444);
    const before = readFileSync(b.kubeconfig);
    refused(await run(b, ['cluster', 'kubeconfig', 'add', 'staging']), 1, b.kubeconfig, 'read-only (mode 0444)', 'chmod u+w');
    expect(readFileSync(b.kubeconfig)).toEqual(before);
    expect(statSync(b.kubeconfig).mode & 0o777).toBe(0o444);
    expect(readdirSync(join(b.home, '.kube'))).toEqual(['config']);
  });

  it.each([':', '::'])('KUBECONFIG=%j (no file) is refused (exit 2) rather than writing ~/.kube/config; list shows what kubectl shows: nothing', async (value) => {
    const b = box('bob');
    const r = await run(b, ['cluster', 'kubeconfig', 'add', 'staging'], { KUBECONFIG: value });
    refused(r, 2, 'KUBECONFIG', 'names no file', '--kubeconfig');
    expect(existsSync(join(b.home, '.kube'))).toBe(false);
    const list = ok(await run(b, ['cluster', 'kubeconfig', 'list', '-o', 'json'], { KUBECONFIG: value }));
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('a Latin-1 kubeconfig is refused (exit 1) and keeps every byte', async () => {
    const b = box('bob');
    mkdirSync(join(b.home, '.kube'));
    copyFileSync(join(ROOT, 'fixtures', 'kubeconfig', 'invalid-latin1.yaml'), b.kubeconfig);
    const before = readFileSync(b.kubeconfig);
    for (const args of [['add', 'staging'], ['remove', '--all'], ['list']]) {
      refused(await run(b, ['cluster', 'kubeconfig', ...args]), 1, b.kubeconfig, 'not UTF-8 text (byte 0xe9 on line 1)');
    }
    expect(readFileSync(b.kubeconfig)).toEqual(before);
  });

  it('a FIFO as the kubeconfig is refused at once (exit 1), by list and add alike', async () => {
    const b = box('bob');
    mkdirSync(join(b.home, '.kube'));
    await run$('mkfifo', [b.kubeconfig]);
    for (const args of [['list'], ['add', 'staging']]) {
      const started = Date.now();
      const r = await ankra(['cluster', 'kubeconfig', ...args], { env: b.env, timeoutMs: 10_000 });
      refused(r, 1, b.kubeconfig, 'named pipe (FIFO)');
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    expect(statSync(b.kubeconfig).isFIFO()).toBe(true);
  });

  it.runIf(canBindMount)('a kubeconfig bind-mounted into a "container" (rename refused) is edited in place: add, then remove restores it', async () => {
    const b = box('bob');
    const host = join(b.dir, 'host-kubeconfig');
    copyFileSync(KUBECTL_STYLE, host);
    mkdirSync(join(b.home, '.kube'));
    writeFileSync(b.kubeconfig, '');
    await run$('mount', ['--bind', host, b.kubeconfig]);
    try {
      const ino = statSync(b.kubeconfig).ino;
      ok(await run(b, ['cluster', 'kubeconfig', 'add', 'staging']));
      expect(readFileSync(host, 'utf8')).toContain('name: ankra-staging');
      expect(statSync(b.kubeconfig).ino).toBe(ino);
      ok(await run(b, ['cluster', 'kubeconfig', 'remove', 'staging']));
      expect(readFileSync(host)).toEqual(readFileSync(KUBECTL_STYLE));
      expect(readdirSync(join(b.home, '.kube'))).toEqual(['config']);
    } finally {
      await run$('umount', [b.kubeconfig]);
    }
  });
});
