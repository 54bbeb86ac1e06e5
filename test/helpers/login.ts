/**
 * Helpers for the login tests: an `ankra` child that is still running (read its stderr,
 * signal it), the verification page driven by a plain HTTP client, and the files a login
 * leaves behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { ANKRA_BIN, type RunResult } from './cli';
import type { EmulatorHandle } from './emulator';
import { parseForm } from './form';

export interface LiveAnkra {
  child: ChildProcess;
  /** Stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `re` in stderr; rejects if the process ends first. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<RunResult>;
}

/**
 * Resolves with the first match of `re` in `text()` (checked whenever a listener fires);
 * rejects when the child ends, or `ms` passes, without it.
 */
function waitForText(child: ChildProcess, listeners: Set<() => void>, text: () => string, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const m = re.exec(text());
      if (m) {
        listeners.delete(check);
        clearTimeout(t);
        resolve(m);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        listeners.delete(check);
        clearTimeout(t);
        reject(new Error(`ankra ended before printing ${re}: ${text()}`));
      }
    };
    const t = setTimeout(() => {
      listeners.delete(check);
      reject(new Error(`ankra did not print ${re} within ${ms} ms: ${text()}`));
    }, ms);
    listeners.add(check);
    check();
  });
}

/** Starts `ankra ARGS` and returns at once, so a test can act while it polls. */
export function startAnkra(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): LiveAnkra {
  const child = spawn(process.execPath, [ANKRA_BIN, ...args], { env, cwd: env.HOME, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of listeners) l();
  });
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners) l();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const waitForStderr = (re: RegExp, ms = 15_000) => waitForText(child, listeners, () => stderr, re, ms);
  return { child, stderr: () => stderr, waitForStderr, done };
}

/** The user code ankra printed ("… enter the code BCDF-GHJK"). */
export const USER_CODE = /enter the code ([A-Z]{4}-[A-Z]{4})/;

/**
 * Opens the verification page ankra pointed at, types the user code and the email into the
 * form and presses a button, like a person in a browser.
 */
export async function fillVerificationPage(
  emu: EmulatorHandle,
  pageUrl: string,
  userCode: string,
  email: string,
  button: 'approve' | 'deny',
): Promise<{ status: number; html: string }> {
  const page = await request(pageUrl, { dispatcher: emu.dispatcher });
  if (page.statusCode !== 200) throw new Error(`verification page answered ${page.statusCode}`);
  const { action, fields } = parseForm(await page.body.text());
  fields.set('user_code', userCode);
  fields.set('email', email);
  fields.set('action', button);
  const res = await request(new URL(action, pageUrl).href, {
    dispatcher: emu.dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
  return { status: res.statusCode, html: await res.body.text() };
}

/** `$XDG_CONFIG_HOME/ankra` of a sandbox env. */
export const configDir = (env: NodeJS.ProcessEnv) => join(env.XDG_CONFIG_HOME ?? '', 'ankra');
export const credentialsPath = (env: NodeJS.ProcessEnv) => join(configDir(env), 'credentials.json');
export const settingsPath = (env: NodeJS.ProcessEnv) => join(configDir(env), 'config.json');
export const tokenDir = (env: NodeJS.ProcessEnv) => join(env.XDG_CACHE_HOME ?? '', 'ankra', 'tokens');

export interface OidcSecret {
  kind: 'oidc';
  access_token: string;
  refresh_token?: string;
  expires_at: string;
}
export type StoredSecret = OidcSecret | { kind: 'api_token'; token: string };

/** The secrets in the 0600 credentials file, by account ("default@https://…"). */
export function fileSecrets(env: NodeJS.ProcessEnv): Record<string, StoredSecret> {
  const path = credentialsPath(env);
  if (!existsSync(path)) return {};
  const f = JSON.parse(readFileSync(path, 'utf8')) as { accounts: Record<string, string> };
  return Object.fromEntries(Object.entries(f.accounts).map(([k, v]) => [k, JSON.parse(v) as StoredSecret]));
}

export function fileSecret(env: NodeJS.ProcessEnv, baseUrl: string, profile = 'default'): StoredSecret | undefined {
  return fileSecrets(env)[`${profile}@${baseUrl}`];
}

/** Every secret-looking string of a stored OIDC or API-token secret. */
export function secretStrings(s: StoredSecret | undefined): string[] {
  if (!s) return [];
  return s.kind === 'oidc' ? [s.access_token, ...(s.refresh_token ? [s.refresh_token] : [])] : [s.token];
}

export function cachedTokenFiles(env: NodeJS.ProcessEnv): string[] {
  const dir = tokenDir(env);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
}

export const mode = (path: string) => statSync(path).mode & 0o777;

export interface PtyAnkra {
  /** Everything the terminal showed so far (stdout and stderr, as a person sees them). */
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Types at the terminal (e.g. '\u0003' for Ctrl-C). */
  type(text: string): void;
  done: Promise<RunResult>;
}

/**
 * `ankra ARGS` on a pseudo-terminal (util-linux `script`), as a person runs it: stdin, stdout
 * and stderr are the terminal; Ctrl-C is typed, and the terminal sends SIGINT.
 */
export function startOnPty(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): PtyAnkra {
  const quoted = [process.execPath, ANKRA_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', `stty cols 200 rows 50; exec ${quoted}`, '/dev/null'], { env: { TERM: 'xterm', ...env }, cwd: env.HOME, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners) l();
      resolve({ code, signal, stdout: out, stderr: '' });
    });
  });
  const waitFor = (re: RegExp, ms = 15_000) => waitForText(child, listeners, () => out, re, ms);
  return { output: () => out, waitFor, type: (text) => child.stdin?.write(text), done };
}

/** What the terminal showed, without escape sequences and carriage returns. */
export function plainText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Plays the browser on the CLI login's approval page: opens `authUrl`, picks `email`, approves. */
export async function approveInBrowser(emu: EmulatorHandle, authUrl: string, email: string): Promise<{ status: number; html: string }> {
  const page = await request(authUrl, { dispatcher: emu.dispatcher });
  if (page.statusCode !== 200) throw new Error(`approval page answered ${page.statusCode}`);
  const form = parseForm(await page.body.text());
  const fields = form.fields;
  if (!form.options.email?.includes(email)) throw new Error(`${email} is not offered on the approval page`);
  fields.set('email', email);
  const res = await request(new URL(form.action, authUrl).href, {
    dispatcher: emu.dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
  return { status: res.statusCode, html: await res.body.text() };
}
