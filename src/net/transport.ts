/**
 * The transport: the only owner of undici. Everything ankra sends over HTTP goes through
 * here: the Ankra API client (`api/`), the OIDC client (`auth/oidc.ts`, through
 * `fetchWith`) and the token check of the exec plugin. It sets the base URL, the
 * user-agent, timeouts, proxies from HTTPS_PROXY/NO_PROXY, extra CAs, retries with jittered
 * back-off where they are safe, and `--debug` lines with credentials redacted. Non-2xx
 * answers are returned, not thrown: `api/ankra.ts` turns them into typed errors.
 *
 * Two stacks under one `send`. With no proxy configured (the common case), requests go
 * through Node's own `https` (its HTTP parser is native code, already in the binary): one
 * API request then costs ~35 ms over starting Node, against ~100 ms for loading undici and
 * compiling its WebAssembly parser (`npm run bench`, "node + https + 1 GET" and "node +
 * undici + 1 GET"). When HTTPS_PROXY/HTTP_PROXY is set, undici's EnvHttpProxyAgent does
 * the CONNECT tunnels and NO_PROXY, as it does well; the OIDC client always uses undici's
 * fetch, which openid-client needs. undici is imported only on those paths.
 */
import type { Dispatcher } from 'undici';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { certificatesOf } from '../core/pem';
import { retryAfterMs, sleep } from '../core/time';
import { insecureHttpAllowed } from '../core/url';
import { AnkraError, CancelledError, NetworkError, UsageError, oneLine } from '../errors';
import { USER_AGENT } from '../version';

/**
 * undici, on the paths that need it. It parses HTTP with llhttp, compiled to WebAssembly when
 * the first connection opens. V8 compiles it with its baseline compiler, then again,
 * optimised, on a background thread that the process waits for when it exits: ~60 ms and
 * ~35 MB of peak RSS, for a parser that reads a few KB (and tens of MB at most, where
 * baseline code keeps up). Baseline code only; set before any connection, so before llhttp
 * is compiled.
 */
async function undici(): Promise<typeof import('undici')> {
  setFlagsFromString('--liftoff-only');
  return import('undici');
}

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] as const;

/** The proxy settings of `env`, as undici's EnvHttpProxyAgent reads them; undefined when no proxy is set. */
function proxySettings(env: NodeJS.ProcessEnv): { httpProxy?: string; httpsProxy?: string; noProxy?: string } | undefined {
  const get = (...names: string[]) => names.map((n) => env[n]?.trim()).find((v) => v);
  if (!PROXY_VARIABLES.some((n) => env[n]?.trim())) return undefined;
  const httpProxy = get('http_proxy', 'HTTP_PROXY');
  const httpsProxy = get('https_proxy', 'HTTPS_PROXY') ?? httpProxy;
  const noProxy = get('no_proxy', 'NO_PROXY');
  return { ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}

export interface HttpOptions {
  baseUrl: string;
  /** Extra CA bundle (PEM) trusted besides the system roots. */
  caFile?: string;
  env: NodeJS.ProcessEnv;
  /** Per attempt; ANKRA_HTTP_TIMEOUT_MS overrides the default 30 s. */
  timeoutMs?: number;
  /** Attempts for retryable requests (default 3). */
  attempts?: number;
  /**
   * One deadline for everything this client sends (ms from its creation): the exec plugin
   * must answer kubectl, and release its lock, in bounded time whatever the server does.
   */
  deadlineMs?: number;
  debug?: (line: string) => void;
  /** The largest answer read (default 256 MiB: a cluster may hold tens of thousands of grants). */
  maxBodyBytes?: number;
  /** Aborts every request in flight (Ctrl-C): they end with `CancelledError`. */
  signal?: AbortSignal;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * Safe to send again after a connection error, a 5xx or a 429 (GETs always are).
   * The token mint is: an extra short-lived token harms nobody.
   */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Attempts made (for messages such as "after 3 attempts"). */
  attempts: number;
  url: string;
  method: string;
  /** Local time (ms) when the answer arrived. */
  receivedAt: number;
}

/** Plain http sends tokens in the clear: only to loopback, or when explicitly allowed. */
export function checkTransport(baseUrl: string, env: NodeJS.ProcessEnv): void {
  const u = new URL(baseUrl);
  if (!insecureHttpAllowed(u, env)) {
    throw new UsageError(`refusing to send credentials over plain http to ${u.host}`, {
      hint: 'use an https:// base URL (or set ANKRA_ALLOW_INSECURE_HTTP=1 if you really mean it)',
    });
  }
}

/** The certificates of a --ca-file bundle (anything else in it, such as a private key, is never used). */
export function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`cannot use CA file ${path}: ${why}`, { hint: 'pass --ca-file with a PEM bundle' });
  }
  const bundle = certificatesOf(text);
  if (bundle.count === 0) throw new UsageError(`cannot use CA file ${path}: no PEM certificate in it`, { hint: 'pass --ca-file with a PEM bundle' });
  return bundle.pem;
}

