/**
 * `ankra auth status`: which server and organisation, who, how authenticated, where the
 * secret is kept and when it expires; checked with one API call. Exit 6 when not logged in
 * or the credential is refused. Changes nothing, whatever it finds.
 */
import { defineCommand } from '../../cli/spec';
import { day, parseTime, relative } from '../../core/time';
import { AuthError, Exit, messageOf } from '../../errors';
import { orgLabel } from '../../lookup/organisations';
import type { Output } from '../../ui/output';

export interface AuthStatus {
  server: string;
  server_source: string;
  organisation: string | null;
  organisation_id: string | null;
  logged_in: boolean;
  method: 'ankra_login' | 'oidc' | 'api_token' | null;
  source: 'session' | 'flag' | 'env' | 'gocli' | null;
  source_description: string | null;
  email: string | null;
  token_name: string | null;
  expires_at: string | null;
  ended: { at: string; reason: string } | null;
  store: 'keychain' | 'file' | null;
  store_location: string | null;
  /** "ok", "not logged in", "rejected: why" (exit 6) or "failed: why" (exit 1: not checked). */
  check: string;
}

export default defineCommand({
  path: ['auth', 'status'],
  summary: 'show the server, organisation, who you are, how you are logged in and when it expires',
  args: {},
  flags: {},
  examples: ['ankra auth status', 'ankra auth status -o json'],
  async run(_opts, deps) {
    const { target, source } = deps.resolved;
    const creds = deps.credentials();
    const meta = source?.session;
    const status: AuthStatus = {
      server: target.baseUrl,
      server_source: target.baseUrlFrom,
      organisation: null,
      organisation_id: null,
      logged_in: Boolean(source),
      method: source ? (meta?.kind === 'oidc' ? 'oidc' : meta?.token_id ? 'ankra_login' : 'api_token') : null,
      source: source?.kind ?? null,
      source_description: source?.label ?? null,
      email: meta?.email ?? null,
      token_name: meta?.token_name ?? source?.gocli?.tokenName ?? null,
      expires_at: meta?.expires_at ?? null,
      ended: meta?.ended ?? null,
      store: meta?.store ?? null,
      store_location: meta ? (meta.store === 'keychain' ? 'the OS keychain (service "ankra")' : `${deps.paths.configDir}/credentials.json`) : null,
      check: 'not logged in',
    };
    if (creds) {
      try {
        const secret = meta && !meta.ended ? await creds.sessionSecret() : undefined;
        if (secret?.kind === 'oidc') status.expires_at = secret.expires_at;
        const org = await deps.organisations.effective();
        status.organisation = org ? orgLabel(org) : null;
        status.organisation_id = org?.organisation_id ?? null;
        if (!status.email) status.email = (await deps.organisations.me().catch(() => undefined))?.email ?? null;
        status.check = 'ok';
        const after = meta ? await creds.sessionSecret() : undefined;
        if (after?.kind === 'oidc') status.expires_at = after.expires_at;
      } catch (err) {
        status.check = err instanceof AuthError ? `rejected: ${messageOf(err)}` : `failed: ${messageOf(err)}`;
        if (err instanceof AuthError) status.logged_in = false;
      }
    }
    if (deps.out.machine) await deps.out.result(status, (s) => s.email ?? s.server);
    else printHuman(deps.out, status, deps.now());
    if (!status.logged_in) return Exit.AUTH;
    return status.check === 'ok' ? Exit.OK : Exit.FAILURE;
  },
});

function printHuman(out: Output, s: AuthStatus, now: number): void {
  out.print(s.server);
  if (!s.source) {
    out.print('  Not logged in. Run `ankra login` (in CI, set ANKRA_API_TOKEN).');
    return;
  }
  const who = s.email ?? (s.method === 'api_token' ? 'an API token' : 'unknown');
  const ok = s.check === 'ok';
  const state = ok ? 'Logged in' : s.logged_in ? 'Could not check the login' : 'Not logged in any more';
  out.print(`  ${state} as ${who} (${s.source_description})`);
  if (!ok) out.print(`  - Check: ${s.check}`);
  out.print(`  - Organisation: ${s.organisation ?? "the server's default"}`);
  if (s.token_name) out.print(`  - Token: ${s.token_name}`);
  if (s.expires_at) {
    const at = parseTime(s.expires_at);
    out.print(`  - Expires: ${day(at)} (${relative(at, now)})${s.method === 'oidc' ? ', refreshed automatically' : ''}`);
  }
  if (s.store_location) out.print(`  - Secret kept in: ${s.store_location}`);
}
