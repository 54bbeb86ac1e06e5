/**
 * A real OS keychain for tests: a private D-Bus session bus and an unlocked gnome-keyring
 * (Secret Service) on it, in a temp dir. Processes given `env` use it through @napi-rs/keyring.
 * Needs dbus-daemon and gnome-keyring-daemon (`.ci/run` installs them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram, ROOT } from './cli';

export interface Keyring {
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  /** Read a secret back through @napi-rs/keyring in a separate process (as ankra does). */
  get(service: string, account: string): Promise<string | null>;
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

export async function startKeyring(dir: string): Promise<Keyring> {
  const home = join(dir, 'keyring-home');
  mkdirSync(home, { recursive: true });
  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', `--address=unix:path=${join(dir, 'bus')}`], {
    env: baseEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const address = (await waitForLine(bus, 'stdout', /unix:path=[^\n]+/)).trim();
  const env = { DBUS_SESSION_BUS_ADDRESS: address };
  const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
    env: { ...baseEnv, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  keyring.stdin?.end('test-keyring-password');
  await waitForLine(keyring, 'stdout', /GNOME_KEYRING_CONTROL=/);

  const get = async (service: string, account: string) => {
    const script = `new (require('@napi-rs/keyring').AsyncEntry)(${JSON.stringify(service)}, ${JSON.stringify(account)}, { linux: { store: 'secret-service' } }).getPassword().then((v) => process.stdout.write(JSON.stringify(v ?? null)))`;
    const r = await runProgram(process.execPath, ['-e', script], { env: { ...baseEnv, ...env }, cwd: ROOT });
    if (r.code !== 0) throw new Error(`keychain read failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string | null;
  };
  const stop = async () => {
    for (const p of [keyring, bus]) {
      if (p.exitCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      }
    }
  };
  return { env, get, stop };
}