/**
 * A TLS context trusting the system roots (and NODE_EXTRA_CA_CERTS) plus the extra CA.
 * Adding the CA to Node's default context reuses its already parsed root store (~1.5 ms);
 * passing `ca: [...rootCertificates, extra]` instead makes Node parse ~140 PEM roots
 * again (~85 ms), on every cache miss of the exec plugin. The native `addCACert` is not in
 * Node's typed API, so the slower, equivalent form remains as a fallback.
 */
function trustingAlso(caPem: string, env: NodeJS.ProcessEnv): SecureContext {
  const ctx = createSecureContext();
  const native = (ctx as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    native.addCACert(caPem);
    return ctx;
  }
  const extra = [caPem];
  if (env.NODE_EXTRA_CA_CERTS) {
    try {
      extra.push(readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8'));
    } catch {
      // Node itself warns about an unreadable NODE_EXTRA_CA_CERTS
    }
  }
  return createSecureContext({ ca: [...rootCertificates, ...extra] });
}

/**
 * An undici dispatcher with ankra's transport settings: HTTPS_PROXY/NO_PROXY, the extra CA
 * (for the target, also through a proxy tunnel) and timeouts.
 */
async function makeDispatcher(secureContext: SecureContext | undefined, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Dispatcher> {
  const { EnvHttpProxyAgent } = await undici();
  // One TLS context for every connection of this dispatcher.
  const tls = secureContext ? { secureContext } : {};
  return new EnvHttpProxyAgent({
    ...proxySettings(env),
    connect: { timeout: Math.min(timeoutMs, 10_000), ...tls },
    ...(secureContext ? { requestTls: tls } : {}),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** What one attempt brings back. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** One way of sending an attempt: Node's own http(s), or undici through a proxy. */
interface Stack {
  readonly name: string;
  send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, maxBodyBytes: number): Promise<Answer>;
  close(): Promise<void>;
}

/** How long a kept-alive connection may stay idle (the agents' socket timeout only closes free ones). */
const IDLE_MS = 4000;

/** Node's http and https, one keep-alive agent per client (the fan-outs reuse connections). */
class NodeStack implements Stack {
  readonly name = 'node:https';
  private readonly https: HttpsAgent;
  // A kept-alive connection idle for 4 s is closed (as undici does): a load balancer may drop
  // idle connections without a word, and a POST sent on one would only time out.
  private readonly http = new HttpAgent({ keepAlive: true, timeout: IDLE_MS });

  /** A host that never answers the TCP handshake is given up on sooner than the whole attempt. */
  private readonly connectTimeoutMs: number;

  constructor(secureContext: SecureContext | undefined, timeoutMs: number) {
    this.https = new HttpsAgent({ keepAlive: true, timeout: IDLE_MS, ...(secureContext ? { secureContext } : {}) });
    this.connectTimeoutMs = Math.min(timeoutMs, 10_000);
  }

  send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, maxBodyBytes: number): Promise<Answer> {
    const tls = url.protocol === 'https:';
    const all: OutgoingHttpHeaders = body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) };
    return new Promise<Answer>((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)(url, { method, headers: all, agent: tls ? this.https : this.http, signal });
      req.on('error', reject);
      req.once('socket', (socket) => {
        if (!socket.connecting) return; // a kept-alive connection
        const timer = setTimeout(() => req.destroy(Object.assign(new Error('connection timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), this.connectTimeoutMs);
        const done = () => clearTimeout(timer);
        socket.once('connect', done);
        socket.once('close', done);
      });
      req.once('response', (res: IncomingMessage) => {
        readCapped(res, url, method, maxBodyBytes).then((text) => resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), text }), reject);
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.https.destroy();
    this.http.destroy();
  }
}

/** undici with its EnvHttpProxyAgent: HTTPS_PROXY/HTTP_PROXY and NO_PROXY. */
class ProxyStack implements Stack {
  readonly name = 'undici (proxy)';
  private dispatcher: Promise<Dispatcher> | undefined;

  constructor(
    private readonly secureContext: SecureContext | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly timeoutMs: number,
  ) {}

  async send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, maxBodyBytes: number): Promise<Answer> {
    this.dispatcher ??= makeDispatcher(this.secureContext, this.env, this.timeoutMs);
    const [dispatcher, { request }] = await Promise.all([this.dispatcher, undici()]);
    const r = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher, signal });
    const text = await readCapped(r.body, url, method, maxBodyBytes);
    return { status: r.statusCode, headers: flatten(r.headers), text };
  }

  async close(): Promise<void> {
    if (this.dispatcher) await (await this.dispatcher).close();
  }
}

/** Full-jitter exponential back-off: 0–250 ms, 0–500 ms, 0–1 s … capped at 4 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(4000, 250 * 2 ** attempt);
}


/**
 * A bound against a runaway server, not a size any real answer comes near: a cluster with
 * 50,000 grants answers about 27 MB.
 */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, url: URL, method: string, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new AnkraError(`the server at ${url.origin} sent an answer larger than ${Math.round(max / 1024 / 1024)} MiB to ${method} ${url.pathname}`, undefined, {
        hint: 'check --base-url: it may not be an Ankra API',
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Stands for "the time allowed ran out" in describeNetworkError. */
class TimeoutFailure extends Error {
  override readonly name = 'TimeoutError';
}

/** Longest Retry-After ankra waits for by itself; longer ones are reported. */
const MAX_RETRY_AFTER_MS = 20_000;

function describeNetworkError(err: unknown, url: URL): NetworkError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.name === 'TimeoutError' ? 'ANKRA_TIMEOUT' : (e.code ?? e.cause?.code ?? '');
  const where = url.origin;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO|SSL|TLS|ERR_TLS/.test(code);
  if (tls) {
    return new NetworkError(`TLS verification failed for ${where} (${code})`, true, {
      hint: 'if the server uses a private CA, pass --ca-file PATH (or ANKRA_CA_FILE)',
      cause: err,
    });
  }
  const reason: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
    ETIMEDOUT: 'timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
    ANKRA_TIMEOUT: 'no answer in time',
    UND_ERR_BODY_TIMEOUT: 'answer stalled',
    UND_ERR_SOCKET: 'connection closed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
  };
  const why = reason[code] ?? (oneLine(e.message || String(err)) || 'network error');
  return new NetworkError(`cannot reach ${where}: ${why}`, false, {
    hint: 'check --base-url (or ANKRA_BASE_URL), your network and proxy settings',
    cause: err,
  });
}

export class HttpClient {
  readonly baseUrl: string;
  private readonly stack: Stack;
  private readonly deadline: AbortSignal | undefined;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly debug: (line: string) => void;
  private readonly maxBodyBytes: number;
  private readonly signal: AbortSignal | undefined;
  private announced = false;

  constructor(opts: HttpOptions) {
    checkTransport(opts.baseUrl, opts.env);
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    const envTimeout = Number(opts.env.ANKRA_HTTP_TIMEOUT_MS);
    this.timeoutMs = opts.timeoutMs ?? (envTimeout > 0 ? envTimeout : 30_000);
    this.attempts = opts.attempts ?? 3;
    this.debug = opts.debug ?? (() => undefined);
    this.maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    this.signal = opts.signal;
    const secureContext = opts.caFile ? trustingAlso(readCaFile(opts.caFile), opts.env) : undefined;
    this.stack = proxySettings(opts.env) ? new ProxyStack(secureContext, opts.env, this.timeoutMs) : new NodeStack(secureContext, this.timeoutMs);
    this.deadline = opts.deadlineMs ? AbortSignal.timeout(opts.deadlineMs) : undefined;
  }

  url(path: string, query?: HttpRequest['query']): URL {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const cancel = this.cancelSignal(req.signal);
    if (cancel?.aborted) throw new CancelledError();
    const url = this.url(req.path, req.query);
    const retryable = req.method === 'GET' || req.idempotent === true;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    if (!this.announced) {
      this.announced = true;
      this.debug(`transport: ${this.stack.name}`);
    }
    this.debugHeaders(req.method, url, headers);
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      // A whole attempt, headers and body, must finish in time (undici's own timeouts only
      // bound the gaps between bytes, so a server dripping one byte a second would never end).
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signals = [timeout, ...(this.deadline ? [this.deadline] : []), ...(cancel ? [cancel] : [])];
      let res: HttpResponse;
      try {
        const a = await this.stack.send(url, req.method, headers, body, AbortSignal.any(signals), this.maxBodyBytes);
        res = { ...a, attempts: attempt, url: url.toString(), method: req.method, receivedAt: Date.now() };
      } catch (err) {
        if (cancel?.aborted) throw new CancelledError();
        if (err instanceof AnkraError) throw err;
        const failure = describeNetworkError(this.deadline?.aborted || timeout.aborted ? new TimeoutFailure() : err, url);
        this.debug(`${req.method} ${url} failed after ${Date.now() - started} ms: ${failure.message}`);
        if (retryable && attempt < this.attempts && !failure.tls) {
          await this.pause(backoff(attempt), cancel);
          continue;
        }
        throw failure;
      }
      this.debug(`${req.method} ${url} → ${res.status} (${Date.now() - started} ms)${attempt > 1 ? ` attempt ${attempt}` : ''}`);
      const wait = this.retryDelay(res, retryable, attempt);
      if (wait === undefined) return res;
      this.debug(`retrying in ${Math.round(wait)} ms`);
      await this.pause(wait, cancel);
    }
  }

  /** The client's signal (Ctrl-C) and the request's own, as one. */
  private cancelSignal(own: AbortSignal | undefined): AbortSignal | undefined {
    if (this.signal && own) return AbortSignal.any([this.signal, own]);
    return this.signal ?? own;
  }

  /** Wait before a retry, but never past the deadline. */
  private async pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const signals = [...(this.deadline ? [this.deadline] : []), ...(signal ? [signal] : [])];
    await sleep(ms, signals.length ? AbortSignal.any(signals) : undefined).catch(() => {
      if (signal?.aborted) throw new CancelledError();
      throw describeNetworkError(new TimeoutFailure(), new URL(this.baseUrl));
    });
  }

  private debugHeaders(method: string, url: URL, headers: Record<string, string>): void {
    const shown = Object.entries(headers).map(([k, v]) => `${k}: ${k === 'authorization' ? redactAuthorization(v) : v}`);
    this.debug(`${method} ${url} ${shown.join(' | ')}`);
  }

  /** How long to wait before sending again, or undefined to return this answer. */
  private retryDelay(res: HttpResponse, retryable: boolean, attempt: number): number | undefined {
    if (!retryable || attempt >= this.attempts) return undefined;
    if (res.status === 429) {
      const after = retryAfterMs(res.headers['retry-after']);
      if (after === undefined) return backoff(attempt);
      return after <= MAX_RETRY_AFTER_MS ? after : undefined;
    }
    if (res.status === 502 || res.status === 503 || res.status === 504 || res.status === 500) return backoff(attempt);
    return undefined;
  }

  async close(): Promise<void> {
    await this.stack.close();
  }
}

function flatten(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** "Bearer abc…" → "Bearer [redacted]": the scheme helps debugging, the secret never shows. */
export function redactAuthorization(v: string): string {
  const scheme = v.split(' ')[0] ?? '';
  return `${scheme} [redacted]`;
}

/**
 * A fetch for libraries that want one (openid-client): undici's, with ankra's transport
 * settings (proxies, the extra CA, timeouts).
 */
export async function fetchWith(caFile: string | undefined, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<typeof globalThis.fetch> {
  const secureContext = caFile ? trustingAlso(readCaFile(caFile), env) : undefined;
  const [dispatcher, { fetch }] = await Promise.all([makeDispatcher(secureContext, env, timeoutMs), undici()]);
  return ((url: string | URL, init?: RequestInit) => fetch(url, { ...(init as object), dispatcher } as Parameters<typeof fetch>[1])) as unknown as typeof globalThis.fetch;
}
