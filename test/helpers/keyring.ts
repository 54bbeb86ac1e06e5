/**
 * A real OS keychain for tests: a private D-Bus session bus and gnome-keyring (the Secret
 * Service) on it, in a temp dir. Processes given `env` use it through @napi-rs/keyring and
 * libsecret's `secret-tool`. The bus has its own configuration, with no service files, so
 * nothing is started behind the test's back: without `secretService` the bus has no
 * Secret Service at all.
 *
 * Needs dbus-daemon and gnome-keyring-daemon, and secret-tool for the keytar-format items
 * (`.ci/run` installs them): see KEYCHAIN and SECRET_TOOL below.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { need } from '../tools/needs.mjs';
import { runProgram, ROOT, type RunResult } from './cli';

export const KEYCHAIN = need('the tests with a real keychain', ['dbus-daemon', 'dbus-send', 'gnome-keyring-daemon'], 'apt-get install -y dbus gnome-keyring');
export const SECRET_TOOL = need('the tests of secrets saved by the keytar build', ['secret-tool'], 'apt-get install -y libsecret-tools');

export interface KeyringOptions {
  /** Start gnome-keyring on the bus (default true). */
  secretService?: boolean;
  /** Create and unlock its login keyring (default true). Without it, reads find nothing and writes fail. */
  unlocked?: boolean;
}

export interface Keyring {
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  /** Read a secret back through @napi-rs/keyring in a separate process (as ankra does). */
  get(service: string, account: string): Promise<string | null>;
  /** Write an item the way the keytar build of ankra did: attributes {service, account}. */
  storeKeytarItem(account: string, secret: string): Promise<void>;
  /** The keytar-format item's secret, or null when there is none. */
  keytarItem(account: string): Promise<string | null>;
  /**
   * Stops (SIGSTOP) gnome-keyring, or the bus itself, until `thaw`: a frozen process
   * accepts connections and never answers.
   */
  freeze(what: 'secret-service' | 'bus'): void;
  thaw(): void;
  stop(): Promise<void>;
}

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', match: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${match} (got ${JSON.stringify(buf)})`)), timeoutMs);
    child[stream]?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = match.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${match}: ${buf}`));
    });
  });
}

/**
 * gnome-keyring prints its control line before it owns its name on the bus: wait for the
 * name, so the first client does not find "no Secret Service".
 */
async function untilOwned(env: NodeJS.ProcessEnv, name: string, timeoutMs = 10_000): Promise<void> {
  const args = ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runProgram('dbus-send', args, { env });
    if (r.code === 0 && /boolean true/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new Error(`${name} did not appear on the test bus: ${r.stdout}${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export async function startKeyring(dir: string, opts: KeyringOptions = {}): Promise<Keyring> {
  KEYCHAIN.assert();
  const home = join(dir, 'keyring-home');
  mkdirSync(home, { recursive: true });
  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  const config = join(dir, 'bus.conf');
  writeFileSync(config, BUS_CONFIG(join(dir, 'bus')));
  const bus = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address=1'], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const address = (await waitForLine(bus, 'stdout', /unix:path=[^\n]+/)).trim();
  const env = { DBUS_SESSION_BUS_ADDRESS: address };
  const children: ChildProcess[] = [bus];
  let secrets: ChildProcess | undefined;
  if (opts.secretService ?? true) {
    const unlocked = opts.unlocked ?? true;
    const keyring = spawn('gnome-keyring-daemon', [...(unlocked ? ['--unlock'] : []), '--components=secrets', '--foreground'], {
      env: { ...baseEnv, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.unshift(keyring);
    secrets = keyring;
    keyring.stdin?.end(unlocked ? 'test-keyring-password' : '');
    await waitForLine(keyring, 'stdout', /GNOME_KEYRING_CONTROL=/);
  }
  const inEnv = { ...baseEnv, ...env };
  if (opts.secretService ?? true) await untilOwned(inEnv, 'org.freedesktop.secrets');

  const get = async (service: string, account: string) => {
    const script = `new (require('@napi-rs/keyring').AsyncEntry)(${JSON.stringify(service)}, ${JSON.stringify(account)}, { linux: { store: 'secret-service' } }).getPassword().then((v) => process.stdout.write(JSON.stringify(v ?? null)))`;
    const r = await runProgram(process.execPath, ['-e', script], { env: inEnv, cwd: ROOT });
    if (r.code !== 0) throw new Error(`keychain read failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string | null;
  };
  const secretTool = (args: string[], input?: string): Promise<RunResult> => {
    SECRET_TOOL.assert();
    return runProgram('secret-tool', args, { env: inEnv, input, cwd: home });
  };
  const storeKeytarItem = async (account: string, secret: string) => {
    // keytar 7.9: schema org.freedesktop.Secret.Generic, label "<service>/<account>"
    const r = await secretTool(['store', `--label=ankra/${account}`, 'xdg:schema', 'org.freedesktop.Secret.Generic', 'service', 'ankra', 'account', account], secret);
    if (r.code !== 0) throw new Error(`secret-tool store failed: ${r.stderr}`);
  };
  const keytarItem = async (account: string) => {
    const r = await secretTool(['lookup', 'service', 'ankra', 'account', account]);
    if (r.code !== 0 && r.stderr.trim() !== '') throw new Error(`secret-tool lookup failed: ${r.stderr}`);
    return r.code === 0 ? r.stdout : null;
  };
  const frozen = new Set<ChildProcess>();
  const freeze = (what: 'secret-service' | 'bus') => {
    const p = what === 'bus' ? bus : secrets;
    if (!p) throw new Error('this test bus has no Secret Service');
    p.kill('SIGSTOP');
    frozen.add(p);
  };
  const thaw = () => {
    for (const p of frozen) p.kill('SIGCONT');
    frozen.clear();
  };
  const stop = async () => {
    thaw();
    for (const p of children) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      }
    }
  };
  return { env, get, storeKeytarItem, keytarItem, freeze, thaw, stop };
}
