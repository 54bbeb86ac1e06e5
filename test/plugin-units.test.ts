// Table-driven tests of the exec plugin's pure pieces and file-system edges: expiry reading
// and clamping, the ExecCredential timestamp, argv routing, paths without a home, private
// directories and files (no links followed, nothing foreign used), the "say once" memory,
// check scheduling, and locks owned by (pid, process start time).
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LIFETIME_MS, saneExpiry } from '../src/exec/expiry';
import { parseRfc3339 } from '../src/core/time';
import { execCredential, rfc3339Seconds } from '../src/fastpath/exec-credential';
import { CHECK_COMMAND, route } from '../src/main-dispatch';
import { NO_HOME, resolvePaths } from '../src/core/paths';
import { privateDirProblem, readPrivateFile, appendPrivateFile } from '../src/core/fsutil';
import { acquireLock, processStart } from '../src/core/lock';
import { sayOnce } from '../src/cache/notes';
import { CHECK_AFTER_MS, cacheKey, checkDue, claimCheck, openTokenDir, readCached, rememberError, readCachedError, tellReplayed, writeCached, type CachedToken } from '../src/cache/token-cache';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ankra-plugin-unit-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const IS_ROOT = process.getuid?.() === 0;

describe('expiry', () => {
  const Z = Date.UTC(2030, 0, 2, 3, 4, 5);
  it.each([
    ['2030-01-02T03:04:05Z', Z],
    ['2030-01-02T03:04:05.678Z', Z + 678],
    ['2030-01-02T03:04:05.123456789Z', Z + 123],
    ['2030-01-02t03:04:05z', Z],
    // no zone: UTC, as the API contract says (Date.parse would read local time)
    ['2030-01-02T03:04:05', Z],
    ['2030-01-02 03:04:05', Z],
    ['2030-01-02T05:04:05+02:00', Z],
    ['2030-01-01T22:04:05-05:00', Z],
    ['+010000-01-01T00:00:00Z', Date.UTC(10000, 0, 1)],
    ['2030-02-31T00:00:00Z', undefined],
    ['2030-13-01T00:00:00Z', undefined],
    ['2030-01-02T24:00:00Z', undefined],
    ['2030-01-02', undefined],
    ['tomorrow', undefined],
    ['', undefined],
    ['+999999-01-01T00:00:00Z', undefined],
  ])('parseRfc3339(%j)', (text, want) => {
    expect(parseRfc3339(text)).toBe(want);
  });

  const now = Date.UTC(2030, 0, 1);
  it.each([
    { expires: now + 900_000, want: { ms: now + 900_000, clamped: false } },
    { expires: now + MAX_LIFETIME_MS, want: { ms: now + MAX_LIFETIME_MS, clamped: false } },
    { expires: now + MAX_LIFETIME_MS + 1, want: { ms: now + MAX_LIFETIME_MS, clamped: true } },
    { expires: Date.UTC(10000, 0, 1), want: { ms: now + MAX_LIFETIME_MS, clamped: true } },
    { expires: now - 1, want: { problem: expect.stringMatching(/in the past/) } },
    { expires: now + 500, want: { problem: expect.stringMatching(/in the past/) } },
    { expires: Number.NaN, want: { problem: expect.stringMatching(/cannot read/) } },
    { expires: undefined, want: { problem: expect.stringMatching(/cannot read/) } },
  ])('saneExpiry($expires)', ({ expires, want }) => {
    expect(saneExpiry(expires, now)).toEqual(want);
  });

  it.each([
    [Date.UTC(2030, 0, 2, 3, 4, 5, 999), '2030-01-02T03:04:05Z'],
    [Date.UTC(9999, 11, 31, 23, 59, 59), '9999-12-31T23:59:59Z'],
    [Date.UTC(10000, 0, 1), undefined],
    [8.64e15, undefined],
    [-1, undefined],
    [Number.NaN, undefined],
  ])('rfc3339Seconds(%s) → %s', (ms, want) => {
    expect(rfc3339Seconds(ms)).toBe(want);
  });

  it('never prints an expiry kubectl cannot parse, nor throws on one', () => {
    for (const bad of ['+010000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', 'garbage']) {
      const cred = JSON.parse(execCredential('t', bad, 'client.authentication.k8s.io/v1'));
      expect(cred.status).toEqual({ token: 't' });
    }
  });
});

