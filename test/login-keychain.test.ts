/**
 * Where a login's secret is kept: the same login test once with a real OS keychain (a
 * private D-Bus session bus and an unlocked gnome-keyring, reached through @napi-rs/keyring), once with
 * no D-Bus at all (the 0600 file and one warning line), and ANKRA_CREDENTIAL_STORE=keychain
 * without a keychain (a clear error before any login starts).
 *
 * The keychain half needs dbus-daemon and gnome-keyring-daemon (`.ci/run` installs them):
 * under CI=true their absence fails the run; elsewhere it skips that half.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ankra, findSecrets, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { startKeyring, type Keyring } from './helpers/keyring';
import { credentialsPath, fileSecret, mode, secretStrings, settingsPath, type StoredSecret } from './helpers/login';

const STAGING = IDS.clusters.staging;
const CI = Boolean(process.env.CI) && !/^(false|0)$/i.test(process.env.CI ?? '');

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const missing = ['dbus-daemon', 'gnome-keyring-daemon'].filter((c) => !have(c));
if (missing.length && CI) {
  // Loud in CI: a skipped keychain test would hide that the keychain path is untested.
  throw new Error(`the keychain tests need ${missing.join(', ')} (apt-get install -y dbus gnome-keyring)`);
}

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];

/** A sandbox that leaves the store choice to ankra (no ANKRA_CREDENTIAL_STORE). */
function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const sb = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...extra });
  delete sb.env.ANKRA_CREDENTIAL_STORE;
  delete sb.env.DBUS_SESSION_BUS_ADDRESS;
  Object.assign(sb.env, extra);
  boxes.push(sb);
  return sb;
}

beforeAll(async () => {
  emu = await startEmulator();
  await emu.hook('POST', 'ttl', { poll_interval_s: 0.05 });
  await emu.hook('POST', 'oidc/auto-approve', { email: EMAIL.alice });
  const grant = await emu.api('POST', `/api/v1/clusters/${STAGING}/access/grants`, {
    token: emu.tokens[EMAIL.admin],
    body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
  });
  expect(grant.status).toBe(201);
});

afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

/**
 * The login test both stores share: log in, use the session, check where the secret went
 * (`readSecret`) and that no token leaked, log out. Returns login's stderr.
 */
async function loginUseLogout(env: NodeJS.ProcessEnv, store: 'keychain' | 'file', readSecret: () => Promise<StoredSecret | undefined>): Promise<string> {
  const login = await ankra(['login', '--no-browser'], { env });
  expect(login.code, login.stderr).toBe(0);
  expect(login.stderr).toContain(`Logged in to ${emu.baseUrl} as ${EMAIL.alice}`);

  const secret = await readSecret();
  expect(secret).toMatchObject({ kind: 'oidc', access_token: expect.any(String), refresh_token: expect.any(String) });

  const [list, status] = await Promise.all([
    ankra(['cluster', 'access', 'list', '--cluster', STAGING, '-o', 'json'], { env }),
    ankra(['auth', 'status', '-o', 'json'], { env }),
  ]);
  expect(list.code, list.stderr).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ user_email: EMAIL.alice })]);
  expect(list.stderr).toBe(''); // the fallback warning is for the login only
  expect(status.code, status.stderr).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ method: 'oidc', source: 'session', store, email: EMAIL.alice, check: 'ok' });

  const settings = readFileSync(settingsPath(env), 'utf8');
  expect(findSecrets([login.stdout, login.stderr, list.stdout, status.stdout, settings], secretStrings(secret))).toEqual([]);

  const logout = await ankra(['logout'], { env });
  expect(logout.code, logout.stderr).toBe(0);
  expect(await readSecret()).toBeUndefined();
  return login.stderr;
}

describe.skipIf(missing.length > 0)('with a real OS keychain (gnome-keyring on a private D-Bus)', () => {
  let keyring: Keyring;
  let dir: Sandbox;

  beforeAll(async () => {
    dir = sandbox();
    boxes.push(dir);
    keyring = await startKeyring(dir.dir);
  });

  afterAll(async () => {
    await keyring?.stop();
  });

  it('keeps the secret in the keychain (service "ankra"), and no credentials file exists', async () => {
    const { env } = box(keyring.env);
    const account = `default@${emu.baseUrl}`;
    const readSecret = async () => {
      const raw = await keyring.get('ankra', account);
      return raw === null ? undefined : (JSON.parse(raw) as StoredSecret);
    };

    const stderr = await loginUseLogout(env, 'keychain', readSecret);

    expect(stderr).not.toMatch(/warning/);
    expect(stderr).toContain('session kept in the OS keychain');
    expect(existsSync(credentialsPath(env))).toBe(false);
  });

  it('a session in the keychain while the keychain is unreachable: a clear error; logout still forgets it, with one warning', async () => {
    const { env } = box(keyring.env);
    expect((await ankra(['login', '--no-browser'], { env })).code).toBe(0);
    const noBus = { ...env };
    delete noBus.DBUS_SESSION_BUS_ADDRESS;

    const list = await ankra(['cluster', 'access', 'list', '--cluster', STAGING], { env: noBus });
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^ankra: the OS keychain is not available \(.+\); unlock or start your keychain, or run `ankra login` again.*\n$/);

    await emu.clearRequests();
    const logout = await ankra(['logout'], { env: noBus });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toHaveLength(1);
    expect(await emu.requests({ path: '/oidc/' })).toEqual([]); // nothing to revoke with
    const status = await ankra(['auth', 'status', '-o', 'json'], { env });
    expect(status.code).toBe(6);
  });

  it('--with-token goes to the keychain too', async () => {
    const { env } = box(keyring.env);
    const r = await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.bob] });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse((await keyring.get('ankra', `default@${emu.baseUrl}`)) ?? 'null')).toEqual({ kind: 'api_token', token: emu.tokens[EMAIL.bob] });
    expect(existsSync(credentialsPath(env))).toBe(false);
  });
});

describe('without a keychain', () => {
  it('no D-Bus: the secret goes to a 0600 file in a 0700 directory, with exactly one warning line', async () => {
    const { env } = box();
    expect(env.DBUS_SESSION_BUS_ADDRESS).toBeUndefined();

    const stderr = await loginUseLogout(env, 'file', async () => fileSecret(env, emu.baseUrl));

    const warnings = stderr.split('\n').filter((l) => /warning/i.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: the OS keychain is not available \(.+\); keeping the secret in .*credentials\.json \(mode 0600\) instead$/);
    expect(mode(credentialsPath(env))).toBe(0o600);
    expect(mode(dirname(credentialsPath(env)))).toBe(0o700);
  });

  it('ANKRA_CREDENTIAL_STORE=keychain without a keychain: a clear error before the login starts, nothing stored', async () => {
    const { env } = box({ ANKRA_CREDENTIAL_STORE: 'keychain' });
    await emu.clearRequests();

    const [device, withToken, bad] = await Promise.all([
      ankra(['login', '--no-browser'], { env }),
      ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.bob] }),
      ankra(['login', '--no-browser'], { env: { ...env, ANKRA_CREDENTIAL_STORE: 'vault' } }),
    ]);

    for (const r of [device, withToken]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^ankra: the OS keychain is not available \(.+\); .*ANKRA_CREDENTIAL_STORE.*\n$/);
    }
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ankra: invalid ANKRA_CREDENTIAL_STORE="vault": expected keychain or file/);
    expect(await emu.requests()).toEqual([]); // nobody was asked to approve anything
    expect(existsSync(credentialsPath(env))).toBe(false);
    expect(existsSync(settingsPath(env))).toBe(false);
  });
});
