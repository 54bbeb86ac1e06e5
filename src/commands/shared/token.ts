/**
 * A token minted by a command (kubeconfig add, doctor) is put in the exec plugin's cache
 * under the key kubectl's first call will use, so that call needs no request.
 */
import type { MintedToken } from '../../api/ankra';
import type { Deps } from '../../deps';
import { cacheKey, writeCached } from '../../cache/token-cache';

export function cacheMinted(deps: Deps, where: { orgId: string | undefined; clusterId: string }, minted: MintedToken): void {
  const source = deps.resolved.source;
  if (!source) return;
  try {
    const key = cacheKey({ baseUrl: deps.target.baseUrl, org: where.orgId, cluster: where.clusterId, identity: source.identity });
    writeCached(deps.paths.tokenDir, key, {
      v: 1,
      token: minted.token,
      expires_at: new Date(minted.expiresAtMs).toISOString(),
      issued_at: new Date(deps.now()).toISOString(),
      base_url: deps.target.baseUrl,
      server: minted.server,
    });
  } catch (err) {
    deps.debug(`could not cache the minted token: ${String(err)}`);
  }
}
