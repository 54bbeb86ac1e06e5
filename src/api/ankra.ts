/**
 * The Ankra API, typed: one method per endpoint of the API contract. Adds the bearer token
 * and the organisation header, validates the shape of what comes back (unknown fields are
 * fine, a malformed body is an error that says so) and maps every documented failure to a
 * typed error with its exit code and the next command to run.
 */
import type { HttpClient, HttpRequest, HttpResponse } from './http';
import { retryAfterMs } from './http';
import {
  DETAIL,
  type Capabilities,
  type Cluster,
  type ClusterPage,
  type ErrorBody,
  type Grant,
  type GrantRequest,
  type K8sToken,
  type Member,
  type OidcDiscovery,
  type Organisation,
} from './types';
import { AnkraError, ApiError, AuthError, NoGrantError, NotFoundError, PermissionError, UsageError, oneLine } from '../errors';

/** Supplies the bearer token; implemented by `auth/credentials.ts`. */
export interface BearerSource {
  bearer(): Promise<string>;
  /** After a 401: try to get a new token (e.g. refresh a session). true: send again. */
  renew?(): Promise<boolean>;
  /** What to tell the user when the server rejects the credential. */
  rejectedHint(): string;
  /** Who, for messages such as the grant line an admin would run (an email when known). */
  email?(): string | undefined;
}

/** What a request is about, so errors can name it. */
export interface ErrorContext {
  cluster?: string;
  /** e.g. "list grants" */
  action?: string;
}

const MAX_PAGE_SIZE = 100;

export class AnkraApi {
  constructor(
    readonly http: HttpClient,
    private readonly auth: BearerSource | undefined,
    private readonly orgId: string | undefined,
  ) {}

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  withOrg(orgId: string | undefined): AnkraApi {
    return new AnkraApi(this.http, this.auth, orgId);
  }

  // ------------------------------------------------------------------ endpoints

  oidcDiscovery(): Promise<OidcDiscovery> {
    return this.json({ method: 'GET', path: '/api/v1/cli/oidc' }, {}, false).then((b) => {
      const d = b as Partial<OidcDiscovery>;
      if (typeof d.issuer !== 'string' || typeof d.client_id !== 'string') throw malformed('GET /api/v1/cli/oidc', 'no issuer/client_id');
      return { ...d, scopes: Array.isArray(d.scopes) ? d.scopes : ['openid', 'email', 'profile', 'offline_access'] } as OidcDiscovery;
    });
  }

  async organisations(): Promise<Organisation[]> {
    const body = await this.json({ method: 'GET', path: '/api/v1/org/organisation' }, { action: 'list organisations' });
    const list = Array.isArray(body) ? body : (body as { result?: unknown }).result;
    if (!Array.isArray(list)) throw malformed('GET /api/v1/org/organisation', 'expected a list');
    return list.filter((o): o is Organisation => isObj(o) && typeof o.organisation_id === 'string' && typeof o.name === 'string');
  }

  async clustersPage(page: number, pageSize: number, name?: string): Promise<ClusterPage> {
    const body = await this.json(
      { method: 'GET', path: '/api/v1/clusters', query: { page, page_size: pageSize, cluster_name: name } },
      { action: 'list clusters' },
    );
    if (!isObj(body) || !Array.isArray(body.result)) throw malformed('GET /api/v1/clusters', 'no result list');
    return body as unknown as ClusterPage;
  }

  /** Every cluster of the organisation, following the pagination to the last page. */
  async allClusters(): Promise<Cluster[]> {
    const all: Cluster[] = [];
    for (let page = 1; page <= 1000; page++) {
      const p = await this.clustersPage(page, MAX_PAGE_SIZE);
      all.push(...p.result.filter(isCluster));
      const pages = p.pagination?.total_pages ?? 1;
      if (page >= pages || p.result.length === 0) break;
    }
    return all;
  }

  async clusterByName(name: string): Promise<Cluster | undefined> {
    const p = await this.clustersPage(1, MAX_PAGE_SIZE, name);
    return p.result.filter(isCluster).find((c) => c.name === name);
  }

