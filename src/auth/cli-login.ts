/**
 * Ankra's CLI login (the API contract's "Login" section, as Ankra's Go CLI does it): a
 * PKCE pair, a login ticket from `GET /api/v1/cli/login/init`, a person approving in a
 * browser on any device, and `POST /api/v1/cli/login/poll` every 2 s for up to 10 minutes
 * until the platform hands over a named, revocable Ankra API token. No local port is opened.
 */
import type * as Crypto from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { AnkraApi } from '../api/ankra';
import type { LoginInit, LoginPoll } from '../api/types';
import { AnkraError, CancelledError, NetworkError } from '../errors';
import { sleep } from '../core/time';
import { builtin } from '../core/builtin';

const crypto = builtin<typeof Crypto>('node:crypto');

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** verifier: base64url of 32 random bytes; challenge: base64url(SHA-256(verifier)). */
export function pkcePair(): Pkce {
  const verifier = crypto().randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto().createHash('sha256').update(verifier).digest('base64url') };
}

/** As the Go CLI sanitises names for the machine id: lower case, [a-z0-9-], at most 20. */
function sanitize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[ _.]/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .slice(0, 20);
}

/** A stable id of this machine and user: the first 16 bytes of SHA-256 of `<host>-<user>`, hex. */
export function machineId(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // a uid without a passwd entry
  }
  return crypto().createHash('sha256').update(`${sanitize(hostname() || 'unknown')}-${sanitize(user)}`).digest('hex').slice(0, 32);
}

export type LoginStatus = 'awaiting_approval' | 'mfa_pending';

export interface LoginTiming {
  /** Between polls (2 s; ANKRA_LOGIN_POLL_MS for tests and slow links). */
  intervalMs: number;
  /** The whole wait (10 min). */
  timeoutMs: number;
}

export interface ApprovedLogin {
  token: string;
  token_id?: string;
  token_name?: string;
  expires_at?: string;
}


export async function startLogin(api: AnkraApi, pkce: Pkce, machine: { id: string; name: string }): Promise<LoginInit> {
  return api.loginInit({ code_challenge: pkce.challenge, machine_id: machine.id, machine_name: machine.name, base_url: api.baseUrl });
}

/**
 * Polls until the platform issues the token. `onStatus` hears "approve in the browser" and
 * "finish two-factor" once each as they come; network errors, 5xx and unreadable answers
 * are polled through; a final 4xx is thrown; Ctrl-C (the signal) is `CancelledError`.
 */
export async function waitForApproval(
  api: AnkraApi,
  ticket: string,
  pkce: Pkce,
  opts: { signal: AbortSignal; timing: LoginTiming; onStatus(status: LoginStatus): void; debug(line: string): void },
): Promise<ApprovedLogin> {
  const deadline = Date.now() + opts.timing.timeoutMs;
  let last: LoginStatus | undefined;
  for (;;) {
    await sleep(Math.min(opts.timing.intervalMs, Math.max(0, deadline - Date.now())), opts.signal);
    if (Date.now() >= deadline) {
      throw new AnkraError(`the login was not approved within ${Math.round(opts.timing.timeoutMs / 60_000)} minutes`, undefined, { hint: 'run `ankra login` again' });
    }
    let r: Awaited<ReturnType<AnkraApi['loginPoll']>>;
    try {
      r = await api.loginPoll(ticket, pkce.verifier, opts.signal);
    } catch (err) {
      if (opts.signal.aborted) throw new CancelledError();
      if (err instanceof NetworkError) {
        opts.debug(`login poll failed (${err.message}); polling again`);
        continue;
      }
      throw err;
    }
    if (r.done) return approved(r.answer);
    if ('retry' in r) {
      opts.debug(`login poll answered ${r.retry.status}; polling again`);
      continue;
    }
    if (r.status !== 'unknown' && r.status !== last) {
      last = r.status;
      opts.onStatus(r.status);
    }
  }
}

function approved(a: LoginPoll & { token: string }): ApprovedLogin {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { token: a.token.trim(), token_id: str(a.token_id), token_name: str(a.token_name), expires_at: str(a.expires_at) };
}
