/**
 * `ankra login`: Ankra's CLI login (a ticket, a browser approval, PKCE polls) end to end,
 * on a pseudo-terminal as a person runs it, against the platform-faithful emulator: approved
 * on the page, awaiting approval and two-factor first, expired, refused, too old a CLI, 5xx
 * while polling, Ctrl-C, and no person to approve (CI, no terminal). A new login replaces the
 * old one only once it succeeded, and revokes it; logout revokes the token; the Go CLI's
 * ~/.ankra.yaml is used, then revoked and blanked. Nothing off the contract's token lane.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ankra, findSecrets, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { approveInBrowser, fileSecret, plainText, settingsPath, startOnPty } from './helpers/login';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];

function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  // CI is unset: a person is at the terminal. BROWSER=none: nothing is opened.
  const sb = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_LOGIN_POLL_MS: '50', BROWSER: 'none', ...extra });
  delete sb.env.CI;
  boxes.push(sb);
  return sb;
}

const AUTH_URL = /(https:\/\/127\.0\.0\.1:\d+\/cli\/login\?state=[\w-]+)/;

/** Logs in on a pty, approving on the page as `email`; returns what the terminal showed. */
async function loginAs(b: Sandbox, email: string, args: string[] = []): Promise<string> {
  await emu.cliLogin({ auto_approve: null });
  const live = startOnPty(['login', ...args], b.env);
  const [, url] = await live.waitFor(AUTH_URL);
  const approved = await approveInBrowser(emu, url as string, email);
  expect(approved.status).toBe(200);
  const r = await live.done;
  expect(r.code, r.stdout).toBe(0);
  return plainText(r.stdout);
}

