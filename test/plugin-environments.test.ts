// The exec plugin in environments where it must not fail or leak, through the built binary
// against the emulator: no home (HOME unset for a uid without a passwd entry, HOME empty or
// relative), a read-only HOME, cache directories that are foreign, open to others or in the
// way, planted links, a lock left by a process whose pid was recycled, 32 processes on a
// cold cache (ten times), and odd expiries from the API (a test-local HTTP server playing
// the one endpoint involved). Uid switches need root (setpriv); the read-only mount needs a
// mount namespace (unshare -m), and is skipped without one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANKRA_BIN, ankra, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { IN_CI } from './helpers/kubectl';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';

const S = IDS.clusters.staging;
const mintPath = `/api/v1/clusters/${S}/k8s-token`;
const UID = 12345; // no passwd entry on the test machine (checked below)
const IS_ROOT = process.getuid?.() === 0;
const CAN_UNSHARE = IS_ROOT && spawnSync('unshare', ['-m', 'true']).status === 0;
// A read-only mount needs root and a private mount namespace (not an installable service).
if (!CAN_UNSHARE) console.warn(`skipped: the read-only HOME test needs root and \`unshare -m\` (util-linux): ${IS_ROOT ? 'unshare -m is not permitted here' : 'run the tests as root'}`);
// In CI these must run (as root); elsewhere they are skipped without root.
const SKIP_ROOT = !IS_ROOT && !IN_CI;
const EXEC_INFO = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });

let emu: InProcessEmulator;
let shared: string; // world-readable: the CA for processes of another uid
let caFile: string;
const cleanups: (() => void)[] = [];

const tokenOf = (r: RunResult) => JSON.parse(r.stdout).status.token as string;
const mints = async () => (await emu.requests({ method: 'POST', path: mintPath })).length;

function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice], ...extra });
  // Where "said once" is remembered: a fresh sticky, world-writable dir per sandbox, like /tmp.
  const notes = join(b.dir, 'tmp');
  mkdirSync(notes);
  chmodSync(notes, 0o1777);
  b.env.TMPDIR = notes;
  delete b.env.XDG_RUNTIME_DIR;
  cleanups.push(() => b.cleanup());
  chmodSync(b.dir, 0o755);
  return b;
}

const ARGS = ['cluster', 'kube-token', '--cluster', S];
const plugin = (env: NodeJS.ProcessEnv, cwd?: string) => ankra(ARGS, { env, cwd });
/** The plugin as another uid, without supplementary groups (as in a container). */
const pluginAs = (uid: number, env: NodeJS.ProcessEnv, cwd: string) =>
  runProgram('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', process.execPath, ANKRA_BIN, ...ARGS], { env, cwd });
