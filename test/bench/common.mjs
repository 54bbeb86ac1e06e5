// What the benches share: the emulator as its own process, a client for its API and hooks,
// and the environment of a sandboxed ankra (only these variables reach the commands timed:
// nothing from this shell, such as NODE_OPTIONS or NODE_EXTRA_CA_CERTS, slows one side).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ANKRA = join(ROOT, 'bin', 'ankra');

/**
 * Starts dist/emulator/main.js (reconcile delay 0) with `flags`; resolves once it printed its
 * ready line. `api` sends a JSON request (an API path, or `/_emulator/…` for a hook).
 */
export async function startEmulator(flags = [], { stderr = 'ignore' } = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'emulator', 'main.js'), '--port', '0', '--reconcile-delay-ms', '0', ...flags], { stdio: ['ignore', 'pipe', stderr] });
  const ready = JSON.parse(await new Promise((res) => createInterface({ input: child.stdout }).once('line', res)));
  const agent = new Agent({ connect: { ca: readFileSync(ready.ca_file, 'utf8') } });
  async function api(method, path, { token, body } = {}) {
    const r = await request(ready.base_url + path, {
      method,
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return r.body.json();
  }
  return { ready, api, stop: () => child.kill('SIGTERM') };
}

/** The environment of an ankra living in `home`, talking to the emulator with `token`. */
export function ankraEnv(home, ready, token, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    ANKRA_BASE_URL: ready.base_url,
    ANKRA_CA_FILE: ready.ca_file,
    ...(token ? { ANKRA_API_TOKEN: token } : {}),
    ANKRA_CREDENTIAL_STORE: 'file',
    NO_COLOR: '1',
    ...extra,
  };
}
