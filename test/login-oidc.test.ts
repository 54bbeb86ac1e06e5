/**
 * `ankra login --issuer URL --client-id ID`: the OIDC device flow (RFC 8628), for
 * deployments that put an identity provider in front of Ankra and accept its tokens (the
 * emulator in that mode: `acceptOidcTokens`). Nothing advertises the issuer: the user names
 * it. Unattended approval, approval through the verification page's form, denied / expired
 * / cancelled logins that leave the previous session untouched, slow_down, when a browser is
 * opened, and usage errors.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ANKRA_BIN, ankra, findSecrets, runProgram, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import {
  USER_CODE,
  credentialsPath,
  fileSecret,
  fillVerificationPage,
  secretStrings,
  settingsPath,
  startAnkra,
} from './helpers/login';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const STAGING = IDS.clusters.staging;

function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const sb = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...extra });
  boxes.push(sb);
  return sb;
}

const autoApprove = (email: string | null, mode: 'approve' | 'deny' = 'approve') => emu.hook('POST', 'oidc/auto-approve', { email, mode });

async function statusJson(env: NodeJS.ProcessEnv) {
  const r = await ankra(['auth', 'status', '-o', 'json'], { env });
  return { ...r, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

/** The issuer and client the user names. */
const OIDC = () => ['--issuer', emu.issuer, '--client-id', 'ankra-cli'];

beforeAll(async () => {
  emu = await startEmulator({ acceptOidcTokens: true });
  // Tiny polling intervals keep the device flow fast; only the slow_down test waits ~5 s.
  await emu.hook('POST', 'ttl', { poll_interval_s: 0.05 });
  const grant = await emu.api('POST', `/api/v1/clusters/${STAGING}/access/grants`, {
    token: emu.tokens[EMAIL.admin],
    body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
  });
  expect([200, 201]).toContain(grant.status);
});

beforeEach(async () => {
  await autoApprove(null);
  await emu.hook('POST', 'ttl', { device_code_s: 600, poll_interval_s: 0.05 });
});

afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe('ankra login (device flow)', () => {
  it('logs in with unattended approval, then lists grants as that user; no token in any output or the settings', async () => {
    await autoApprove(EMAIL.alice);
    const { env } = box();

    const login = await ankra(['login', ...OIDC(), '--no-browser', '--debug'], { env });

    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');
    const code = USER_CODE.exec(login.stderr)?.[1] ?? '';
    expect(login.stderr).toContain(`open ${emu.issuer}/device and enter the code ${code}`);
    expect(login.stderr).toContain(`(or open ${emu.issuer}/device?user_code=${code})`);
    expect(login.stderr).toContain(`Logged in to ${emu.baseUrl} as ${EMAIL.alice}`);
    expect(login.stderr).not.toContain('█'); // no QR code when stderr is not a terminal
    const secret = fileSecret(env, emu.baseUrl);
    expect(secret).toMatchObject({ kind: 'oidc', access_token: expect.any(String), refresh_token: expect.any(String) });

    await emu.clearRequests();
    const [list, debugList, status] = await Promise.all([
      ankra(['cluster', 'list', '-o', 'json'], { env }),
      ankra(['--debug', 'cluster', 'list'], { env }),
      statusJson(env),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((c) => c.name)).toContain('staging');
    expect(debugList.code, debugList.stderr).toBe(0);
    expect(debugList.stderr).toContain('authorization: Bearer [redacted]');
    expect(await emu.requests({ method: 'GET', path: '/api/v1/clusters' })).toEqual([
      expect.objectContaining({ user: EMAIL.alice, status: 200 }),
      expect.objectContaining({ user: EMAIL.alice, status: 200 }),
    ]);
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({ server: emu.baseUrl, logged_in: true, method: 'oidc', source: 'session', email: EMAIL.alice, store: 'file', check: 'ok' });

    const settings = readFileSync(settingsPath(env), 'utf8');
    const texts = [login.stdout, login.stderr, list.stdout, list.stderr, debugList.stdout, debugList.stderr, status.stdout, status.stderr, settings];
    expect(findSecrets(texts, secretStrings(secret))).toEqual([]);
  });

  it('is approved through the verification page, filled in by an HTTP client while ankra polls', async () => {
    const { env } = box();
    const live = startAnkra(['login', ...OIDC(), '--no-browser'], env);
    const [, pageUrl = ''] = await live.waitForStderr(/\(or open (\S+)\)/);
    const [, code = ''] = await live.waitForStderr(USER_CODE);
    await live.waitForStderr(/Waiting for you to approve/);

    const page = await fillVerificationPage(emu, pageUrl, code, EMAIL.bob, 'approve');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Device approved');

    const done = await live.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`as ${EMAIL.bob}`);
    const status = await statusJson(env);
    expect(status.json).toMatchObject({ email: EMAIL.bob, method: 'oidc', check: 'ok' });
  });

  describe('a login that does not complete leaves the previous session untouched', () => {
    let env: NodeJS.ProcessEnv;
    let before: { secrets: string; settings: string };

    beforeAll(async () => {
      ({ env } = box());
      await autoApprove(EMAIL.alice);
      const first = await ankra(['login', ...OIDC(), '--no-browser'], { env });
      expect(first.code, first.stderr).toBe(0);
      await autoApprove(null);
      before = { secrets: readFileSync(credentialsPath(env), 'utf8'), settings: readFileSync(settingsPath(env), 'utf8') };
    });

    async function expectFirstSessionIntact(): Promise<void> {
      expect(readFileSync(credentialsPath(env), 'utf8')).toBe(before.secrets);
      expect(readFileSync(settingsPath(env), 'utf8')).toBe(before.settings);
      const status = await statusJson(env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.json).toMatchObject({ email: EMAIL.alice, method: 'oidc', check: 'ok' });
    }

    it('denied: exit 6', async () => {
      const live = startAnkra(['login', ...OIDC(), '--no-browser'], env);
      const [, code = ''] = await live.waitForStderr(USER_CODE);
      await live.waitForStderr(/Waiting for you to approve/);
      await emu.hook('POST', 'oidc/deny', { user_code: code });

      const r = await live.done;
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/^ankra: login denied: .*run `ankra login` again/m);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      await expectFirstSessionIntact();
    });

    it('expired code: exit 6', async () => {
      await emu.hook('POST', 'ttl', { device_code_s: 1 });
      const r = await ankra(['login', ...OIDC(), '--no-browser'], { env });
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/^ankra: login expired: the code [A-Z]{4}-[A-Z]{4} was not approved in time; run `ankra login` again$/m);
      await expectFirstSessionIntact();
    });

    it('cancelled with SIGINT while polling: exit 4', async () => {
      const live = startAnkra(['login', ...OIDC(), '--no-browser'], env);
      await live.waitForStderr(/Waiting for you to approve/);
      live.child.kill('SIGINT');

      const r = await live.done;
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/^ankra: login cancelled; any previous login is unchanged$/m);
      await expectFirstSessionIntact();
    });

    it('cancelled with SIGINT during the 5 s wait after a slow_down: exit 4 at once', async () => {
      await emu.hook('POST', 'oidc/slow-down', { times: 1 });
      await emu.clearRequests();
      const live = startAnkra(['login', ...OIDC(), '--no-browser'], env);
      await live.waitForStderr(/Waiting for you to approve/);
      // Wait for the slow_down answer: ankra now waits 5 s before polling again.
      for (let i = 0; i < 200 && (await emu.requests({ path: '/oidc/token', status: 400 })).length === 0; i++) await sleep(10);
      const sent = Date.now();
      live.child.kill('SIGINT');

      const r = await live.done;
      expect(r.code).toBe(4);
      // Not after the 5 s wait (the RFC's fixed slow_down step, so no longer wait to tell apart):
      // the exit takes milliseconds, 4.5 s leaves room for a loaded machine.
      expect(Date.now() - sent).toBeLessThan(4500);
      expect(await emu.requests({ path: '/oidc/token' })).toHaveLength(1);
      await expectFirstSessionIntact();
    });
  });

  it('honours slow_down: the poll gap grows by 5 s, and the login still completes', async () => {
    const { env } = box();
    await autoApprove(EMAIL.alice);
    await emu.hook('POST', 'oidc/slow-down', { times: 1 });
    await emu.clearRequests();

    const r = await ankra(['login', ...OIDC(), '--no-browser'], { env });

    expect(r.code, r.stderr).toBe(0);
    const polls = await emu.requests({ method: 'POST', path: '/oidc/token' });
    expect(polls.map((p) => p.status)).toEqual([400, 200]); // slow_down, then the tokens
    const [first, second] = polls.map((p) => Date.parse(p.ts));
    const gap = (second ?? 0) - (first ?? 0);
    expect(gap).toBeGreaterThanOrEqual(5000); // 0.05 s interval + 5 s (RFC 8628 §3.5)
    expect(gap).toBeLessThan(10_000); // one 5 s increment, not two
    expect(fileSecret(env, emu.baseUrl)).toMatchObject({ kind: 'oidc' });
  });

  it('opens a browser only with a display (or $BROWSER), never in CI or with --no-browser', async () => {
    await autoApprove(EMAIL.alice);
    // A fake browser and a fake xdg-open that record the URL they were given.
    const fake = (sb: Sandbox) => {
      const bin = join(sb.dir, 'bin');
      mkdirSync(bin, { recursive: true });
      const marker = join(sb.dir, 'opened');
      const script = join(bin, 'xdg-open');
      writeFileSync(script, `#!/bin/sh\necho "$1" >> '${marker}'\n`);
      chmodSync(script, 0o755);
      return { script, marker, path: `${bin}:${process.env.PATH ?? ''}` };
    };
    const cases = [
      { name: 'BROWSER set', opens: true, env: (f: ReturnType<typeof fake>) => ({ BROWSER: f.script }), args: [] },
      { name: 'a display, xdg-open', opens: true, env: (f: ReturnType<typeof fake>) => ({ DISPLAY: ':99', PATH: f.path }), args: [] },
      { name: 'no display', opens: false, env: (f: ReturnType<typeof fake>) => ({ PATH: f.path }), args: [] },
      { name: 'CI=true', opens: false, env: (f: ReturnType<typeof fake>) => ({ CI: 'true', BROWSER: f.script, DISPLAY: ':99', PATH: f.path }), args: [] },
      { name: '--no-browser', opens: false, env: (f: ReturnType<typeof fake>) => ({ BROWSER: f.script, DISPLAY: ':99', PATH: f.path }), args: ['--no-browser'] },
      { name: 'BROWSER=none', opens: false, env: (f: ReturnType<typeof fake>) => ({ BROWSER: 'none', DISPLAY: ':99', PATH: f.path }), args: [] },
    ];
    const runs = cases.map((c) => {
      const sb = box();
      const f = fake(sb);
      Object.assign(sb.env, c.env(f));
      return { ...c, f, run: ankra(['login', ...OIDC(), ...c.args], { env: sb.env }) };
    });
    const results = await Promise.all(runs.map((r) => r.run));
    results.forEach((r, i) => expect(r.code, `${runs[i]?.name}: ${r.stderr}`).toBe(0));

    // The browser is spawned detached: give the ones that should open a moment to write.
    for (let i = 0; i < 100 && !runs.filter((r) => r.opens).every((r) => existsSync(r.f.marker)); i++) await sleep(20);
    await sleep(100);
    for (const [i, r] of runs.entries()) {
      expect(existsSync(r.f.marker), r.name).toBe(r.opens);
      if (r.opens) {
        const code = USER_CODE.exec(results[i]?.stderr ?? '')?.[1];
        expect(readFileSync(r.f.marker, 'utf8').trim()).toBe(`${emu.issuer}/device?user_code=${code}`);
      }
    }
  });

  it('on a terminal: an ora spinner while polling; plain lines when the terminal reports no width', async () => {
    await autoApprove(EMAIL.alice);
    // `script` (util-linux) gives ankra a pty; `stty cols` sizes it, or it stays 0 × 0.
    const onPty = (sb: Sandbox, sized: boolean) =>
      runProgram('script', ['-qec', `${sized ? 'stty cols 100 rows 30; ' : ''}'${process.execPath}' '${ANKRA_BIN}' login --issuer ${emu.issuer} --client-id ankra-cli --no-browser`, '/dev/null'], {
        env: { ...sb.env, TERM: 'xterm' },
        timeoutMs: 15_000,
      });
    const [sized, unsized] = [box(), box()];
    const [a, b] = await Promise.all([onPty(sized, true), onPty(unsized, false)]);

    expect(a.code, a.stdout).toBe(0);
    expect(a.stdout).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for you to approve the login/);
    // eslint-disable-next-line no-control-regex
    expect(a.stdout).not.toMatch(/\u001b\[3\dm/); // NO_COLOR: a spinner, but no colours
    expect(a.stdout).toContain(`Logged in to ${emu.baseUrl} as ${EMAIL.alice}`);
    // A QR code of the complete verification URI for a phone, only where it fits.
    expect(a.stdout).toMatch(/█▀▀▀▀▀▀▀█[▀█▄ ]+█▀▀▀▀▀▀▀█/);
    expect(b.stdout).not.toContain('█');
    expect(b.code, b.stdout.slice(0, 2000)).toBe(0);
    expect(b.stdout).toContain('Waiting for you to approve the login');
    expect(b.stdout.length).toBeLessThan(5000); // no runaway redraw loop
    for (const sb of [sized, unsized]) expect(fileSecret(sb.env, emu.baseUrl)).toMatchObject({ kind: 'oidc' });
  });

  it('usage errors: --issuer without --client-id (and the reverse), --token with login: exit 2 before any request', async () => {
    const { env } = box();
    await emu.clearRequests();
    const [a, b, c] = await Promise.all([
      ankra(['login', '--issuer', emu.issuer], { env }),
      ankra(['login', '--client-id', 'ankra-cli'], { env }),
      ankra(['login', '--token', 'x'], { env }),
    ]);
    for (const r of [a, b, c]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(a.stderr).toMatch(/^ankra: --issuer and --client-id go together; pass both/);
    expect(await emu.requests()).toEqual([]);
  });

  it('asks nothing of the Ankra API to find the issuer: only the OIDC provider is talked to, then the token lane', async () => {
    const { env } = box();
    await autoApprove(EMAIL.alice);
    await emu.clearRequests();
    const r = await ankra(['login', ...OIDC(), '--no-browser'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect((await statusJson(env)).json).toMatchObject({ email: EMAIL.alice, check: 'ok' });
    expect(await emu.offContract({ oidc: true })).toEqual([]);
    expect(await emu.requests({ path: '/oidc/device/auth' })).toHaveLength(1);
  });
});