describe('argv is parsed once into a route', () => {
  it.each([
    { argv: ['cluster', 'kube-token', '--cluster', 'c1'], want: { kind: 'kube-token', args: { cluster: 'c1', debug: false } } },
    { argv: ['--org=o', 'cluster', 'kube-token', '--cluster', 'c1', '--debug'], want: { kind: 'kube-token', args: { cluster: 'c1', org: 'o', debug: true } } },
    // no --cluster: the plugin says so itself (exit 2), as it always did
    { argv: ['cluster', 'kube-token'], want: { kind: 'kube-token', args: { debug: false } } },
    { argv: ['cluster', 'kube-token', '--cluster', 'c1', '--bogus'], want: { kind: 'cli' } },
    { argv: ['cluster', 'kube-token', '--help'], want: { kind: 'cli' } },
    { argv: ['cluster', 'list'], want: { kind: 'cli' } },
    { argv: [], want: { kind: 'cli' } },
    { argv: [CHECK_COMMAND, '/d', 'k'], want: { kind: 'check', dir: '/d', key: 'k', caFile: undefined } },
    { argv: [CHECK_COMMAND, '/d', 'k', '--ca-file', '/ca.pem'], want: { kind: 'check', dir: '/d', key: 'k', caFile: '/ca.pem' } },
  ])('$argv', ({ argv, want }) => {
    expect(route(argv)).toEqual(want);
  });
});

describe('paths never depend on the current directory', () => {
  it.each([
    { env: { HOME: '/h' }, home: '/h', token: '/h/.cache/ankra/tokens', problem: undefined },
    { env: { HOME: '/h', XDG_CACHE_HOME: '/c' }, home: '/h', token: '/c/ankra/tokens', problem: undefined },
    { env: { HOME: '/h', XDG_CACHE_HOME: 'rel' }, home: '/h', token: '/h/.cache/ankra/tokens', problem: undefined },
    { env: { HOME: '' }, home: NO_HOME, token: `${NO_HOME}/.cache/ankra/tokens`, problem: /HOME is set but empty/ },
    { env: { HOME: 'rel/home' }, home: NO_HOME, token: `${NO_HOME}/.cache/ankra/tokens`, problem: /HOME is not an absolute path/ },
    { env: { HOME: '', XDG_CACHE_HOME: '/c' }, home: NO_HOME, token: '/c/ankra/tokens', problem: undefined },
  ])('$env', ({ env, home, token, problem }) => {
    const p = resolvePaths(env);
    expect(p.home).toBe(home);
    expect(p.tokenDir).toBe(token);
    for (const v of [p.home, p.configDir, p.tokenDir, p.goCliConfig]) expect(v.startsWith('/')).toBe(true);
    if (problem) expect(p.tokenDirProblem).toMatch(problem);
    else expect(p.tokenDirProblem).toBeUndefined();
  });

  it('HOME unset: the passwd entry, or no home for a uid without one (never a throw)', () => {
    const p = resolvePaths({});
    expect(p.home.startsWith('/')).toBe(true);
  });
});

