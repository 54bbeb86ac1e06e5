/**
 * Running the built `ankra` binary the way users and kubectl do: a child process with a
 * fresh temporary HOME, XDG dirs and KUBECONFIG, and an environment scrubbed of the
 * developer's own ANKRA_* / KUBECONFIG / proxy settings.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ANKRA_BIN = join(ROOT, 'bin', 'ankra');

export interface Sandbox {
  dir: string;
  home: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

const KEEP = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/** A clean environment rooted in a new temp dir. `extra` is merged last. */
export function sandbox(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'ankra-test-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {};
  for (const k of KEEP) if (process.env[k] !== undefined) env[k] = process.env[k];
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    KUBECONFIG: join(home, '.kube', 'config'),
    NO_COLOR: '1',
    // A keychain only when a test asks for one (see test/helpers/keyring.ts).
    ANKRA_CREDENTIAL_STORE: 'file',
    ...extra,
  });
  return {
    dir,
    home,
    kubeconfig: join(home, '.kube', 'config'),
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** Run any program asynchronously (never spawnSync: the emulator may share this process). */
export function runProgram(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd ?? opts.env.HOME, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    // A program may exit without reading its stdin: that EPIPE is not the test's concern.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export function ankra(args: string[], opts: RunOptions): Promise<RunResult> {
  return runProgram(process.execPath, [ANKRA_BIN, ...args], opts);
}

/** Fails with a readable message if any secret appears in any of the texts. */
export function findSecrets(texts: string[], secrets: string[]): string[] {
  return secrets.filter((s) => s.length >= 8 && texts.some((t) => t.includes(s)));
}
