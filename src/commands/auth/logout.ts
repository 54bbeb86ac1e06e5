/**
 * `ankra logout`: revoke the session at the identity provider (best effort, unless
 * --local-only), forget its secret and metadata, and clear this server's cached tokens.
 * Whatever fails on the way (the issuer offline, the keychain unreachable) is one warning;
 * the local state is cleared regardless.
 */
import type { Context } from '../../context';
import { clearCache } from '../../cache/token-cache';
import { sessionMeta, type SessionMeta } from '../../core/config';
import { parseSecret, type SessionSecret } from '../../auth/credentials';
import { accountName, openStore, type SecretStore } from '../../auth/store';
import { AnkraError } from '../../errors';
import { forgetSession } from './session';

export interface Options {
  localOnly: boolean;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  const { baseUrl, profile } = ctx.target;
  const meta = sessionMeta(ctx.resolved.config, baseUrl, profile);
  const tokensCleared = () => {
    const count = clearCache(ctx.paths.tokenDir, baseUrl);
    return { count, text: count ? `removed ${count} cached Kubernetes token${count === 1 ? '' : 's'}` : '' };
  };
  const result = async (loggedOut: boolean, removedFrom: string | undefined, tokens: number) => {
    if (ctx.out.format !== 'table') await ctx.out.data({ server: baseUrl, logged_out: loggedOut, secret_removed_from: removedFrom ?? null, removed_tokens: tokens }, undefined);
  };
  if (!meta) {
    const tokens = tokensCleared();
    ctx.out.info(`not logged in to ${baseUrl}${tokens.text ? ` (${tokens.text})` : ''}`);
    await result(false, undefined, tokens.count);
    return 0;
  }

  let store: SecretStore | undefined;
  let secret: SessionSecret | undefined;
  try {
    store = await openStore(meta.store, ctx.paths.configDir);
    secret = parseSecret(await store.get(accountName(baseUrl, profile)));
  } catch (err) {
    store = undefined;
    ctx.out.warn(`${reason(err)}: the session is forgotten here, but its secret stays in the ${meta.store === 'file' ? 'credentials file' : 'OS keychain'} and was not revoked`);
  }
  if (store && secret?.kind === 'oidc' && !opts.localOnly) await revoke(ctx, meta, secret);

  const where = await forgetSession(ctx, meta, store);
  // After the session is gone, so a kubectl minting meanwhile cannot leave a token behind.
  const tokens = tokensCleared();
  ctx.out.success(
    `Logged out of ${baseUrl}${meta.email ? ` (${meta.email})` : ''}${where ? `; removed the secret from ${where}` : ''}${tokens.text ? `; ${tokens.text}` : ''}`,
  );
  await result(true, where, tokens.count);
  return 0;
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function revoke(ctx: Context, meta: SessionMeta, secret: Extract<SessionSecret, { kind: 'oidc' }>): Promise<void> {
  const issuer = meta.issuer;
  if (!issuer || !meta.client_id) return;
  try {
    const { revokeToken } = await import('../../auth/oidc');
    const opts = { issuer, clientId: meta.client_id, caFile: ctx.caFile, env: ctx.env, debug: ctx.debug, timeoutS: 10 };
    // Revoking the refresh token ends the whole session at the provider (access tokens too).
    const token = secret.refresh_token ?? secret.access_token;
    const done = await revokeToken(opts, token, secret.refresh_token ? 'refresh_token' : 'access_token');
    if (!done) ctx.debug('the identity provider does not advertise token revocation');
  } catch (err) {
    const why = err instanceof AnkraError || err instanceof Error ? err.message : String(err);
    ctx.out.warn(`could not revoke the session at ${issuer} (${why}); it was removed from this machine and expires on its own`);
  }
}
