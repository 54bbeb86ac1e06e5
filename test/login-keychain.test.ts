/**
 * Where a login's secret is kept, driven through the built `ankra`:
 * - with a real OS keychain (a private D-Bus session bus and an unlocked gnome-keyring,
 *   reached through @napi-rs/keyring): the secret goes there, another process reads it,
 *   logout removes it; a secret the keytar build of ankra saved (Secret Service attributes
 *   {service, account}) is found and carried over to the new format once;
 * - with a bus but no usable keychain (no Secret Service; a keyring with no default
 *   collection) and with no D-Bus at all: the 0600 file, and one notice line printed after
 *   the login succeeded, the first time only;
 * - ANKRA_CREDENTIAL_STORE=keychain without a keychain: a clear error before any login starts.
 *
 * The keychain tests need dbus-daemon and gnome-keyring-daemon, the keytar-format ones
 * secret-tool (`.ci/run` installs them): missing, they are skipped with a line saying what
 * to install, except under CI, where they run and fail.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ankra, findSecrets, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { KEYCHAIN, SECRET_TOOL, startKeyring, type Keyring } from './helpers/keyring';
import { configDir, credentialsPath, fileSecret, mode, secretStrings, settingsPath, type StoredSecret } from './helpers/login';

const STAGING = IDS.clusters.staging;

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const keyrings: Keyring[] = [];

/** A sandbox that leaves the store choice to ankra (no ANKRA_CREDENTIAL_STORE), with no D-Bus unless `extra` gives one. */
function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const sb = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
  delete sb.env.ANKRA_CREDENTIAL_STORE;
  delete sb.env.DBUS_SESSION_BUS_ADDRESS;
  Object.assign(sb.env, extra);
  boxes.push(sb);
  return sb;
}

async function keyring(opts?: Parameters<typeof startKeyring>[1]): Promise<Keyring> {
  const dir = sandbox();
  boxes.push(dir);
  const k = await startKeyring(dir.dir, opts);
  keyrings.push(k);
  return k;
}

const account = () => `default@${emu.baseUrl}`;
const warnings = (r: RunResult) => r.stderr.split('\n').filter((l) => /^warning:/.test(l));

beforeAll(async () => {
  emu = await startEmulator({ acceptOidcTokens: true });
  await emu.hook('POST', 'ttl', { poll_interval_s: 0.05 });
  await emu.hook('POST', 'oidc/auto-approve', { email: EMAIL.alice });
  const grant = await emu.api('POST', `/api/v1/clusters/${STAGING}/access/grants`, {
    token: emu.tokens[EMAIL.admin],
    body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
  });
  expect([200, 201]).toContain(grant.status);
});

afterAll(async () => {
  for (const k of keyrings) await k.stop();
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

/** The clusters alice sees through `env`: proves the stored secret is read and works. */
async function useSession(env: NodeJS.ProcessEnv): Promise<RunResult> {
  const list = await ankra(['cluster', 'list', '-o', 'json'], { env });
  expect(list.code, list.stderr).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: STAGING })]));
  return list;
}

/**
 * The device login both stores share: log in, use the session, check where the secret went
 * (`readSecret`) and that no token leaked, log out. Returns login's stderr.
 */
async function deviceLoginUseLogout(env: NodeJS.ProcessEnv, store: 'keychain' | 'file', readSecret: () => Promise<StoredSecret | undefined>): Promise<string> {
  const login = await ankra(['login', '--issuer', emu.issuer, '--client-id', 'ankra-cli', '--no-browser'], { env });
  expect(login.code, login.stderr).toBe(0);
  expect(login.stderr).toContain(`Logged in to ${emu.baseUrl} as ${EMAIL.alice}`);

  const secret = await readSecret();
  expect(secret).toMatchObject({ kind: 'oidc', access_token: expect.any(String), refresh_token: expect.any(String) });

  const [list, status] = await Promise.all([useSession(env), ankra(['auth', 'status', '-o', 'json'], { env })]);
  expect(list.stderr).toBe(''); // the notice is for the login only
  expect(status.code, status.stderr).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ method: 'oidc', source: 'session', store, email: EMAIL.alice, check: 'ok' });

  const settings = readFileSync(settingsPath(env), 'utf8');
  expect(findSecrets([login.stdout, login.stderr, list.stdout, status.stdout, settings], secretStrings(secret))).toEqual([]);

  const logout = await ankra(['logout'], { env });
  expect(logout.code, logout.stderr).toBe(0);
  expect(await readSecret()).toBeUndefined();
  return login.stderr;
}

