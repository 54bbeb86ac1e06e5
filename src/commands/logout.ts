/**
 * `ankra logout`: revoke the login's token (best effort, unless --local-only), forget its
 * secret and metadata, and clear this server's cached Kubernetes tokens. When the login in
 * use is Ankra's Go CLI's (`~/.ankra.yaml`), its token is revoked and the keys its own logout
 * blanks are blanked, every other key kept.
 */
import { defineCommand, flag } from '../cli/spec';
import type { Deps } from '../deps';
import { clearCache } from '../cache/token-cache';
import { sessionMeta, type SessionMeta } from '../core/config';
import { parseSecret, type SessionSecret } from '../auth/credentials';
import { accountName, openStore, type SecretStore } from '../auth/store';
import { forgetSession } from '../auth/session';
import { messageOf } from '../errors';

export default defineCommand({
  path: ['logout'],
  aliases: [['auth', 'logout']],
  summary: 'log out: revoke the login token, and forget it and the cached Kubernetes tokens',
  args: {},
  flags: { localOnly: flag.bool('do not revoke anything on the server; only forget it here') },
  examples: ['ankra logout', 'ankra logout --local-only'],
  async run(opts, deps) {
    const { baseUrl, profile } = deps.target;
    const source = deps.resolved.source;
    const tokensCleared = () => clearCache(deps.paths.tokenDir, baseUrl);
    const meta = sessionMeta(deps.resolved.config, baseUrl, profile);
    if (!meta && source?.kind === 'gocli') return logoutGoCli(deps, opts.localOnly, tokensCleared);
    if (!meta) {
      const n = tokensCleared();
      const why = source?.kind === 'env' ? ' (the API token comes from ANKRA_API_TOKEN: unset it to stop using it)' : source?.kind === 'flag' ? ' (the API token comes from --token)' : '';
      deps.out.info(`not logged in to ${baseUrl}${why}${n ? `; removed ${plural(n)}` : ''}`);
      await deps.out.result({ server: baseUrl, logged_out: false, revoked: false, secret_removed_from: null, removed_tokens: n });
      return 0;
    }

    let store: SecretStore | undefined;
    let secret: SessionSecret | undefined;
    try {
      store = await openStore(meta.store, deps.paths.configDir);
      secret = parseSecret(await store.get(accountName(baseUrl, profile)));
    } catch (err) {
      store = undefined;
      deps.out.warn(`${messageOf(err)}: the login is forgotten here, but its secret stays in the ${meta.store === 'file' ? 'credentials file' : 'OS keychain'} and was not revoked`);
    }
    const revoked = opts.localOnly || !secret ? false : await revoke(deps, meta, secret);
    const where = await forgetSession(deps, meta, store);
    // After the session is gone, so a kubectl minting meanwhile cannot leave a token behind.
    const n = tokensCleared();
    const notes = [revoked ? 'revoked its token' : '', where ? `removed it from ${where}` : '', n ? `removed ${plural(n)}` : ''].filter(Boolean);
    deps.out.success(`Logged out of ${baseUrl}${meta.email ? ` (${meta.email})` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`);
    if (!revoked && !opts.localOnly && meta.kind === 'api_token' && !meta.token_id) {
      deps.out.info('The API token given with --with-token was not revoked: it is yours to keep or revoke in Ankra.');
    }
    await deps.out.result({ server: baseUrl, logged_out: true, revoked, secret_removed_from: where ?? null, removed_tokens: n });
    return 0;
  },
});

const plural = (n: number) => `${n} cached Kubernetes token${n === 1 ? '' : 's'}`;

/** Revokes the login on the server; a failure is a warning (the login is forgotten anyway). */
async function revoke(deps: Deps, meta: SessionMeta, secret: SessionSecret): Promise<boolean> {
  try {
    if (secret.kind === 'api_token' && meta.token_id) {
      const { AnkraApi } = await import('../api/ankra');
      await new AnkraApi(await deps.http(), { bearer: async () => secret.token, rejectedHint: () => '' }, undefined).revokeApiToken(meta.token_id);
      return true;
    }
    if (secret.kind === 'oidc' && meta.issuer && meta.client_id) {
      const { revokeToken } = await import('../auth/oidc');
      const opts = { issuer: meta.issuer, clientId: meta.client_id, caFile: deps.caFile, env: deps.env, debug: deps.debug, timeoutS: 10 };
      // Revoking the refresh token ends the whole session at the provider (access tokens too).
      const token = secret.refresh_token ?? secret.access_token;
      const done = await revokeToken(opts, token, secret.refresh_token ? 'refresh_token' : 'access_token');
      if (!done) deps.debug('the identity provider does not advertise token revocation');
      return done;
    }
  } catch (err) {
    deps.out.warn(`could not revoke the login on the server (${messageOf(err)}); it was removed from this machine and stays valid until it expires`);
  }
  return false;
}

async function logoutGoCli(deps: Deps, localOnly: boolean, tokensCleared: () => number): Promise<number> {
  const login = deps.resolved.source?.gocli;
  let revoked = false;
  if (!localOnly && login?.token) {
    if (login.tokenId) {
      try {
        const { AnkraApi } = await import('../api/ankra');
        await new AnkraApi(await deps.http(), { bearer: async () => login.token ?? '', rejectedHint: () => '' }, undefined).revokeApiToken(login.tokenId);
        revoked = true;
      } catch (err) {
        deps.out.warn(`could not revoke the Go CLI's login token (${messageOf(err)}); it stays valid until it expires`);
      }
    } else {
      deps.out.warn("the Go CLI's login has no token_id: its token cannot be revoked and stays valid until it expires");
    }
  }
  const { blankGoCliLogin } = await import('../auth/gocli-write');
  await blankGoCliLogin(deps.paths.goCliConfig);
  const n = tokensCleared();
  deps.out.success(`Logged out of ${deps.target.baseUrl} (the login of Ankra's Go CLI in ~/.ankra.yaml)${revoked ? '; revoked its token' : ''}${n ? `; removed ${plural(n)}` : ''}`);
  await deps.out.result({ server: deps.target.baseUrl, logged_out: true, revoked, secret_removed_from: deps.paths.goCliConfig, removed_tokens: n });
  return 0;
}