/** The plugin with `dir` mounted read-only (its own mount namespace). */
const pluginReadOnly = (dir: string, env: NodeJS.ProcessEnv, cwd: string) =>
  runProgram('unshare', ['-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir, process.execPath, ANKRA_BIN, ...ARGS], { env, cwd });

const noCacheLine = (problem: string) => `ankra: not caching Kubernetes tokens: ${problem}; until then every kubectl call asks Ankra for a new token\n`;

/** Runs twice: a token each time, the warning the first time only, a mint each time. */
async function expectUncachedTwice(run: () => Promise<RunResult>, problem: string | RegExp): Promise<void> {
  await emu.clearRequests();
  const first = await run();
  expect(first.code, first.stderr).toBe(0);
  expect(tokenOf(first)).toMatch(/^ankra_k8s_/);
  if (typeof problem === 'string') expect(first.stderr).toBe(noCacheLine(problem));
  else {
    expect(first.stderr.split('\n')).toHaveLength(2);
    expect(first.stderr).toMatch(problem);
  }
  const second = await run();
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).toBe('');
  expect(await mints()).toBe(2);
}

function emptyDir(parent: string, name = 'cwd', mode = 0o777): string {
  const d = join(parent, name);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
}

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 0 });
  await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 100_000 });
  const g = await emu.api('POST', `/api/v1/clusters/${S}/access/grants`, { token: emu.tokens[EMAIL.admin], body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' } });
  expect(g.status).toBe(201);
  await emu.hook('POST', 'reconcile/now');
  shared = mkdtempSync(join(tmpdir(), 'ankra-env-'));
  chmodSync(shared, 0o755);
  caFile = join(shared, 'ca.pem');
  copyFileSync(emu.caFile, caFile);
  chmodSync(caFile, 0o644);
});
afterAll(async () => {
  await emu?.stop();
  for (const c of cleanups) c();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

describe.skipIf(SKIP_ROOT)('no home directory', () => {
  it('HOME unset for a uid without a passwd entry: mints without caching, says so once, writes nothing under the current directory', async () => {
    expect(spawnSync('getent', ['passwd', String(UID)]).status).not.toBe(0);
    const b = box();
    const { HOME: _home, XDG_CACHE_HOME: _cache, XDG_CONFIG_HOME: _config, ...env } = b.env;
    const cwd = emptyDir(b.dir);
    await expectUncachedTwice(() => pluginAs(UID, env, cwd), `HOME is not set and uid ${UID} has no home directory; set HOME, or XDG_CACHE_HOME to a private directory of yours`);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('HOME unset for such a uid, with an absolute XDG_CACHE_HOME: that cache is used', async () => {
    const b = box();
    const cache = emptyDir(b.dir, 'cache', 0o700);
    chownSync(cache, UID, UID);
    const { HOME: _home, XDG_CONFIG_HOME: _config, ...rest } = b.env;
    const env = { ...rest, XDG_CACHE_HOME: cache };
    const cwd = emptyDir(b.dir);
    await emu.clearRequests();
    const first = await pluginAs(UID, env, cwd);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const second = await pluginAs(UID, env, cwd);
    expect(tokenOf(second)).toBe(tokenOf(first));
    expect(await mints()).toBe(1);
    const tokens = join(cache, 'ankra', 'tokens');
    expect(statSync(tokens)).toMatchObject({ uid: UID, mode: expect.any(Number) });
    expect(statSync(tokens).mode & 0o777).toBe(0o700);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it.each([
    ['empty', '', 'HOME is set but empty'],
    ['relative', 'rel/home', 'HOME is not an absolute path ("rel/home")'],
  ])('HOME %s: no cache, said once, nothing under the current directory', async (_what, home, problem) => {
    const b = box();
    const { XDG_CACHE_HOME: _c, XDG_CONFIG_HOME: _g, ...rest } = b.env;
    const env = { ...rest, HOME: home };
    const cwd = emptyDir(b.dir);
    if (home) mkdirSync(join(cwd, home), { recursive: true });
    await expectUncachedTwice(() => plugin(env, cwd), `${problem}; set HOME, or XDG_CACHE_HOME to a private directory of yours`);
    expect(readdirSync(cwd)).toEqual(home ? ['rel'] : []);
    if (home) expect(readdirSync(join(cwd, home))).toEqual([]);
  });
});

describe.skipIf(SKIP_ROOT)('unusable cache directories', () => {
  // A real read-only mount needs a mount namespace (CAP_SYS_ADMIN; not in an unprivileged
  // container). The next test covers the same refusal by permissions everywhere.
  it.skipIf(!CAN_UNSHARE)('a read-only HOME (readOnlyRootFilesystem): no cache, said once', async () => {
    const b = box();
    const { XDG_CACHE_HOME: _c, ...env } = b.env;
    await expectUncachedTwice(() => pluginReadOnly(b.home, env, b.dir), `${b.home}/.cache/ankra/tokens cannot be created: the file system is read-only; set XDG_CACHE_HOME to a writable directory of yours`);
    // The tokens directory exists (say, baked into the image) but cannot be written.
    const tokens = join(b.home, '.cache', 'ankra', 'tokens');
    mkdirSync(tokens, { recursive: true, mode: 0o700 });
    await expectUncachedTwice(() => pluginReadOnly(b.home, env, b.dir), `cannot write in ${tokens} (EROFS); set XDG_CACHE_HOME to a writable directory of yours`);
    expect(readdirSync(tokens)).toEqual([]);
  });

  it('a HOME this uid cannot write: no cache, said once', async () => {
    const b = box();
    chmodSync(b.home, 0o755); // root's, as in an image where HOME was never made the user's
    await expectUncachedTwice(() => pluginAs(UID, b.env, b.dir), `${b.home}/.cache/ankra/tokens cannot be created: permission denied; set XDG_CACHE_HOME to a writable directory of yours`);
  });

  it('a cache directory owned by another uid is not used (nothing written into it)', async () => {
    const b = box();
    const tokens = join(b.home, '.cache', 'ankra', 'tokens');
    mkdirSync(tokens, { recursive: true, mode: 0o700 });
    chownSync(tokens, UID, UID);
    await expectUncachedTwice(() => plugin(b.env), `${tokens} is owned by uid ${UID}, not by you (uid 0); remove it`);
    expect(readdirSync(tokens)).toEqual([]);
  });

  it.each([
    ['the tokens directory', 'tokens', 0o777, (d: string) => `${d} is writable by others (mode 777); run \`chmod 700 ${d}\``],
    ['the tokens directory (group)', 'tokens', 0o770, (d: string) => `${d} is writable by others (mode 770); run \`chmod 700 ${d}\``],
    ['its parent', 'ankra', 0o777, (d: string) => `${d} is writable by others (mode 777); run \`chmod 700 ${d}\``],
  ])('%s open to others is not used (nothing written into it)', async (_what, which, mode, problem) => {
    const b = box();
    const tokens = join(b.home, '.cache', 'ankra', 'tokens');
    mkdirSync(tokens, { recursive: true, mode: 0o700 });
    const open = which === 'tokens' ? tokens : join(b.home, '.cache', 'ankra');
    chmodSync(open, mode);
    await expectUncachedTwice(() => plugin(b.env), problem(open));
    expect(readdirSync(tokens)).toEqual([]);
  });

  it('a file where the cache directory should be', async () => {
    const b = box();
    mkdirSync(join(b.home, '.cache'));
    writeFileSync(join(b.home, '.cache', 'ankra'), 'not a directory');
    await expectUncachedTwice(() => plugin(b.env), `${b.home}/.cache/ankra/tokens cannot be created: a file is in the way; remove it`);
    expect(readFileSync(join(b.home, '.cache', 'ankra'), 'utf8')).toBe('not a directory');
  });
});

describe('planted files in the cache directory', () => {
  async function primed(): Promise<{ b: Sandbox; dir: string; key: string; first: string }> {
    const b = box();
    const r = await plugin(b.env);
    expect(r.code, r.stderr).toBe(0);
    const dir = join(b.home, '.cache', 'ankra', 'tokens');
    const file = readdirSync(dir).find((f) => f.endsWith('.json')) ?? '';
    return { b, dir, key: file.slice(0, -'.json'.length), first: tokenOf(r) };
  }
  const planted = (token: string) =>
    JSON.stringify({ v: 1, token, issued_at: new Date().toISOString(), expires_at: new Date(Date.now() + 600_000).toISOString(), base_url: emu.baseUrl });

  it('a <key>.json that is a symbolic link is not used nor followed, and one open to others is not used', async () => {
    const { b, dir, key } = await primed();
    const elsewhere = join(b.dir, 'elsewhere.json');
    writeFileSync(elsewhere, planted('planted-token'), { mode: 0o600 });
    rmSync(join(dir, `${key}.json`));
    symlinkSync(elsewhere, join(dir, `${key}.json`));
    const r = await plugin(b.env);
    expect(r.code, r.stderr).toBe(0);
    expect(tokenOf(r)).toMatch(/^ankra_k8s_/);
    expect(lstatSync(join(dir, `${key}.json`)).isFile()).toBe(true); // replaced, not written through
    expect(JSON.parse(readFileSync(elsewhere, 'utf8')).token).toBe('planted-token');

    writeFileSync(join(dir, `${key}.json`), planted('world-readable-token'));
    chmodSync(join(dir, `${key}.json`), 0o644);
    const again = await plugin(b.env);
    expect(tokenOf(again)).toMatch(/^ankra_k8s_/);
  });

  it('<key>.served, <key>.error and <key>.lock planted as symbolic links are never followed', async () => {
    const { b, dir, key, first } = await primed();
    const victim = join(b.dir, 'victim');
    writeFileSync(victim, 'untouched\n', { mode: 0o600 });
    for (const ext of ['served', 'error']) symlinkSync(victim, join(dir, `${key}.${ext}`));
    const env = { ...b.env, KUBERNETES_EXEC_INFO: EXEC_INFO };
    const hit = await plugin(env);
    expect(hit.code, hit.stderr).toBe(0);
    expect(tokenOf(hit)).toBe(first);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(lstatSync(join(dir, `${key}.served`)).isFile()).toBe(true);

    rmSync(join(dir, `${key}.json`));
    symlinkSync(victim, join(dir, `${key}.lock`));
    const t0 = Date.now();
    const miss = await plugin(env);
    expect(miss.code, miss.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 60 s lock timeout
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
  });
});

describe('locks', () => {
  it('a lock whose pid now belongs to another live process does not hold kube-token up', async () => {
    const b = box();
    const r = await plugin(b.env);
    expect(r.code).toBe(0);
    const dir = join(b.home, '.cache', 'ankra', 'tokens');
    const key = (readdirSync(dir).find((f) => f.endsWith('.json')) ?? '').slice(0, -'.json'.length);
    rmSync(join(dir, `${key}.json`));
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      // Left by a kube-token that died; its pid now runs `sleep`, which started later.
      writeFileSync(join(dir, `${key}.lock`), `${other.pid} ${hostname()} deadbeef 1@${boot}`, { mode: 0o600 });
      let t0 = Date.now();
      const fresh = await plugin(b.env);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);

      // The same, written by an older ankra (no start time): broken once older than any holder.
      rmSync(join(dir, `${key}.json`));
      writeFileSync(join(dir, `${key}.lock`), `${other.pid} ${hostname()} deadbeef`, { mode: 0o600 });
      const old = (Date.now() - 600_000) / 1000;
      utimesSync(join(dir, `${key}.lock`), old, old);
      t0 = Date.now();
      const again = await plugin(b.env);
      expect(again.code, again.stderr).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      other.kill();
    }
  });

  it('32 processes on a cold cache whose tokens directory does not exist, ten times: one mint each, no failure', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    for (let round = 0; round < 10; round++) {
      rmSync(join(b.home, '.cache'), { recursive: true, force: true });
      await emu.clearRequests();
      const runs = await Promise.all(Array.from({ length: 32 }, () => plugin(b.env)));
      for (const r of runs) {
        expect(r.code, `round ${round}: ${r.stderr}`).toBe(0);
        expect(r.stderr).toBe('');
      }
      expect(new Set(runs.map(tokenOf)).size).toBe(1);
      expect(await mints()).toBe(1);
    }
  }, 240_000);
});

describe('odd expiries from the API', () => {
  let server: Server;
  let base: string;
  let answer: { expiresAt: () => string; date?: () => Date } = { expiresAt: () => new Date(Date.now() + 900_000).toISOString() };
  let served = 0;

  beforeAll(async () => {
    // The one endpoint the plugin calls, answering as the contract allows (a test-local server:
    // the emulator always answers sane values).
    server = createServer((req, res) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer.date) headers.date = answer.date().toUTCString();
      if (req.method === 'POST' && req.url === mintPath) {
        served++;
        res.writeHead(201, headers);
        res.end(JSON.stringify({ token: `odd-token-${served}`, server: `${base}/api/v1/clusters/${S}/k8s`, expires_at: answer.expiresAt() }));
        return;
      }
      res.writeHead(404, headers);
      res.end('{"detail":"Not Found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const oddBox = (extra: NodeJS.ProcessEnv = {}) => {
    const b = sandbox({ ANKRA_BASE_URL: base, ANKRA_API_TOKEN: 'ankra_pat_any_token_for_the_test_server', ...extra });
    cleanups.push(() => b.cleanup());
    return b;
  };
  const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

  it('a year-10000 expiry is clamped to a day: kubectl gets a timestamp it parses, and the token is cached', async () => {
    answer = { expiresAt: () => '+010000-01-01T00:00:00Z' };
    const b = oddBox();
    const r = await plugin(b.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const ts = JSON.parse(r.stdout).status.expirationTimestamp as string;
    expect(ts).toMatch(RFC3339_SECONDS);
    expect(Math.abs(Date.parse(ts) - (Date.now() + 24 * 3600_000))).toBeLessThan(60_000);
    const before = served;
    expect(tokenOf(await plugin(b.env))).toBe(tokenOf(r));
    expect(served).toBe(before);
  });

  it('the largest date, with the server clock behind or not: clamped to a day ahead, no "Invalid time value", no stack', async () => {
    // Moved onto the local clock it is past the largest Date: still a far expiry, so clamped.
    for (const date of [() => new Date(Date.now() - 3600_000), undefined]) {
      answer = { expiresAt: () => '+275760-09-13T00:00:00.000Z', ...(date ? { date } : {}) };
      const r = await plugin(oddBox().env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const at = JSON.parse(r.stdout).status.expirationTimestamp;
      expect(at).toMatch(RFC3339_SECONDS);
      expect(Date.parse(at) - Date.now()).toBeGreaterThan(23 * 3600_000);
      expect(Date.parse(at) - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    }
  });

  it('an expiry in the past is refused with one line', async () => {
    answer = { expiresAt: () => new Date(Date.now() - 3600_000).toISOString() };
    const r = await plugin(oddBox().env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("ankra: Ankra sent a Kubernetes token with an expiry in the past (check this machine's clock); try again; if it persists, report it with `ankra --debug cluster kube-token …`\n");
  });

  it('a zone-less expiry is UTC, whatever the local time zone', async () => {
    const at = Math.floor((Date.now() + 600_000) / 1000) * 1000;
    answer = { expiresAt: () => new Date(at).toISOString().replace(/\.000Z$/, '') };
    for (const tz of ['America/New_York', 'Asia/Kolkata', 'UTC']) {
      const r = await plugin(oddBox({ TZ: tz }).env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).status.expirationTimestamp, tz).toBe(new Date(at).toISOString().replace(/\.000Z$/, 'Z'));
    }
  });
});