/** The one-line notice of a secret kept in the file, as ankra words it for `cause`. */
function expectFileNotice(r: RunResult, env: NodeJS.ProcessEnv, cause: RegExp): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  const notices = warnings(r);
  expect(notices, r.stderr).toHaveLength(1);
  const notice = notices[0] ?? '';
  // after the success line, never before: a failed login prints none
  expect(lines.indexOf(notice)).toBeGreaterThan(lines.findIndex((l) => l.includes('Logged in to')));
  expect(notice.startsWith('warning: ')).toBe(true);
  expect(notice.slice('warning: '.length)).toMatch(cause);
  expect(notice).toContain(`so the login is kept in ${credentialsPath(env)} (mode 0600`);
  expect(notice).toMatch(/to keep it in a keychain instead, .+ and run `ankra login` again$/);
  // names no file of the installed bundle and repeats no library text
  expect(notice).not.toMatch(/\.(c?js|node)\b|chunk-|DBus error|Platform failure/);
}

describe.skipIf(KEYCHAIN.skip)('with a real OS keychain (gnome-keyring on a private D-Bus)', () => {
  let kr: Keyring;

  beforeAll(async () => {
    KEYCHAIN.assert();
    kr = await keyring();
  });

  it('login --with-token keeps the secret in the keychain (service "ankra"); another process reads it; logout removes it', async () => {
    const { env } = box(kr.env);
    const token = emu.tokens[EMAIL.alice] ?? '';
    const login = await ankra(['login', '--with-token'], { env, input: token });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toBe(`Logged in to ${emu.baseUrl} as ${EMAIL.alice} with an API token (kept in the OS keychain)\n`);
    expect(existsSync(credentialsPath(env))).toBe(false);

    // a second process, through the keychain library itself
    expect(JSON.parse((await kr.get('ankra', account())) ?? 'null')).toEqual({ kind: 'api_token', token });
    // and ankra itself, in other processes
    await useSession(env);
    const status = await ankra(['auth', 'status', '-o', 'json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ method: 'api_token', source: 'session', store: 'keychain', check: 'ok' });
    expect(findSecrets([login.stdout, login.stderr, status.stdout, readFileSync(settingsPath(env), 'utf8')], [token])).toEqual([]);

    const logout = await ankra(['logout'], { env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain('removed it from the OS keychain');
    expect(await kr.get('ankra', account())).toBeNull();
    expect(existsSync(credentialsPath(env))).toBe(false);
  });

  it('the device login keeps its session in the keychain too, with no notice', async () => {
    const { env } = box(kr.env);
    const readSecret = async () => {
      const raw = await kr.get('ankra', account());
      return raw === null ? undefined : (JSON.parse(raw) as StoredSecret);
    };
    const stderr = await deviceLoginUseLogout(env, 'keychain', readSecret);
    expect(stderr).not.toMatch(/warning/);
    expect(stderr).toContain('session kept in the OS keychain');
    expect(existsSync(credentialsPath(env))).toBe(false);
  });

  it('a session in the keychain while the keychain is unreachable: a clear error; logout still forgets it, with one warning', async () => {
    const { env } = box(kr.env);
    expect((await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] })).code).toBe(0);
    const noBus = { ...env };
    delete noBus.DBUS_SESSION_BUS_ADDRESS;

    const list = await ankra(['cluster', 'list'], { env: noBus });
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^ankra: the OS keychain is not available \(no D-Bus session bus\); unlock or start your keychain, or run `ankra login` again.*\n$/);

    const logout = await ankra(['logout'], { env: noBus });
    expect(logout.code, logout.stderr).toBe(0);
    expect(warnings(logout)).toHaveLength(1);
    const status = await ankra(['auth', 'status', '-o', 'json'], { env });
    expect(status.code).toBe(6);
  });

  /**
   * A keychain that stops answering: a saved session fails with the reason, and a new login
   * goes to the file with the notice, neither hanging. The library gives up on a silent
   * Secret Service itself (its D-Bus calls time out); a silent bus would block it for good
   * inside a synchronous call, so ankra asks the bus first, within 5 s.
   */
  it.each([
    ['secret-service', /the keychain did not answer\)/, /^warning: the keychain did not answer, so the login is kept in /],
    ['bus', /the keychain did not answer within 5 s\)/, /^warning: the keychain did not answer within 5 s, so the login is kept in /],
  ] as const)('a frozen %s: a saved session fails with the reason, a new login falls back to the file, neither hangs', async (what, error, notice) => {
    const hung = await keyring();
    const { env } = box(hung.env);
    expect((await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] })).code).toBe(0);
    hung.freeze(what);
    try {
      const started = Date.now();
      const [list, login] = await Promise.all([
        ankra(['cluster', 'list'], { env, timeoutMs: 20_000 }),
        ankra(['login', '--with-token'], { env: box(hung.env).env, input: emu.tokens[EMAIL.bob], timeoutMs: 20_000 }),
      ]);
      expect(list.signal).toBeNull(); // not killed by the test's timeout: it gave up by itself
      expect(list.code).toBe(1);
      expect(list.stderr).toMatch(/^ankra: the OS keychain is not available \(/);
      expect(list.stderr).toMatch(error);
      expect(login.code, login.stderr).toBe(0);
      expect(warnings(login)).toHaveLength(1);
      expect(warnings(login)[0]).toMatch(notice);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      hung.thaw();
    }
  });

  it('a keyring with no default collection answers reads but refuses the write: the file then, with the notice', async () => {
    const locked = await keyring({ unlocked: false });
    const { env } = box(locked.env);
    const r = await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`(kept in ${credentialsPath(env)})`);
    expectFileNotice(r, env, /^the keychain is locked or has no default keyring, /);
    expect(fileSecret(env, emu.baseUrl)).toEqual({ kind: 'api_token', token: emu.tokens[EMAIL.alice] });
    const status = await ankra(['auth', 'status', '-o', 'json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ store: 'file', check: 'ok' });
  });

  it('a bus with no Secret Service: the file, with a notice that says so', async () => {
    const bare = await keyring({ secretService: false });
    const { env } = box(bare.env);
    const r = await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
    expect(r.code, r.stderr).toBe(0);
    expectFileNotice(r, env, /^no Secret Service on the D-Bus session bus, .*start a Secret Service \(such as gnome-keyring/);
  });

  describe.skipIf(SECRET_TOOL.skip)('a secret the keytar build of ankra saved (Secret Service attributes {service, account})', () => {
    /** Each test its own keyring, so no test sees another's items. */
    let kr: Keyring;
    beforeEach(async () => {
      kr = await keyring();
    });

    /** What the keytar build left: its settings (a keychain session) and its keychain item. */
    async function keytarLogin(env: NodeJS.ProcessEnv, token: string): Promise<void> {
      const dir = configDir(env);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const session = { id: randomUUID(), kind: 'api_token', store: 'keychain', created_at: new Date().toISOString() };
      const settings = { version: 1, current_base_url: emu.baseUrl, servers: { [emu.baseUrl]: { sessions: { default: session } } } };
      writeFileSync(settingsPath(env), JSON.stringify(settings), { mode: 0o600 });
      await kr.storeKeytarItem(account(), JSON.stringify({ kind: 'api_token', token }));
      // the library alone does not see it: that is why ankra reads it with secret-tool
      expect(await kr.get('ankra', account())).toBeNull();
    }

    beforeAll(() => SECRET_TOOL.assert());

    it('is found, used, and carried over to the new format once (the old item removed)', async () => {
      const { env } = box(kr.env);
      const token = emu.tokens[EMAIL.alice] ?? '';
      await keytarLogin(env, token);

      const first = await useSession(env);
      expect(first.stderr).toBe('');
      expect(JSON.parse((await kr.get('ankra', account())) ?? 'null')).toEqual({ kind: 'api_token', token });
      expect(await kr.keytarItem(account())).toBeNull();

      // From now on the new item alone serves, with no secret-tool anywhere on PATH.
      const noTools = join(boxes[boxes.length - 1]?.dir ?? '', 'empty-bin');
      mkdirSync(noTools);
      await useSession({ ...env, PATH: noTools });

      const logout = await ankra(['logout'], { env });
      expect(logout.code, logout.stderr).toBe(0);
      expect(await kr.get('ankra', account())).toBeNull();
    });

    it('logout removes a keytar item that was never carried over', async () => {
      const { env } = box(kr.env);
      await keytarLogin(env, emu.tokens[EMAIL.alice] ?? '');
      const logout = await ankra(['logout', '--local-only'], { env });
      expect(logout.code, logout.stderr).toBe(0);
      expect(logout.stderr).toContain('removed it from the OS keychain');
      expect(await kr.keytarItem(account())).toBeNull();
      expect(await kr.get('ankra', account())).toBeNull();
    });

    it('without secret-tool the old item cannot be seen: the error says the login is gone and to run `ankra login`', async () => {
      const sb = box(kr.env);
      await keytarLogin(sb.env, emu.tokens[EMAIL.alice] ?? '');
      const noTools = join(sb.dir, 'empty-bin');
      mkdirSync(noTools);
      const r = await ankra(['cluster', 'list'], { env: { ...sb.env, PATH: noTools } });
      expect(r.code).toBe(6);
      expect(r.stderr).toBe(`ankra: your login to ${emu.baseUrl} is gone from the OS keychain; run \`ankra login\`\n`);
      expect(await kr.keytarItem(account())).not.toBeNull(); // left for a machine that can read it
    });

    it('an old item secret-tool cannot read: the error says exactly that, and to run `ankra login`', async () => {
      const sb = box(kr.env);
      await keytarLogin(sb.env, emu.tokens[EMAIL.alice] ?? '');
      // fault injection: a secret-tool that fails the way libsecret does on a locked item
      const bin = join(sb.dir, 'failing-bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'secret-tool'), '#!/bin/sh\necho "secret-tool: Cannot get secret of a locked object" >&2\nexit 1\n');
      chmodSync(join(bin, 'secret-tool'), 0o755);
      const r = await ankra(['cluster', 'list'], { env: { ...sb.env, PATH: bin } });
      expect(r.code).toBe(6);
      expect(r.stderr).toBe(
        'ankra: the login an earlier ankra saved in the OS keychain (Secret Service) cannot be read (secret-tool: Cannot get secret of a locked object); run `ankra login`\n',
      );
    });
  });
});

describe('without a keychain', () => {
  it('no D-Bus: --with-token keeps the secret in a 0600 file in a 0700 directory, with one notice line, the first time only', async () => {
    const { env } = box();
    expect(env.DBUS_SESSION_BUS_ADDRESS).toBeUndefined();
    const token = emu.tokens[EMAIL.alice] ?? '';

    const first = await ankra(['login', '--with-token'], { env, input: token });
    expect(first.code, first.stderr).toBe(0);
    expectFileNotice(first, env, /^no D-Bus session bus, /);
    expect(first.stderr.split('\n').filter(Boolean)).toHaveLength(2); // the success line and the notice
    expect(mode(credentialsPath(env))).toBe(0o600);
    expect(mode(dirname(credentialsPath(env)))).toBe(0o700);
    expect(fileSecret(env, emu.baseUrl)).toEqual({ kind: 'api_token', token });
    expect((await useSession(env)).stderr).toBe('');

    // the notice is said once: not again on the next login, nor after a logout
    const again = await ankra(['login', '--with-token'], { env, input: token });
    expect(again.code, again.stderr).toBe(0);
    expect(warnings(again)).toEqual([]);
    expect((await ankra(['logout'], { env })).code).toBe(0);
    const later = await ankra(['login', '--with-token'], { env, input: token });
    expect(later.code, later.stderr).toBe(0);
    expect(warnings(later)).toEqual([]);
    expect(findSecrets([first.stderr, again.stderr, later.stderr], [token])).toEqual([]);
  });

  it('a login that fails prints no notice and keeps nothing; the next one that succeeds prints it', async () => {
    const { env } = box();
    const rejected = await ankra(['login', '--with-token'], { env, input: 'ankra_pat_not-a-real-token' });
    expect(rejected.code).toBe(6);
    expect(rejected.stderr).not.toMatch(/keychain|credentials\.json|kept in/);
    expect(existsSync(credentialsPath(env))).toBe(false);

    const ok = await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
    expect(ok.code, ok.stderr).toBe(0);
    expectFileNotice(ok, env, /^no D-Bus session bus, /);
  });

  it('no D-Bus: the device login keeps its session in the file, with the notice after it succeeded', async () => {
    const { env } = box();
    const stderr = await deviceLoginUseLogout(env, 'file', async () => fileSecret(env, emu.baseUrl));
    expectFileNotice({ code: 0, signal: null, stdout: '', stderr }, env, /^no D-Bus session bus, /);
  });

  it('ANKRA_CREDENTIAL_STORE=keychain without a keychain: a clear error before the login starts, nothing stored', async () => {
    const { env } = box({ ANKRA_CREDENTIAL_STORE: 'keychain' });
    await emu.clearRequests();

    const [device, withToken, bad] = await Promise.all([
      ankra(['login', '--issuer', emu.issuer, '--client-id', 'ankra-cli', '--no-browser'], { env }),
      ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.bob] }),
      ankra(['login', '--issuer', emu.issuer, '--client-id', 'ankra-cli', '--no-browser'], { env: { ...env, ANKRA_CREDENTIAL_STORE: 'vault' } }),
    ]);

    for (const r of [device, withToken]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^ankra: the OS keychain is not available \(no D-Bus session bus\); .*ANKRA_CREDENTIAL_STORE.*\n$/);
    }
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ankra: invalid ANKRA_CREDENTIAL_STORE="vault": expected keychain or file/);
    expect(await emu.requests()).toEqual([]); // nobody was asked to approve anything
    expect(existsSync(credentialsPath(env))).toBe(false);
    expect(existsSync(settingsPath(env))).toBe(false);
  });

  it('ANKRA_CREDENTIAL_STORE=file: the file, and no notice (it was asked for)', async () => {
    const { env } = box({ ANKRA_CREDENTIAL_STORE: 'file' });
    const r = await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
    expect(r.code, r.stderr).toBe(0);
    expect(warnings(r)).toEqual([]);
    expect(mode(credentialsPath(env))).toBe(0o600);
  });
});