  async capabilities(clusterId: string, ctx: ErrorContext = {}): Promise<Capabilities> {
    const b = await this.json({ method: 'GET', path: `${clusterPath(clusterId)}/access/capabilities` }, ctx);
    if (!isObj(b) || typeof b.enabled !== 'boolean') throw malformed('GET …/access/capabilities', 'no "enabled"');
    return { can_manage: false, has_access: false, ...b } as Capabilities;
  }

  async members(clusterId: string, ctx: ErrorContext = {}): Promise<Member[]> {
    const b = await this.json({ method: 'GET', path: `${clusterPath(clusterId)}/access/members` }, { action: 'list members', ...ctx });
    return resultList(b, 'GET …/access/members').filter((m): m is Member => isObj(m) && typeof m.email === 'string');
  }

  async grants(clusterId: string, ctx: ErrorContext = {}): Promise<Grant[]> {
    const b = await this.json({ method: 'GET', path: `${clusterPath(clusterId)}/access/grants` }, { action: 'list grants', ...ctx });
    return resultList(b, 'GET …/access/grants').filter(isGrant);
  }

  /** Creates a grant; a 409 (it exists already) is returned as `undefined` for the caller to resolve. */
  async createGrant(clusterId: string, req: GrantRequest, ctx: ErrorContext = {}): Promise<Grant | undefined> {
    const res = await this.send({ method: 'POST', path: `${clusterPath(clusterId)}/access/grants`, body: req }, true);
    if (res.status === 409 && !/sandbox/i.test(detailOf(res) ?? '')) return undefined;
    const b = this.parse(res, { action: 'grant access', ...ctx });
    const g = isObj(b) ? b.grant : undefined;
    if (!isGrant(g)) throw malformed('POST …/access/grants', 'no grant in the answer');
    return g;
  }

  async deleteGrant(clusterId: string, grantId: string, ctx: ErrorContext = {}): Promise<void> {
    const res = await this.send({ method: 'DELETE', path: `${clusterPath(clusterId)}/access/grants/${encodeURIComponent(grantId)}` }, true);
    if (res.status === 404 && detailOf(res) !== DETAIL.clusterNotFound && detailOf(res) !== DETAIL.gatewayDisabled) {
      throw new NotFoundError(`grant ${grantId} not found on cluster ${ctx.cluster ?? clusterId}`, {
        hint: `run \`ankra cluster access list --cluster ${ctx.cluster ?? clusterId}\``,
      });
    }
    this.parse(res, { action: 'revoke access', ...ctx });
  }

  async revokeAll(clusterId: string, ctx: ErrorContext = {}): Promise<number> {
    const b = await this.json({ method: 'POST', path: `${clusterPath(clusterId)}/access/revoke-all` }, { action: 'revoke all access', ...ctx });
    return isObj(b) && typeof b.revoked === 'number' ? b.revoked : 0;
  }

  /**
   * Mints a Kubernetes token. `expiresAtLocal` is `expires_at` moved onto this machine's
   * clock (by the skew between the answer's Date header and the local time), because
   * kubectl compares it with the local clock.
   */
  async mintToken(clusterId: string, ctx: ErrorContext = {}): Promise<K8sToken & { expiresAtLocal: string }> {
    if (!this.auth) throw notLoggedIn(this.baseUrl);
    const res = await this.send({ method: 'POST', path: `${clusterPath(clusterId)}/k8s-token`, idempotent: true });
    const b = this.parse(res, { action: 'get a Kubernetes token', ...ctx });
    if (!isObj(b) || typeof b.token !== 'string' || !b.token || typeof b.expires_at !== 'string' || Number.isNaN(Date.parse(b.expires_at))) {
      throw malformed('POST …/k8s-token', 'no token/expires_at');
    }
    const expiresAtLocal = new Date(Date.parse(b.expires_at) - clockSkewMs(res)).toISOString();
    return { ...(b as unknown as K8sToken), expiresAtLocal };
  }

  // ------------------------------------------------------------------ plumbing

