/**
 * `ankra auth status`: which server and organisation, who, how authenticated, where the
 * secret is kept and when the access token expires; checked with one API call. Exit 6 when
 * not logged in or the credential is rejected.
 */
import type { Context } from '../../context';
import { AuthError, Exit, messageOf } from '../../errors';

export interface AuthStatus {
  server: string;
  server_source: string;
  organisation: string | null;
  logged_in: boolean;
  method: 'oidc' | 'api_token' | null;
  source: 'session' | 'flag' | 'env' | 'gocli' | null;
  source_description: string | null;
  email: string | null;
  subject: string | null;
  name: string | null;
  store: 'keychain' | 'file' | null;
  store_location: string | null;
  access_token_expires_at: string | null;
  /** "ok", "not logged in", "rejected: why" (exit 6) or "failed: why" (exit 1: not checked). */
  check: string;
}

export async function run(ctx: Context): Promise<number> {
  const { target, source } = ctx.resolved;
  const creds = ctx.credentials();
  const meta = source?.session;
  const status: AuthStatus = {
    server: target.baseUrl,
    server_source: target.baseUrlFrom,
    organisation: target.org ?? null,
    logged_in: Boolean(source),
    method: source ? (meta ? meta.kind : 'api_token') : null,
    source: source?.kind ?? null,
    source_description: source?.label ?? null,
    email: meta?.email ?? null,
    subject: meta?.subject ?? null,
    name: meta?.name ?? null,
    store: meta?.store ?? null,
    store_location: null,
    access_token_expires_at: null,
    check: 'not logged in',
  };
  if (creds) {
    try {
      const secret = meta ? await creds.sessionSecret() : undefined;
      if (secret?.kind === 'oidc') status.access_token_expires_at = secret.expires_at;
      await ctx.baseApi().organisations();
      status.check = 'ok';
      // A refresh during the check moves the expiry.
      const after = meta ? await creds.sessionSecret() : undefined;
      if (after?.kind === 'oidc') status.access_token_expires_at = after.expires_at;
    } catch (err) {
      status.check = err instanceof AuthError ? `rejected: ${messageOf(err)}` : `failed: ${messageOf(err)}`;
      if (err instanceof AuthError) status.logged_in = false;
    }
    if (meta) status.store_location = meta.store === 'keychain' ? 'the OS keychain (service "ankra")' : `${ctx.paths.configDir}/credentials.json`;
  }

  if (ctx.out.format !== 'table') await ctx.out.data(status, undefined);
  else printHuman(ctx, status);
  if (!status.logged_in) return Exit.AUTH;
  return status.check === 'ok' ? Exit.OK : Exit.FAILURE;
}

function printHuman(ctx: Context, s: AuthStatus): void {
  const out = ctx.out;
  out.print(s.server);
  if (!s.source) {
    out.print(`  ${out.paint('✗', 'red')} Not logged in. Run \`ankra login\` (in CI, set ANKRA_API_TOKEN).`);
    return;
  }
  const who = s.email ?? s.subject ?? (s.method === 'api_token' ? 'an API token' : 'unknown');
  const ok = s.check === 'ok';
  const state = ok ? 'Logged in' : s.logged_in ? 'Could not check the login' : 'Credential problem';
  out.print(`  ${ok ? out.paint('✓', 'green') : out.paint('✗', 'red')} ${state} as ${who} (${s.source_description})`);
  if (!ok) out.print(`  - Check: ${s.check}`);
  out.print(`  - Organisation: ${s.organisation ?? "the server's default"}`);
  if (s.store_location) out.print(`  - Secret kept in: ${s.store_location}`);
  if (s.access_token_expires_at) out.print(`  - Access token expires: ${s.access_token_expires_at} (refreshed automatically)`);
}
