/**
 * The emulator for tests: `startEmulator()` runs it inside the test process (fast, with
 * its live state at hand); `spawnEmulator()` runs the built `dist/emulator/main.js` as a
 * child, as the CLI's end-to-end tests and the demo do. Both return the same handle:
 * the ready line's fields, the default seed's ids, hooks, the request log, an HTTP
 * client that trusts the emulator's CA, and `offContract()`, which finds every logged
 * request that the real platform's token lane (api-contract.md) does not have.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startEmulator as startInProcess } from '../../fixtures/emulator/server';
import type { Emulator, EmulatorOptions } from '../../fixtures/emulator/server';
import { parseSeed } from '../../fixtures/emulator/seed';
import type { EmulatorState, RequestLogEntry } from '../../fixtures/emulator/state';
import defaultSeed from '../../fixtures/seed.json' with { type: 'json' };

export type { EmulatorOptions, RequestLogEntry };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EMULATOR_MAIN = join(ROOT, 'dist', 'emulator', 'main.js');

// ------------------------------------------------------------ the default seed's ids

const seed = parseSeed(defaultSeed);

function orgId(slug: string): string {
  const org = seed.organisations.find((o) => o.slug === slug);
  if (!org) throw new Error(`default seed: no organisation ${slug}`);
  return org.id;
}

function clusterId(slug: string, name: string): string {
  const cluster = seed.organisations.find((o) => o.slug === slug)?.clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`default seed: no cluster ${name} in ${slug}`);
  return cluster.id;
}

/** The seeded people by role in the tests. */
export const EMAIL = {
  admin: 'admin@acme.test',
  alice: 'alice@acme.test',
  /** Member of acme (current) and of globex. */
  bob: 'bob@acme.test',
  /** Invited to acme, not active: cannot be granted anything. */
  carol: 'carol@acme.test',
  globexAdmin: 'admin@globex.test',
} as const;

function userIds(): Record<keyof typeof EMAIL, string> {
  const entries = Object.entries(EMAIL).map(([key, email]) => {
    const user = seed.users.find((u) => u.email === email);
    if (!user) throw new Error(`default seed: no user ${email}`);
    return [key, user.id];
  });
  return Object.fromEntries(entries) as Record<keyof typeof EMAIL, string>;
}

/** Ids of the default seed (`fixtures/seed.json`). */
export const IDS = {
  orgs: { acme: orgId('acme'), globex: orgId('globex') },
  clusters: {
    staging: clusterId('acme', 'staging'),
    prodEu: clusterId('acme', 'prod-eu'),
    sandbox: clusterId('acme', 'sandbox-1'),
    /** Also named `staging`: the cross-organisation name clash. */
    globexStaging: clusterId('globex', 'staging'),
  },
  users: userIds(),
} as const;

// ------------------------------------------------------------ the handle

export interface ApiOptions {
  /** Sent as `Authorization: Bearer …`. */
  token?: string;
  /** Sent as `X-Ankra-Organisation-Id`. */
  org?: string;
  /** JSON-encoded. */
  body?: unknown;
  /** Sent as is (for malformed bodies); wins over `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON and parses; otherwise the text. */
  body: T;
  text: string;
}

export interface RequestFilter {
  method?: string;
  /** A string matches as a prefix of the path. */
  path?: string | RegExp;
  user?: string | null;
  status?: number;
}