  private async send(req: HttpRequest, auth = true): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...req.headers };
    if (this.orgId) headers['x-ankra-organisation-id'] = this.orgId;
    if (!auth || !this.auth) return this.http.send({ ...req, headers });
    headers.authorization = `Bearer ${await this.auth.bearer()}`;
    const res = await this.http.send({ ...req, headers });
    if (res.status === 401 && this.auth.renew && (await this.auth.renew())) {
      headers.authorization = `Bearer ${await this.auth.bearer()}`;
      return this.http.send({ ...req, headers });
    }
    return res;
  }

  private async json(req: HttpRequest, ctx: ErrorContext, auth = true): Promise<unknown> {
    if (auth && !this.auth) throw notLoggedIn(this.baseUrl);
    return this.parse(await this.send(req, auth), ctx);
  }

  private parse(res: HttpResponse, ctx: ErrorContext): unknown {
    if (res.status >= 200 && res.status < 300) {
      if (res.text.trim() === '') return {};
      try {
        return JSON.parse(res.text);
      } catch {
        throw malformed(`${res.method} ${new URL(res.url).pathname}`, 'not valid JSON');
      }
    }
    throw this.toError(res, ctx);
  }

  /** Every documented failure → one typed error. */
  toError(res: HttpResponse, ctx: ErrorContext): AnkraError {
    const detail = detailOf(res);
    const body = bodyOf(res);
    const cluster = ctx.cluster;
    const doing = ctx.action ? `cannot ${ctx.action}` : 'request failed';
    switch (res.status) {
      case 400:
        return new UsageError(`${doing}: ${detail ?? 'bad request'}`);
      case 401:
        return new AuthError(`the Ankra API at ${this.baseUrl} rejected your credentials (${detail ?? 'unauthorized'})`, {
          hint: this.auth?.rejectedHint() ?? 'run `ankra login`',
        });
      case 403:
        if (detail === DETAIL.noAccess) {
          return noGrant(cluster ?? 'CLUSTER', this.auth?.email?.());
        }
        if (detail === DETAIL.permissionDenied) {
          const perm = typeof body?.permission === 'string' ? ` (${body.permission})` : '';
          return new PermissionError(`${doing}: permission denied${perm}; this needs an organisation admin`, {
            hint: 'ask an admin of the organisation, or pick another with --org',
          });
        }
        return new PermissionError(`${doing}: ${detail ?? 'forbidden'}`, { hint: 'check --org, or ask an organisation admin' });
      case 404:
        if (detail === DETAIL.gatewayDisabled) {
          return new ApiError('Cluster Access is not enabled for this Ankra deployment', 404, {
            hint: 'ask your Ankra administrator to enable the access gateway',
          });
        }
        if (detail === DETAIL.clusterNotFound) {
          return new NotFoundError(`cluster ${cluster ?? ''} not found`.replace('  ', ' '), { hint: 'run `ankra cluster list` (and check --org)' });
        }
        return new NotFoundError(`${doing}: ${detail ?? 'not found'}`);
      case 409:
        return new ApiError(`${doing}: ${detail ?? 'conflict'}`, 409, /sandbox/i.test(detail ?? '') ? { hint: 'use a non-sandbox cluster' } : {});
      case 422:
        return new UsageError(`${doing}: ${validationMessage(body) ?? detail ?? 'invalid request'}`);
      case 429: {
        const after = retryAfterMs(res.headers['retry-after']);
        const when = after === undefined ? 'later' : `in ${Math.ceil(after / 1000)} s`;
        return new ApiError(`${doing}: rate limited by the Ankra API`, 429, { hint: `try again ${when}` });
      }
      default: {
        const tries = res.attempts > 1 ? ` after ${res.attempts} attempts` : '';
        return new ApiError(`${doing}: the Ankra API answered ${res.status}${detail ? ` (${detail})` : ''}${tries}`, res.status, {
          hint: 'try again later; --debug shows each request',
        });
      }
    }
  }
}

/**
 * The caller's own grants on a cluster, when they can be told apart: by the caller's email
 * (known for OIDC logins), or the whole list when the caller is known not to manage grants
 * (a member sees only their own). undefined when it cannot be told or the list is refused.
 */
