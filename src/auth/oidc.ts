/**
 * The OIDC client (openid-client): the device authorization grant for `ankra login`
 * (RFC 8628, including `interval` and `slow_down`, which openid-client honours), refresh
 * and revocation. Requests go through ankra's own undici dispatcher, so proxies and
 * `--ca-file` apply to the identity provider too.
 */
import * as client from 'openid-client';
import { AnkraError, AuthError, Exit, oneLine } from '../errors';
import { isLoopbackHost } from '../core/url';
import { fetchWith } from '../net/transport';

export interface OidcClientOptions {
  issuer: string;
  clientId: string;
  caFile: string | undefined;
  env: NodeJS.ProcessEnv;
  debug: (line: string) => void;
  /** Per request (default 30 s); logout's best-effort revocation uses less. */
  timeoutS?: number;
}

export interface TokenResult {
  access_token: string;
  refresh_token?: string;
  /** RFC 3339 */
  expires_at: string;
  claims?: { sub: string; email?: string; name?: string };
}

/** The identity provider refused a refresh token (invalid_grant): the session is over. */
export class SessionRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}


async function configure(opts: OidcClientOptions): Promise<client.Configuration> {
  const issuer = new URL(opts.issuer);
  // Per request. A refresh may run inside the exec plugin, which must answer kubectl soon.
  const timeoutS = opts.timeoutS ?? 15;
  const fetch = await fetchWith(opts.caFile, opts.env, timeoutS * 1000);
  const customFetch: client.CustomFetch = async (url, init) => {
    const started = Date.now();
    const res = await fetch(url, init as RequestInit);
    opts.debug(`${init.method} ${url} → ${res.status} (${Date.now() - started} ms)`);
    return res;
  };
  try {
    return await client.discovery(issuer, opts.clientId, undefined, client.None(), {
      [client.customFetch]: customFetch,
      // openid-client refuses http://; allow it only for a local issuer (tests, emulators).
      ...(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname) ? { execute: [client.allowInsecureRequests] } : {}),
      timeout: timeoutS,
    });
  } catch (err) {
    throw describe(err, `cannot use the identity provider ${opts.issuer}`);
  }
}

/** openid-client's errors → one line. OAuth error codes are kept ("access_denied", …). */
export function oauthError(err: unknown): string | undefined {
  const e = err as { error?: unknown };
  return typeof e?.error === 'string' ? e.error : undefined;
}

function describe(err: unknown, doing: string): AnkraError {
  if (err instanceof AnkraError) return err;
  const e = err as { name?: string; code?: unknown; error?: string; error_description?: string; message?: string; cause?: { name?: string; code?: unknown; message?: string } };
  const timedOut = e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError' || e.code === 'OAUTH_TIMEOUT';
  const why = timedOut ? 'no answer in time' : (e.error_description ?? e.error ?? (typeof e.cause?.code === 'string' ? e.cause.code : undefined) ?? e.cause?.message ?? e.message ?? String(err));
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(`${e.cause?.code ?? ''} ${why}`);
  return new AnkraError(`${doing}: ${oneLine(String(why))}`, Exit.FAILURE, {
    hint: tls ? 'if it uses a private CA, pass --ca-file PATH' : 'check the issuer URL and your network (--debug shows each request)',
    cause: err,
  });
}

function toResult(t: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, now = Date.now()): TokenResult {
  const expiresIn = t.expiresIn() ?? 300;
  const claims = t.claims();
  return {
    access_token: t.access_token,
    ...(t.refresh_token ? { refresh_token: t.refresh_token } : {}),
    expires_at: new Date(now + expiresIn * 1000).toISOString(),
    ...(claims
      ? {
          claims: {
            sub: claims.sub,
            ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
            ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
          },
        }
      : {}),
  };
}

export async function refreshTokens(opts: OidcClientOptions, refreshToken: string): Promise<TokenResult> {
  const config = await configure(opts);
  try {
    return toResult(await client.refreshTokenGrant(config, refreshToken));
  } catch (err) {
    const code = oauthError(err);
    if (code === 'invalid_grant' || code === 'invalid_client' || code === 'unauthorized_client') {
      throw new SessionRejected(code);
    }
    throw describe(err, 'cannot refresh your session');
  }
}

/** Revoke at the provider if it advertises revocation. false: it does not. */
export async function revokeToken(opts: OidcClientOptions, token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
  const config = await configure(opts);
  if (!config.serverMetadata().revocation_endpoint) return false;
  try {
    await client.tokenRevocation(config, token, { token_type_hint: hint });
    return true;
  } catch (err) {
    throw describe(err, 'cannot revoke the session at the identity provider');
  }
}

export interface DeviceLogin {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | undefined;
  expiresInS: number;
  /** Poll until approved, denied or expired; abort with the signal (Ctrl-C). */
  wait(signal: AbortSignal): Promise<TokenResult>;
}

export async function startDeviceLogin(opts: OidcClientOptions, scopes: string[]): Promise<DeviceLogin> {
  const config = await configure(opts);
  let response: client.DeviceAuthorizationResponse;
  try {
    response = await client.initiateDeviceAuthorization(config, { scope: scopes.join(' ') });
  } catch (err) {
    throw describe(err, 'cannot start the device login');
  }
  return {
    userCode: response.user_code,
    verificationUri: response.verification_uri,
    verificationUriComplete: response.verification_uri_complete,
    expiresInS: response.expires_in,
    async wait(signal) {
      // openid-client checks its signal only between waits of up to 5 s (longer after a
      // slow_down), so Ctrl-C is raced here to end at once; the expiry of the code aborts
      // its polling too.
      const expiry = AbortSignal.timeout(response.expires_in * 1000);
      const stop = AbortSignal.any([signal, expiry]);
      const cancelled = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      cancelled.catch(() => undefined); // a Ctrl-C after the login completed is nobody's error
      try {
        const polled = client.pollDeviceAuthorizationGrant(config, response, undefined, { signal: stop });
        polled.catch(() => undefined); // settles after a cancellation too: nobody is waiting then
        return toResult(await Promise.race([polled, cancelled]));
      } catch (err) {
        if (signal.aborted) throw err;
        const code = oauthError(err) ?? (expiry.aborted ? 'expired_token' : undefined);
        switch (code) {
          case 'access_denied':
            throw new AuthError('login denied: the request was not approved', { hint: 'run `ankra login` again and approve it' });
          case 'expired_token':
            throw new AuthError(`login expired: the code ${response.user_code} was not approved in time`, { hint: 'run `ankra login` again' });
          default:
            throw describe(err, 'login failed');
        }
      }
    },
  };
}