export interface EmulatorHandle {
  baseUrl: string;
  /** The Kubernetes proxy's base URL (another port unless `proxyOnApiOrigin`): `server` = this + `/api/v1/clusters/{id}/k8s`. */
  proxyBaseUrl: string;
  caFile: string;
  caPem: string;
  issuer: string;
  /** An Ankra API token for every seeded user, by email. */
  tokens: Record<string, string>;
  /** The id of each of those tokens, by email (`POST /api/v1/org/account/tokens/{id}/revoke`). */
  tokenIds: Record<string, string>;
  ids: typeof IDS;
  /** An undici dispatcher trusting the emulator's CA, for requests of your own. */
  dispatcher: Agent;
  /** Calls a test hook: `hook('POST', 'clock', {advance_s: 60})` → `/_emulator/clock`. Throws unless 2xx. */
  hook<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** The request log (oldest first), optionally filtered. */
  requests(filter?: RequestFilter): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  /** The logged requests (all, or `entries`) that are not on the contract's token lane: see `offContract`. */
  offContract(opts?: ContractOptions, entries?: RequestLogEntry[]): Promise<RequestLogEntry[]>;
  /** `POST /_emulator/cli-login`: the CLI login's knobs; answers all of them. */
  cliLogin(settings: CliLoginHookSettings): Promise<CliLoginHookSettings & { sessions: unknown[] }>;
  /** `POST /_emulator/cli-login/approve`: by `ticket` or `state` (from `auth_url`), or the only waiting login. */
  approveLogin(email: string, ref?: { ticket?: string; state?: string }): Promise<{ approved: true; state: string; email: string }>;
  /** `POST /_emulator/api-tokens`: another API token for a known user. */
  apiToken(email: string, opts?: { expires_in_s?: number; name?: string }): Promise<{ token: string; token_id: string; expires_at: string }>;
  /** Any request to the emulator; `path` is absolute (`/api/v1/…`) or a full URL. Never throws on a status. */
  api<T = unknown>(method: string, path: string, opts?: ApiOptions): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

export interface InProcessEmulator extends EmulatorHandle {
  /** The live state: settings, grants, the clock. */
  state: EmulatorState;
}

export interface SpawnedEmulator extends EmulatorHandle {
  child: ChildProcess;
  /** Everything the child wrote to stdout so far (the ready line included). */
  stdout(): string;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code once the child has exited. */
  exited: Promise<number | null>;
}

/** The knobs of `POST /_emulator/cli-login` (fixtures/README.md). */
export interface CliLoginHookSettings {
  auto_approve?: string | null;
  awaiting_polls?: number;
  mfa_polls?: number;
  upgrade_required?: boolean;
  session_ttl_s?: number;
  token_ttl_s?: number;
}

interface Ready {
  baseUrl: string;
  proxyBaseUrl: string;
  caFile: string;
  caPem: string;
  issuer: string;
  tokens: Record<string, string>;
  tokenIds: Record<string, string>;
}

function handle(ready: Ready, stopServer: () => Promise<void>): EmulatorHandle {
  const dispatcher = new Agent({ connect: { ca: ready.caPem } });

  const api = async <T>(method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.org !== undefined) headers['x-ankra-organisation-id'] = opts.org;
    let body: string | undefined = opts.rawBody;
    if (body === undefined && opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const url = path.startsWith('https://') ? path : `${ready.baseUrl}${path}`;
    const res = await request(url, { method, headers, body, dispatcher });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: parseMaybeJson(text, res.headers['content-type']) as T, text };
  };

  const hook = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const full = path.startsWith('/_emulator/') ? path : `/_emulator/${path.replace(/^\/+/, '')}`;
    const res = await api<T>(method, full, body === undefined ? {} : { body });
    if (res.status < 200 || res.status > 299) throw new Error(`hook ${method} ${full} answered ${res.status}: ${res.text}`);
    return res.body;
  };

  return {
    ...ready,
    ids: IDS,
    dispatcher,
    api,
    hook,
    async requests(filter = {}) {
      const log = await hook<RequestLogEntry[]>('GET', 'requests');
      return log.filter((e) => matches(e, filter));
    },
    async clearRequests() {
      await hook('DELETE', 'requests');
    },
    async offContract(opts = {}, entries?: RequestLogEntry[]) {
      return offContract(entries ?? (await hook<RequestLogEntry[]>('GET', 'requests')), ready, opts);
    },
    cliLogin: (settings) => hook('POST', 'cli-login', settings),
    approveLogin: (email, ref = {}) => hook('POST', 'cli-login/approve', { email, ...ref }),
    apiToken: (email, opts = {}) => hook('POST', 'api-tokens', { email, ...opts }),
    async stop() {
      await dispatcher.destroy();
      await stopServer();
    },
  };
}

// ------------------------------------------------------------ the contract's token lane

export interface ContractOptions {
  /** Count the OIDC provider's paths (`/oidc/…`) as on the contract: for tests of a deployment with an OIDC provider in front. */
  oidc?: boolean;
  /** Count the CLI login's approval page (`auth_url`, `GET|POST /cli/login`) as on the contract: for tests that play the browser. */
  browser?: boolean;
}

/** One row of api-contract.md: a method, a path, and the query keys it may carry. */
interface ContractRow {
  method: string;
  path: RegExp;
  query?: readonly string[];
}

const ID = '[^/]+';
const row = (method: string, path: string, query: readonly string[] = []): ContractRow => ({ method, path: new RegExp(`^${path}$`), query });

/** The token lane of api-contract.md on the API's origin: the endpoint table, the login and the token calls. */
export const CONTRACT_ROWS: readonly ContractRow[] = [
  row('GET', '/api/v1/cli/login/init', ['code_challenge', 'machine_id', 'machine_name', 'base_url']),
  row('POST', '/api/v1/cli/login/poll'),
  row('GET', '/api/v1/org/organisation'),
  row('GET', `/api/v1/org/organisation/${ID}`),
  row('GET', '/api/v1/clusters', ['page', 'page_size', 'cluster_name', 'cluster_id']),
  row('GET', `/api/v1/clusters/${ID}/access/grants`),
  row('POST', `/api/v1/clusters/${ID}/access/grants`),
  row('DELETE', `/api/v1/clusters/${ID}/access/grants/${ID}`),
  row('POST', `/api/v1/clusters/${ID}/k8s-token`),
  row('POST', `/api/v1/clusters/${ID}/kubeconfig`),
  row('GET', '/api/v1/org/account/tokens'),
  row('POST', '/api/v1/org/account/tokens'),
  row('POST', `/api/v1/org/account/tokens/${ID}/revoke`),
  row('DELETE', `/api/v1/org/account/tokens/${ID}`),
];