export async function callerGrants(api: AnkraApi, clusterId: string, who: { email?: string; canManage?: boolean }): Promise<Grant[] | undefined> {
  if (!who.email && who.canManage !== false) return undefined;
  let grants: Grant[];
  try {
    grants = await api.grants(clusterId);
  } catch {
    return undefined;
  }
  const email = who.email?.toLowerCase();
  return email ? grants.filter((g) => g.user_email?.toLowerCase() === email) : grants;
}

/** "You have no grant", with the command an admin would run (view by default, as the CLI's). */
export function noGrant(cluster: string, email: string | undefined): NoGrantError {
  return new NoGrantError(`you have no access grant on cluster ${cluster} (none yet, or it was revoked)`, {
    hint: `ask an organisation admin to grant it: \`ankra cluster access grant ${email ?? '<your-email>'} --cluster ${cluster}\` (with --namespace NS for one namespace)`,
  });
}

/** Capabilities said `enabled: false`: a sandbox, or no access gateway for the deployment. */
export function accessUnavailable(cluster: Pick<Cluster, 'name' | 'kind'>): AnkraError {
  return cluster.kind === 'sandbox'
    ? new ApiError(`Cluster Access is not available for sandbox clusters (${cluster.name} is one)`, 409, { hint: 'use a non-sandbox cluster' })
    : new ApiError('Cluster Access is not enabled for this Ankra deployment', 404, { hint: 'ask your Ankra administrator to enable the access gateway' });
}

export function notLoggedIn(baseUrl: string): AuthError {
  return new AuthError(`not logged in to ${baseUrl}`, { hint: 'run `ankra login` (in CI, set ANKRA_API_TOKEN)' });
}

/** How far the server's clock is ahead of ours, from the Date header; 0 when unknown or within 2 s. */
export function clockSkewMs(res: Pick<HttpResponse, 'headers' | 'receivedAt'>): number {
  const server = Date.parse(res.headers.date ?? '');
  if (Number.isNaN(server)) return 0;
  const skew = server - res.receivedAt;
  // The header has a one-second resolution: ignore what it cannot tell apart.
  return Math.abs(skew) < 2000 ? 0 : skew;
}

function clusterPath(id: string): string {
  return `/api/v1/clusters/${encodeURIComponent(id)}`;
}

function malformed(what: string, why: string): ApiError {
  return new ApiError(`the Ankra API sent a malformed answer to ${what} (${why})`, 502, {
    hint: 'try again; if it persists, run with --debug and report it',
  });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resultList(b: unknown, what: string): unknown[] {
  const list = isObj(b) ? b.result : Array.isArray(b) ? b : undefined;
  if (!Array.isArray(list)) throw malformed(what, 'no result list');
  return list;
}

function isCluster(c: unknown): c is Cluster {
  return isObj(c) && typeof c.id === 'string' && typeof c.name === 'string';
}

export function isGrant(g: unknown): g is Grant {
  return isObj(g) && typeof g.id === 'string' && typeof g.role === 'string' && typeof g.scope === 'string' && typeof g.reconcile_status === 'string';
}

function bodyOf(res: HttpResponse): ErrorBody | undefined {
  try {
    const b: unknown = JSON.parse(res.text);
    return isObj(b) ? (b as ErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

function detailOf(res: HttpResponse): string | undefined {
  const d = bodyOf(res)?.detail;
  return typeof d === 'string' ? oneLine(d).slice(0, 300) : undefined;
}

/** FastAPI's 422 list → "role: value is not a valid role; namespace: …". */
function validationMessage(body: ErrorBody | undefined): string | undefined {
  if (!Array.isArray(body?.detail)) return undefined;
  const parts = body.detail
    .filter((i) => isObj(i) && typeof i.msg === 'string')
    .map((i) => {
      const loc = Array.isArray(i.loc) ? i.loc.filter((p) => p !== 'body').join('.') : '';
      return oneLine(loc ? `${loc}: ${i.msg}` : i.msg);
    });
  return parts.length ? parts.join('; ') : undefined;
}

