/** Saving and forgetting a login: the secret in its store, the metadata in the settings. */
import type * as Crypto from 'node:crypto';
import type { Deps } from '../deps';
import { clearCache } from '../cache/token-cache';
import { readConfig, updateConfig, serverConfig, sessionMeta, type SessionMeta } from '../core/config';
import { parseSecret, sessionLockPath, type SessionSecret } from './credentials';
import { withLock } from '../core/lock';
import { messageOf } from '../errors';
import { accountName, chooseStore, openStore, type SecretStore, type StoreChoice } from './store';
import { builtin } from '../core/builtin';

const crypto = builtin<typeof Crypto>('node:crypto');

/**
 * Where the new login's secret will go. Chosen before the login starts, so a keychain that
 * cannot be used (ANKRA_CREDENTIAL_STORE=keychain without one) fails before anyone approves
 * anything. Nothing is printed here: the login prints `notice` only once it has succeeded
 * (`printStoreNotice`).
 */
export function chooseSessionStore(deps: Deps): Promise<StoreChoice> {
  return chooseStore(deps.paths.configDir, deps.env, deps.debug);
}

/** After a successful login: the one line about a secret kept in the file, if there is one. */
export function printStoreNotice(deps: Deps, choice: StoreChoice): void {
  if (choice.notice) deps.out.warn(choice.notice);
}

/** Saves a new login over the previous one; returns the previous one's metadata. */
export async function saveSession(
  deps: Deps,
  store: SecretStore,
  secret: SessionSecret,
  meta: Omit<SessionMeta, 'id' | 'store' | 'created_at'>,
  oidc?: { issuer: string; client_id: string },
): Promise<{ previous: SessionMeta | undefined; previousSecret: SessionSecret | undefined }> {
  const { baseUrl, profile } = deps.target;
  const account = accountName(baseUrl, profile);
  let previous: SessionMeta | undefined;
  let previousSecret: SessionSecret | undefined;
  // Under the session lock: a refresh of the previous login running elsewhere (kubectl in
  // another terminal) must not write its tokens over this new login.
  await withLock(sessionLockPath(deps.paths.configDir, account), { what: 'the session', timeoutMs: 60_000 }, async () => {
    // The settings on disk now, not as read at start-up: the login may have taken minutes.
    previous = sessionMeta(readConfig(deps.paths.configDir), baseUrl, profile);
    if (previous?.store === store.kind) previousSecret = parseSecret(await store.get(account).catch(() => undefined));
    await store.set(account, JSON.stringify(secret));
    const full: SessionMeta = { ...meta, id: crypto().randomUUID(), store: store.kind, created_at: new Date().toISOString() };
    await updateConfig(deps.paths.configDir, (cfg) => {
      cfg.current_base_url = baseUrl;
      const server = serverConfig(cfg, baseUrl);
      server.sessions = { ...server.sessions, [profile]: full };
      if (oidc) server.oidc = oidc;
    });
    // A secret left in the other store by an earlier login would be orphaned: remove it.
    if (previous && previous.store !== store.kind) {
      await openStore(previous.store, deps.paths.configDir)
        .then((s) => s.delete(account))
        .catch(() => undefined);
    }
  });
  // Tokens minted for the previous login are keyed to it; nothing will read them again.
  clearCache(deps.paths.tokenDir, baseUrl);
  return { previous, previousSecret };
}

/**
 * Remove the session's secret (from `store`, the session's store already opened, when given)
 * and its metadata. Returns where the secret was kept, if it was removed from anywhere.
 */
export async function forgetSession(deps: Deps, meta: SessionMeta, store?: SecretStore): Promise<string | undefined> {
  const { baseUrl, profile } = deps.target;
  const account = accountName(baseUrl, profile);
  let where: string | undefined;
  // Under the session lock, so a refresh in flight cannot bring the secret back.
  await withLock(sessionLockPath(deps.paths.configDir, account), { what: 'the session', timeoutMs: 60_000 }, async () => {
    if (store) {
      try {
        if (await store.delete(account)) where = store.where;
      } catch (err) {
        deps.out.warn(`could not remove the secret from the ${meta.store === 'file' ? 'credentials file' : 'OS keychain'}: ${messageOf(err)}`);
      }
    }
    await updateConfig(deps.paths.configDir, (cfg) => {
      const sessions = cfg.servers[baseUrl]?.sessions;
      if (sessions && sessions[profile]?.id === meta.id) delete sessions[profile];
    });
  });
  return where;
}