const BROWSER_ROWS: readonly ContractRow[] = [row('GET', '/cli/login', ['state']), row('POST', '/cli/login')];
const KUBE_PATH = /^\/api\/v1\/clusters\/[^/]+\/k8s(\/|$)/;

/**
 * Every entry whose request the real platform's token lane does not have: a method and path
 * (with its query keys) that is no row of the contract on the API's origin, or a Kubernetes
 * path anywhere but under `{server}` (the proxy's origin). OIDC paths and the approval page
 * count as off the contract unless `opts` opts in. CLI tests assert it returns [].
 */
export function offContract(
  entries: RequestLogEntry[],
  where: { baseUrl: string; proxyBaseUrl: string },
  opts: ContractOptions = {},
): RequestLogEntry[] {
  const rows = opts.browser ? [...CONTRACT_ROWS, ...BROWSER_ROWS] : CONTRACT_ROWS;
  const onContract = (e: RequestLogEntry): boolean => {
    if (KUBE_PATH.test(e.path) && e.origin === where.proxyBaseUrl) return true;
    if (e.origin !== where.baseUrl) return false;
    if (opts.oidc && /^\/oidc(\/|$)/.test(e.path)) return true;
    return rows.some((r) => r.method === e.method && r.path.test(e.path) && Object.keys(e.query).every((k) => r.query?.includes(k)));
  };
  return entries.filter((e) => !onContract(e));
}

function parseMaybeJson(text: string, contentType: string | string[] | undefined): unknown {
  if (!String(contentType ?? '').includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function matches(e: RequestLogEntry, f: RequestFilter): boolean {
  if (f.method !== undefined && e.method !== f.method.toUpperCase()) return false;
  if (typeof f.path === 'string' && !e.path.startsWith(f.path)) return false;
  if (f.path instanceof RegExp && !f.path.test(e.path)) return false;
  if (f.user !== undefined && e.user !== f.user) return false;
  return f.status === undefined || e.status === f.status;
}

// ------------------------------------------------------------ in process

/** Starts the emulator inside the test process. Defaults to a quick reconcile (50 ms) so tests do not wait. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<InProcessEmulator> {
  const emulator: Emulator = await startInProcess({ reconcileDelayMs: 50, ...opts });
  return { ...handle(emulator, () => emulator.close()), state: emulator.state };
}

// ------------------------------------------------------------ as a child process

/** Runs `dist/emulator/main.js ARGS` (building it first when stale) and waits for its ready line. */
export async function spawnEmulator(args: string[] = []): Promise<SpawnedEmulator> {
  await ensureEmulatorBuilt();
  const child = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const line = await readyLine(child, () => stdout, () => stderr, exited);
  const raw = JSON.parse(line) as {
    base_url: string;
    proxy_base_url: string;
    ca_file: string;
    issuer: string;
    tokens: Record<string, string>;
    token_ids: Record<string, string>;
  };
  const caPem = await readFile(raw.ca_file, 'utf8');
  const ready: Ready = {
    baseUrl: raw.base_url,
    proxyBaseUrl: raw.proxy_base_url,
    caFile: raw.ca_file,
    caPem,
    issuer: raw.issuer,
    tokens: raw.tokens,
    tokenIds: raw.token_ids,
  };
  const stopChild = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { ...handle(ready, stopChild), child, stdout: () => stdout, stderr: () => stderr, exited };
}

const READY_TIMEOUT_MS = 20_000;

async function readyLine(
  child: ChildProcess,
  stdout: () => string,
  stderr: () => string,
  exited: Promise<number | null>,
): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (!stdout().includes('\n')) {
    if (exitCode !== undefined) throw new Error(`emulator exited (${exitCode}) before it was ready: ${stderr().trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`emulator not ready after ${READY_TIMEOUT_MS} ms: ${stderr().trim()}`);
    }
    await delay(20);
  }
  return stdout().slice(0, stdout().indexOf('\n'));
}

let building: Promise<void> | undefined;

/** Builds `dist/emulator` when any source is newer; once per test process. */
export function ensureEmulatorBuilt(): Promise<void> {
  building ??= buildIfStale();
  return building;
}

async function buildIfStale(): Promise<void> {
  const lock = join(ROOT, 'dist', '.emulator-build.lock');
  await mkdir(dirname(lock), { recursive: true });
  // Test files run in parallel workers: one builds, the others wait and then find it fresh.
  await acquire(lock);
  try {
    const built = await mtime(EMULATOR_MAIN);
    const sources = Math.max(await newest(join(ROOT, 'fixtures')), await newest(join(ROOT, 'src')));
    if (built < sources) await promisify(execFile)(process.execPath, [join(ROOT, 'test', 'tools', 'build.mjs'), 'emulator'], { cwd: ROOT });
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function acquire(lock: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than the deadline is left over from a killed run: take it over.
      if (Date.now() > deadline) return;
      await delay(100);
    }
  }
}

async function mtime(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? await newest(p) : await mtime(p));
  }
  return t;
}
