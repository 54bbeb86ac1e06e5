/**
 * `ankra logout`: revoke the session at the identity provider (best effort, unless
 * --local-only), forget its secret and metadata, and clear this server's cached tokens.
 */
import type { Context } from '../../context';
import { clearCache } from '../../cache/token-cache';
import { sessionMeta } from '../../core/config';
import { parseSecret } from '../../auth/credentials';
import { accountName, openStore } from '../../auth/store';
import { messageOf } from '../../errors';
import { forgetSession } from './session';

export interface Options {
  localOnly: boolean;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  const { baseUrl, profile } = ctx.target;
  const meta = sessionMeta(ctx.resolved.config, baseUrl, profile);
  const cleared = clearCache(ctx.paths.tokenDir, baseUrl);
  if (!meta) {
    ctx.out.info(`not logged in to ${baseUrl}${cleared ? ` (removed ${cleared} cached Kubernetes token${cleared === 1 ? '' : 's'})` : ''}`);
    return 0;
  }
  if (meta.kind === 'oidc' && meta.issuer && meta.client_id && !opts.localOnly) {
    await revoke(ctx, meta.issuer, meta.client_id, meta.store);
  }
  const where = await forgetSession(ctx, meta);
  ctx.out.success(
    `Logged out of ${baseUrl}${meta.email ? ` (${meta.email})` : ''}${where ? `; removed the secret from ${where}` : ''}` +
      (cleared ? `; removed ${cleared} cached Kubernetes token${cleared === 1 ? '' : 's'}` : ''),
  );
  return 0;
}

async function revoke(ctx: Context, issuer: string, clientId: string, storeKind: 'keychain' | 'file'): Promise<void> {
  try {
    const store = await openStore(storeKind, ctx.paths.configDir);
    const secret = parseSecret(await store.get(accountName(ctx.target.baseUrl, ctx.target.profile)));
    if (secret?.kind !== 'oidc') return;
    const { revokeToken } = await import('../../auth/oidc');
    const opts = { issuer, clientId, caFile: ctx.caFile, env: ctx.env, debug: ctx.debug };
    const token = secret.refresh_token ?? secret.access_token;
    const done = await revokeToken(opts, token, secret.refresh_token ? 'refresh_token' : 'access_token');
    if (!done) ctx.debug('the identity provider does not advertise token revocation');
  } catch (err) {
    ctx.out.warn(`could not revoke the session at ${issuer} (${messageOf(err)}); it expires on its own`);
  }
}
