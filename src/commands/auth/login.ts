/**
 * `ankra login`: the OIDC device authorization grant (RFC 8628) against the issuer the
 * Ankra API advertises, or `--with-token` to store an API token read from stdin. The new
 * login replaces the old one only once it has succeeded.
 */
import { readFileSync } from 'node:fs';
import type { Context } from '../../context';
import { AnkraApi } from '../../api/ankra';
import { CancelledError, UsageError } from '../../errors';
import { startDeviceLogin, type OidcClientOptions } from '../../auth/oidc';
import { canOpenBrowser, openBrowser } from '../../ui/browser';
import { saveSession } from './session';

export interface Options {
  issuer?: string;
  clientId?: string;
  browser: boolean;
  withToken: boolean;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (ctx.global.token) throw new UsageError('--token cannot be combined with login', { hint: 'pipe the token: `echo "$TOKEN" | ankra login --with-token`' });
  return opts.withToken ? loginWithToken(ctx) : loginWithDevice(ctx, opts);
}

function readStdinToken(ctx: Context): string {
  if (ctx.out.interactive) {
    throw new UsageError('--with-token reads the token from stdin', { hint: 'pipe it: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
  }
  let raw: string;
  try {
    raw = readFileSync(0, 'utf8');
  } catch {
    raw = '';
  }
  const token = raw.trim();
  if (!token || /\s/.test(token)) throw new UsageError('no API token on stdin', { hint: 'pipe exactly one token: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
  return token;
}

async function loginWithToken(ctx: Context): Promise<number> {
  const token = readStdinToken(ctx);
  // One call proves the token works before anything is stored.
  const probe = new AnkraApi(ctx.http(), { bearer: async () => token, rejectedHint: () => 'check the token (it may be expired or revoked)' }, undefined);
  await probe.organisations();
  const store = await saveSession(ctx, { kind: 'api_token', token }, { kind: 'api_token' });
  ctx.out.success(`Logged in to ${ctx.target.baseUrl} with an API token (kept in ${store.where})`);
  return 0;
}

async function loginWithDevice(ctx: Context, opts: Options): Promise<number> {
  if (Boolean(opts.issuer) !== Boolean(opts.clientId)) {
    throw new UsageError('--issuer and --client-id go together', { hint: 'pass both, or neither to use what the Ankra API advertises' });
  }
  const discovered = opts.issuer ? undefined : await ctx.baseApi().oidcDiscovery();
  const issuer = opts.issuer ?? discovered?.issuer ?? '';
  const clientId = opts.clientId ?? discovered?.client_id ?? '';
  const scopes = discovered?.scopes ?? ['openid', 'email', 'profile', 'offline_access'];
  const oidc: OidcClientOptions = { issuer, clientId, caFile: ctx.caFile, env: ctx.env, debug: ctx.debug };

  const device = await startDeviceLogin(oidc, scopes);
  const out = ctx.out;
  out.info(`To log in to ${ctx.target.baseUrl}, open ${out.paint(device.verificationUri, 'cyan', 'err')} and enter the code ${out.paint(device.userCode, 'bold', 'err')}`);
  if (device.verificationUriComplete) out.info(`(or open ${device.verificationUriComplete})`);
  if (opts.browser && canOpenBrowser(ctx.env)) openBrowser(device.verificationUriComplete ?? device.verificationUri, ctx.env);

  // Ctrl-C cancels the wait cleanly; the previous session, if any, is left as it was.
  const abort = new AbortController();
  const previous = process.listeners('SIGINT');
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', () => abort.abort());
  const progress = await out.progress(`Waiting for you to approve the login (the code expires in ${Math.round(device.expiresInS / 60)} min)`);
  let tokens;
  try {
    tokens = await device.wait(abort.signal);
  } catch (err) {
    progress.fail('Login did not complete');
    if (abort.signal.aborted) throw new CancelledError('login cancelled; any previous login is unchanged');
    throw err;
  } finally {
    progress.stop();
    process.removeAllListeners('SIGINT');
    for (const l of previous) process.on('SIGINT', l as () => void);
  }

  const claims = tokens.claims;
  const store = await saveSession(
    ctx,
    { kind: 'oidc', access_token: tokens.access_token, ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}), expires_at: tokens.expires_at },
    {
      kind: 'oidc',
      issuer,
      client_id: clientId,
      ...(claims?.email ? { email: claims.email } : {}),
      ...(claims?.sub ? { subject: claims.sub } : {}),
      ...(claims?.name ? { name: claims.name } : {}),
    },
    { issuer, client_id: clientId },
  );
  out.success(`Logged in to ${ctx.target.baseUrl} as ${claims?.email ?? claims?.sub ?? 'you'} (session kept in ${store.where})`);
  return 0;
}
