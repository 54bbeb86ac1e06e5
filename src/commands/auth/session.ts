/** Saving and forgetting a login: the secret in its store, the metadata in the settings. */
import { randomUUID } from 'node:crypto';
import type { Context } from '../../context';
import { clearCache } from '../../cache/token-cache';
import { updateConfig, serverConfig, sessionMeta, type SessionMeta } from '../../core/config';
import type { SessionSecret } from '../../auth/credentials';
import { accountName, chooseStore, openStore, type SecretStore } from '../../auth/store';

export async function saveSession(ctx: Context, secret: SessionSecret, meta: Omit<SessionMeta, 'id' | 'store' | 'created_at'>, oidc?: { issuer: string; client_id: string }): Promise<SecretStore> {
  const { baseUrl, profile } = ctx.target;
  const account = accountName(baseUrl, profile);
  const previous = sessionMeta(ctx.resolved.config, baseUrl, profile);
  const store = await chooseStore(ctx.paths.configDir, ctx.env, (m) => ctx.out.warn(m));
  await store.set(account, JSON.stringify(secret));
  const full: SessionMeta = { ...meta, id: randomUUID(), store: store.kind, created_at: new Date().toISOString() };
  await updateConfig(ctx.paths.configDir, (cfg) => {
    cfg.current_base_url = baseUrl;
    const server = serverConfig(cfg, baseUrl);
    server.sessions = { ...server.sessions, [profile]: full };
    if (oidc) server.oidc = oidc;
  });
  // A secret left in the other store by an earlier login would be orphaned: remove it.
  if (previous && previous.store !== store.kind) {
    await openStore(previous.store, ctx.paths.configDir)
      .then((s) => s.delete(account))
      .catch(() => undefined);
  }
  // Tokens minted for the previous login are keyed to it; nothing will read them again.
  clearCache(ctx.paths.tokenDir, baseUrl);
  return store;
}

/** Remove the session's secret and metadata. Returns where the secret was kept, if anywhere. */
export async function forgetSession(ctx: Context, meta: SessionMeta): Promise<string | undefined> {
  const { baseUrl, profile } = ctx.target;
  let where: string | undefined;
  try {
    const store = await openStore(meta.store, ctx.paths.configDir);
    if (await store.delete(accountName(baseUrl, profile))) where = store.where;
  } catch (err) {
    ctx.out.warn(`could not remove the secret from the ${meta.store}: ${(err as Error).message}`);
  }
  await updateConfig(ctx.paths.configDir, (cfg) => {
    const sessions = cfg.servers[baseUrl]?.sessions;
    if (sessions) delete sessions[profile];
  });
  return where;
}