describe('private directories and files', () => {
  it('creates a missing directory 0700 and accepts it', () => {
    const d = join(tmp(), 'a', 'b');
    expect(privateDirProblem(d, { create: true })).toBeUndefined();
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(privateDirProblem(join(tmp(), 'missing'))).toMatch(/does not exist/);
  });

  it.each([
    ['a symbolic link', (d: string) => (mkdirSync(`${d}-real`, { mode: 0o700 }), symlinkSync(`${d}-real`, d), d), /is a symbolic link; remove it/],
    ['a file', (d: string) => (writeFileSync(d, ''), d), /is not a directory; remove it/],
    ['a file where a parent should be', (d: string) => (writeFileSync(d, ''), join(d, 'sub')), /a file is in the way; remove it/],
    ['world-writable', (d: string) => (mkdirSync(d), chmodSync(d, 0o777), d), /writable by others \(mode 777\); run `chmod 700 /],
    ['group-readable', (d: string) => (mkdirSync(d), chmodSync(d, 0o750), d), /readable by others \(mode 750\)/],
  ])('refuses %s', (_what, make, says) => {
    expect(privateDirProblem(make(join(tmp(), 'dir')), { create: true })).toMatch(says);
  });

  it.skipIf(!IS_ROOT)('refuses a directory owned by another uid, and a parent open to others', () => {
    const d = join(tmp(), 'theirs');
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, 12345, 12345);
    expect(privateDirProblem(d)).toMatch(/is owned by uid 12345, not by you \(uid 0\); remove it/);
    const parent = join(tmp(), 'open');
    mkdirSync(join(parent, 'mine'), { recursive: true, mode: 0o700 });
    chmodSync(parent, 0o777);
    expect(privateDirProblem(join(parent, 'mine'), { checkParent: true })).toMatch(/open is writable by others/);
    chmodSync(parent, 0o1777); // sticky, like /tmp: others cannot move our directory
    expect(privateDirProblem(join(parent, 'mine'), { checkParent: true })).toBeUndefined();
  });

  it('reads and appends only private regular files of ours, never through links', () => {
    const d = tmp();
    const good = join(d, 'good');
    writeFileSync(good, 'secret', { mode: 0o600 });
    expect(readPrivateFile(good)).toBe('secret');
    const open = join(d, 'open');
    writeFileSync(open, 'x', { mode: 0o644 });
    chmodSync(open, 0o644);
    expect(readPrivateFile(open)).toBeUndefined();
    const link = join(d, 'link');
    symlinkSync(good, link);
    expect(readPrivateFile(link)).toBeUndefined();
    const hard = join(d, 'hard');
    linkSync(good, hard);
    expect(readPrivateFile(hard)).toBeUndefined();
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    expect(readPrivateFile(fifo)).toBeUndefined(); // and did not block

    const victim = join(d, 'victim');
    writeFileSync(victim, 'untouched', { mode: 0o600 });
    const planted = join(d, 'planted');
    symlinkSync(victim, planted);
    expect(appendPrivateFile(planted, 'more')).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(appendPrivateFile(join(d, 'fresh'), 'a')).toBe(true);
    expect(statSync(join(d, 'fresh')).mode & 0o777).toBe(0o600);
  });
});

describe('the token cache directory and entries', () => {
  const entry = (over: Partial<CachedToken> = {}): CachedToken => ({
    v: 1,
    token: 't',
    issued_at: new Date(Date.now() - 60_000).toISOString(),
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    base_url: 'https://a',
    server: 'https://a/api/v1/clusters/c/k8s',
    ...over,
  });

  it('is not used without a home, and names the fix', () => {
    expect(openTokenDir(resolvePaths({ HOME: '' }))).toEqual({ problem: expect.stringMatching(/HOME is set but empty; set HOME, or XDG_CACHE_HOME to a private directory of yours/) });
  });

  it('ignores an entry whose expiry no kubectl could parse', () => {
    const d = tmp();
    writeCached(d, 'k', entry({ expires_at: '+010000-01-01T00:00:00.000Z' }));
    expect(readCached(d, 'k')).toBeUndefined();
    writeCached(d, 'k', entry());
    expect(readCached(d, 'k')?.token).toBe('t');
  });

  it('a check is due for a token older than a few seconds not checked since, and claimed by one caller', () => {
    const d = tmp();
    const now = Date.now();
    const e = entry();
    expect(checkDue(d, 'k', entry({ issued_at: new Date(now - 1000).toISOString() }), now)).toBe(false); // just minted
    expect(checkDue(d, 'k', entry({ server: undefined }), now)).toBe(false); // nowhere to check
    expect(checkDue(d, 'k', e, now)).toBe(true);
    expect(claimCheck(d, 'k', now)).toBe(true);
    expect(claimCheck(d, 'k', now)).toBe(false);
    expect(checkDue(d, 'k', e, now)).toBe(false);
    // Once the marker is older than the interval, the next check is due, and claimed once.
    const old = (now - CHECK_AFTER_MS - 1000) / 1000;
    utimesSync(join(d, 'k.check'), old, old);
    expect(checkDue(d, 'k', e, now)).toBe(true);
    expect([claimCheck(d, 'k', now), claimCheck(d, 'k', now)]).toEqual([true, false]);
  });

  it('tells a caller about a failure once, and others still', () => {
    const d = tmp();
    const now = Date.now();
    const f = { message: 'no grant', exitCode: 6, replay: true };
    expect(rememberError(d, 'k', f, 'kubectl-1', now)).toBe(true);
    expect(rememberError(d, 'k', f, 'kubectl-1', now)).toBe(false);
    expect(rememberError(d, 'k', f, 'kubectl-2', now)).toBe(true);
    const e = readCachedError(d, 'k', now);
    expect(e).toMatchObject({ message: 'no grant', exit_code: 6, replay: true, told: ['kubectl-1', 'kubectl-2'] });
    expect(tellReplayed(d, 'k', e as NonNullable<typeof e>, 'kubectl-1')).toBe(false);
    expect(tellReplayed(d, 'k', e as NonNullable<typeof e>, 'kubectl-3')).toBe(true);
    // Without a tracked caller (a person, a script), every call says it.
    expect(rememberError(d, 'k', f, undefined, now)).toBe(true);
    expect(rememberError(d, 'k', f, undefined, now)).toBe(true);
    // Another message is news to everyone.
    expect(rememberError(d, 'k', { ...f, message: 'other' }, 'kubectl-1', now)).toBe(true);
  });

  it('keys are unchanged (existing caches stay valid)', () => {
    expect(cacheKey({ baseUrl: 'https://a', org: 'o', cluster: 'c', identity: 'session:1' })).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('say once, without the cache directory', () => {
  it('says a text once, a different one again, and remembers in a private per-user directory', () => {
    const env = { XDG_RUNTIME_DIR: tmp() };
    expect(sayOnce(env, 'warning A')).toBe(true);
    expect(sayOnce(env, 'warning A')).toBe(false);
    expect(sayOnce(env, 'warning B')).toBe(true);
    const dir = join(env.XDG_RUNTIME_DIR, `ankra-${process.getuid?.()}`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('does not use a notes directory planted as a link or open to others', () => {
    const runtime = tmp();
    const elsewhere = tmp();
    symlinkSync(elsewhere, join(runtime, `ankra-${process.getuid?.()}`));
    const tmpd = tmp();
    const env = { XDG_RUNTIME_DIR: runtime, TMPDIR: tmpd };
    expect(sayOnce(env, 'warning C')).toBe(true);
    expect(sayOnce(env, 'warning C')).toBe(false);
    // It went to TMPDIR, not through the link.
    expect(existsSync(join(tmpd, `ankra-${process.getuid?.()}`))).toBe(true);
    expect(readdirNames(elsewhere)).toEqual([]);
  });
});

function readdirNames(d: string): string[] {
  return execFileSync('ls', ['-A', d], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('locks owned by (pid, process start time)', () => {
  const sleeper = () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    return child;
  };

  it('knows when a process started, and that a dead pid has no start', () => {
    expect(processStart(process.pid)).toMatch(/^\d+@[0-9a-f-]+$/);
    expect(processStart(4194305)).toBeUndefined();
  });

  it('breaks at once a lock whose pid now belongs to another (live) process', async () => {
    const child = sleeper();
    try {
      const path = join(tmp(), 'x.lock');
      // The pid is alive, but it is not the process that took the lock: it started later.
      writeFileSync(path, `${child.pid} ${hostname()} nonce 1@${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`);
      const t0 = Date.now();
      const l = await acquireLock(path, { timeoutMs: 2000 });
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(readFileSync(path, 'utf8')).toContain(`${process.pid} `);
      l.release();
      expect(existsSync(path)).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('waits for a live owner, breaks a lock older than any legitimate holder, and one planted as a link', async () => {
    const child = sleeper();
    try {
      const path = join(tmp(), 'y.lock');
      writeFileSync(path, `${child.pid} ${hostname()} nonce ${processStart(child.pid as number)}`);
      await expect(acquireLock(path, { timeoutMs: 200, what: 'the thing' })).rejects.toThrow(/timed out waiting for the lock on the thing/);
      // An old-format lock (no start time) of a live pid: only its age tells.
      writeFileSync(path, `${child.pid} ${hostname()} nonce`);
      await expect(acquireLock(path, { timeoutMs: 200, maxAgeMs: 120_000 })).rejects.toThrow(/timed out/);
      const old = (Date.now() - 300_000) / 1000;
      utimesSync(path, old, old);
      (await acquireLock(path, { timeoutMs: 1000, maxAgeMs: 120_000 })).release();
    } finally {
      child.kill();
    }
    const d = tmp();
    const victim = join(d, 'victim');
    writeFileSync(victim, 'untouched');
    symlinkSync(victim, join(d, 'z.lock'));
    (await acquireLock(join(d, 'z.lock'), { timeoutMs: 1000 })).release();
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });

  it('many takers on a missing directory: each gets the lock in turn, none fails', async () => {
    const path = join(tmp(), 'not', 'yet', 'k.lock');
    const got: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const l = await acquireLock(path, { timeoutMs: 10_000 });
        got.push(i);
        l.release();
      }),
    );
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });
});