async function status(b: Sandbox): Promise<Record<string, unknown>> {
  const r = await ankra(['auth', 'status', '-o', 'json'], { env: b.env });
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const storedToken = (b: Sandbox) => {
  const s = fileSecret(b.env, emu.baseUrl);
  return s?.kind === 'api_token' ? s.token : undefined;
};

/** Whether the platform still takes an API token. */
const works = async (token: string) => (await emu.api('GET', '/api/v1/org/organisation', { token })).status === 200;

beforeAll(async () => {
  emu = await startEmulator();
});
beforeEach(async () => {
  await emu.cliLogin({ auto_approve: null, awaiting_polls: 0, mfa_polls: 0, upgrade_required: false });
  await emu.hook('DELETE', 'faults');
});
afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe("ankra login: Ankra's CLI login", () => {
  it('prints the link, is approved on the page, and keeps a named, expiring API token; auth status shows it', async () => {
    const b = box();
    await emu.clearRequests();
    const shown = await loginAs(b, EMAIL.alice);
    expect(shown).toContain(`To log in to ${emu.baseUrl}, open this link and approve the CLI:`);
    // and a QR code of it, for a phone, on a terminal that fits one
    expect(shown).toMatch(/█▀▀▀▀▀▀▀█[▀█▄ ]+█▀▀▀▀▀▀▀█/);
    expect(shown).toMatch(/Logged in to https:\/\/127\.0\.0\.1:\d+ as alice@acme\.test \(token "CLI Login", expires \d{4}-\d\d-\d\d, in 90 days\); kept in /);
    const token = storedToken(b);
    expect(token && (await works(token))).toBe(true);
    expect(findSecrets([shown, readFileSync(settingsPath(b.env), 'utf8')], [token ?? ''])).toEqual([]);
    const s = await status(b);
    expect(s).toMatchObject({ logged_in: true, method: 'ankra_login', email: EMAIL.alice, token_name: 'CLI Login', organisation: 'acme', check: 'ok' });
    const human = await ankra(['auth', 'status'], { env: b.env });
    expect(human.stdout).toContain('- Organisation: acme');
    expect(human.stdout).toMatch(/- Expires: \d{4}-\d\d-\d\d \(in 90 days\)/);
    // init carried the PKCE challenge and this machine's stable id (32 hex), then polls
    const init = await emu.requests({ path: '/api/v1/cli/login/init' });
    expect(init[0]?.query).toMatchObject({ code_challenge: expect.stringMatching(/^[\w-]{43}$/), machine_id: expect.stringMatching(/^[0-9a-f]{32}$/), base_url: emu.baseUrl });
    expect(await emu.offContract({ browser: true })).toEqual([]);
    // the same machine id next time
    await loginAs(b, EMAIL.alice);
    const again = await emu.requests({ path: '/api/v1/cli/login/init' });
    expect(again.at(-1)?.query.machine_id).toBe(init[0]?.query.machine_id);
  });

  it("sends the machine id Ankra's Go CLI saved in ~/.ankra.yaml, so the platform sees one machine whichever CLI logs in", async () => {
    const b = box();
    const saved = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    writeFileSync(join(b.home, '.ankra.yaml'), `editor: vim\nmachine_id: ${saved}\n`, { mode: 0o600 });
    await emu.clearRequests();
    await loginAs(b, EMAIL.alice);
    const init = await emu.requests({ path: '/api/v1/cli/login/init' });
    expect(init.map((e) => e.query.machine_id)).toEqual([saved]);
  });

  it('says "approve in your browser" while the platform awaits approval, and "finish two-factor" while it awaits the second factor, once each', async () => {
    await emu.cliLogin({ auto_approve: EMAIL.bob, awaiting_polls: 3, mfa_polls: 3 });
    const live = startOnPty(['login'], box().env);
    const r = await live.done;
    const shown = plainText(r.stdout);
    expect(r.code, shown).toBe(0);
    expect(shown.match(/Approve the sign-in in your browser/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(shown).toContain('Finish two-factor authentication in your browser');
    expect(shown.indexOf('Approve the sign-in')).toBeLessThan(shown.indexOf('Finish two-factor'));
    expect(shown).toContain('as bob@acme.test');
  });

  it('keeps polling through 5xx answers and network trouble', async () => {
    await emu.cliLogin({ auto_approve: EMAIL.alice });
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', status: 503, times: 2 });
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', reset: true, times: 1 });
    await emu.clearRequests();
    const r = await startOnPty(['login'], box().env).done;
    expect(r.code, r.stdout).toBe(0);
    expect((await emu.requests({ path: '/api/v1/cli/login/poll' })).map((e) => e.status).slice(0, 4)).toEqual([503, 503, 0, 200]);
  });

  describe('a login that does not complete leaves the previous one untouched', () => {
    let b: Sandbox;
    let before: string | undefined;
    beforeAll(async () => {
      b = box();
      await loginAs(b, EMAIL.alice);
      before = storedToken(b);
    });
    const unchanged = async () => {
      expect(storedToken(b)).toBe(before);
      expect(await works(before ?? '')).toBe(true);
    };

    it('the login session expired (410): exit 6, one line', async () => {
      await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', status: 410, detail: 'Login session expired' });
      const r = await startOnPty(['login'], b.env).done;
      expect(r.code).toBe(6);
      expect(plainText(r.stdout)).toContain('ankra: the login expired before it was approved (Login session expired); run `ankra login` again and approve it within 10 minutes');
      await unchanged();
    });

    it('the platform refused the verifier (403): exit 6', async () => {
      await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', status: 403, detail: 'Invalid code verifier' });
      const r = await startOnPty(['login'], b.env).done;
      expect(r.code).toBe(6);
      expect(plainText(r.stdout)).toContain('ankra: the platform refused this login (Invalid code verifier); run `ankra login` again');
      await unchanged();
    });

    it('this CLI is too old for the platform (426): exit 1, says to upgrade', async () => {
      await emu.cliLogin({ upgrade_required: true });
      const r = await startOnPty(['login'], b.env).done;
      expect(r.code).toBe(1);
      expect(plainText(r.stdout)).toMatch(/ankra: cannot start the login: the Ankra platform needs a newer ankra .*; upgrade ankra/);
      await unchanged();
    });

    it('this CLI is too old (426) while polling, not only at the start: exit 1, says to upgrade', async () => {
      await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', method: 'POST', status: 426, detail: 'Upgrade ankra to continue' });
      await emu.clearRequests();
      const r = await startOnPty(['login'], b.env).done;
      expect(r.code).toBe(1);
      expect(plainText(r.stdout)).toMatch(/ankra: .*the Ankra platform needs a newer ankra \(Upgrade ankra to continue\); upgrade ankra/);
      expect((await emu.requests({ path: '/api/v1/cli/login/poll' })).map((e) => e.status)).toEqual([426]);
      await unchanged();
    });

    it('Ctrl-C while waiting: exit 4, says the previous login is unchanged', async () => {
      const live = startOnPty(['login'], b.env);
      await live.waitFor(AUTH_URL);
      await live.waitFor(/Waiting for you to sign in/);
      live.type('\u0003');
      const r = await live.done;
      expect(r.code).toBe(4);
      expect(plainText(r.stdout)).toContain('ankra: login cancelled; any previous login is unchanged');
      await unchanged();
    });
  });

  it('fails at once, pointing to --with-token, when nobody can approve: CI set, or no terminal', async () => {
    await emu.clearRequests();
    const ci = await startOnPty(['login'], { ...box().env, CI: 'true' }).done;
    expect(ci.code).toBe(6);
    expect(plainText(ci.stdout)).toContain('ankra: nobody can approve a browser login here (CI is set); use an API token: `echo "$ANKRA_TOKEN" | ankra login --with-token`, or set ANKRA_API_TOKEN');
    const piped = await ankra(['login'], { env: box().env });
    expect(piped.code).toBe(6);
    expect(piped.stderr).toContain('nobody can approve a browser login here (no terminal)');
    expect((await emu.requests()).map((e) => `${e.method} ${e.path}`)).toEqual([]);
  });

  it('a new login replaces the previous one only after it succeeds, and revokes the token it replaces', async () => {
    const b = box();
    await loginAs(b, EMAIL.alice);
    const first = storedToken(b) ?? '';
    await loginAs(b, EMAIL.bob);
    const second = storedToken(b) ?? '';
    expect(second).not.toBe(first);
    expect(await works(first)).toBe(false);
    expect(await works(second)).toBe(true);
    expect((await status(b)).email).toBe(EMAIL.bob);
  });

  it('replacing a login whose token the platform already refuses (revoked, expired) warns about nothing', async () => {
    const b = box();
    await loginAs(b, EMAIL.alice);
    const first = storedToken(b) ?? '';
    // the login's token id, as the settings keep it
    const id = /"token_id":\s*"([^"]+)"/.exec(readFileSync(join(b.env.XDG_CONFIG_HOME ?? '', 'ankra', 'config.json'), 'utf8'))?.[1];
    expect(id).toEqual(expect.any(String));
    expect((await emu.api('POST', `/api/v1/org/account/tokens/${id}/revoke`, { token: first })).status).toBeLessThan(300);
    expect(await works(first)).toBe(false);
    const shown = await loginAs(b, EMAIL.bob);
    expect(shown).not.toContain('could not revoke');
    expect(shown).not.toContain('warning');
    expect((await status(b)).email).toBe(EMAIL.bob);
  });

  it('logout revokes the token on the platform and forgets it; --local-only only forgets it', async () => {
    const b = box();
    await loginAs(b, EMAIL.alice);
    const token = storedToken(b) ?? '';
    const out = await ankra(['logout'], { env: b.env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/^Logged out of https:\/\/127\.0\.0\.1:\d+ \(alice@acme\.test\); revoked its token; removed it from /);
    expect(await works(token)).toBe(false);
    expect(storedToken(b)).toBeUndefined();
    expect((await ankra(['cluster', 'list'], { env: b.env })).code).toBe(6);

    await loginAs(b, EMAIL.alice);
    const kept = storedToken(b) ?? '';
    expect((await ankra(['logout', '--local-only'], { env: b.env })).code).toBe(0);
    expect(await works(kept)).toBe(true);
    expect(storedToken(b)).toBeUndefined();
  });

  it('auth login and auth logout are the same commands', async () => {
    const b = box();
    const live = startOnPty(['auth', 'login'], b.env);
    const [, url] = await live.waitFor(AUTH_URL);
    await approveInBrowser(emu, url as string, EMAIL.alice);
    expect((await live.done).code).toBe(0);
    const token = storedToken(b) ?? '';
    expect((await ankra(['auth', 'logout'], { env: b.env })).code).toBe(0);
    expect(await works(token)).toBe(false);
  });
});

describe("Ankra's Go CLI login (~/.ankra.yaml)", () => {
  const goCliFile = (b: Sandbox, token: string, tokenId: string) => {
    const path = join(b.home, '.ankra.yaml');
    writeFileSync(path, goCliText({ base: emu.baseUrl, machine: '0123456789abcdef0123456789abcdef', token, tokenId, name: "'CLI Login'" }), { mode: 0o600 });
    return path;
  };
  /** A ~/.ankra.yaml with what people add by hand: comments, a nested map indented by 4. */
  const goCliText = (v: { base: string; machine: string; token: string; tokenId: string; name: string }) =>
    `# Ankra CLI settings\nbase-url: ${v.base}\nconfig: ""\neditor: vim   # my editor\nmachine_id: ${v.machine}\nprofiles:\n    work:\n        region: eu\ntoken: ${v.token}\ntoken_id: ${v.tokenId}\ntoken_name: ${v.name}\n`;

  it('is used as a saved login, then revoked and blanked by ankra logout, every other key kept', async () => {
    const b = box({ ANKRA_BASE_URL: undefined });
    const { token, token_id } = (await emu.apiToken(EMAIL.alice, { name: 'CLI Login' })) as { token: string; token_id: string };
    const path = goCliFile(b, token, token_id);
    const list = await ankra(['org', 'list', '-o', 'json'], { env: b.env });
    expect(list.code, list.stderr).toBe(0);
    expect((await status(b)).source).toBe('gocli');
    const out = await ankra(['logout'], { env: b.env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain("the login of Ankra's Go CLI in ~/.ankra.yaml");
    expect(await works(token)).toBe(false);
    // Only the five values changed: comments, indentation and the other keys are byte for byte.
    expect(readFileSync(path, 'utf8')).toBe(goCliText({ base: '""', machine: '""', token: '""', tokenId: '""', name: '""' }));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('precedence: --token > a saved login (ours or the Go CLI\'s) > ANKRA_API_TOKEN, with a note when the environment token is ignored', async () => {
    const b = box();
    const { token, token_id } = (await emu.apiToken(EMAIL.bob)) as { token: string; token_id: string };
    goCliFile(b, token, token_id);
    const env = { ...b.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] };
    const viaGoCli = await ankra(['auth', 'status', '-o', 'json'], { env });
    expect(JSON.parse(viaGoCli.stdout)).toMatchObject({ source: 'gocli', email: EMAIL.bob });
    expect(viaGoCli.stderr).toContain("note: ANKRA_API_TOKEN is set but ignored; using the login of Ankra's Go CLI (~/.ankra.yaml)");
    const viaFlag = await ankra(['--token', emu.tokens[EMAIL.admin] ?? '', 'auth', 'status', '-o', 'json'], { env });
    expect(JSON.parse(viaFlag.stdout)).toMatchObject({ source: 'flag', email: EMAIL.admin });
    expect(existsSync(join(b.home, '.ankra.yaml'))).toBe(true);
  });
});
