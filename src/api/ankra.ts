/**
 * The Ankra API, typed: one method per row of the API contract's token lane, and nothing
 * else. Adds the bearer token and the organisation header, checks the shape of what comes
 * back (`validate.ts`: unknown fields pass through, a missing or wrong-typed field the CLI
 * relies on is a `MalformedAnswerError` naming it) and maps every failure to a typed error
 * (`errors.ts`).
 */
import type { HttpClient, HttpRequest, HttpResponse } from '../net/transport';
import { parseRfc3339 } from '../core/time';
import { AuthError, ConflictError, MalformedAnswerError } from '../errors';
import { detailOf, toError, type About } from './errors';
import { Checker, type Shape } from './validate';
import {
  RECONCILE_STATUSES,
  ROLES,
  SCOPES,
  type Cluster,
  type Grant,
  type GrantRequest,
  type LoginInit,
  type LoginPoll,
  type Organisation,
  type OrganisationDetail,
  type OrganisationUser,
} from './types';

/** Supplies the bearer token; implemented by `auth/credentials.ts`. */
export interface BearerSource {
  bearer(): Promise<string>;
  /** After a 401: try to get a new token (e.g. refresh a session). true: send again. */
  renew?(): Promise<boolean>;
  /** After a 401 that renew could not mend: the error to show (and remember). */
  rejected?(detail: string | undefined): Promise<AuthError>;
  /** What to tell the user when the server rejects the credential. */
  rejectedHint(): string;
  /** Who, for the grant line an admin would run (an email when known). */
  email?(): string | undefined;
}

/** The cluster a request is about: its id, and how to name it in messages. */
export interface ClusterTarget {
  readonly id: string;
  readonly label: string;
}

/** A minted Kubernetes token; `expiresAtMs` is on this machine's clock (see `clockSkewMs`). */
export interface MintedToken {
  token: string;
  /** The Kubernetes API URL for kubectl, as the platform says: never derived. */
  server: string;
  /** As sent. */
  expires_at: string;
  expiresAtMs: number;
}

export type PollResult = { done: true; answer: LoginPoll & { token: string } } | { done: false; status: 'awaiting_approval' | 'mfa_pending' | 'unknown' };

const PAGE_SIZE = 100;

const CLUSTER_SHAPE: Shape = {
  required: { id: 'string', name: 'string' },
  optional: { state: 'string', description: 'string', environment: 'string', organisation_id: 'string', kube_version: 'string', kind: 'string', created_at: 'string' },
};
const GRANT_SHAPE: Shape = {
  required: { id: 'string', cluster_id: 'string', scope: 'string', role: 'string', reconcile_status: 'string' },
  optional: { organisation_id: 'string', ankra_user_id: 'string', user_email: 'string', namespace: 'string', reconcile_error: 'string', reconciled_at: 'string', created_at: 'string' },
};
const ORG_SHAPE: Shape = {
  required: { organisation_id: 'string' },
  optional: { name: 'string', slug: 'string', user_current: 'boolean', status: 'string', role: 'string' },
};
const USER_SHAPE: Shape = { optional: { id: 'string', invite_id: 'string', email: 'string', status: 'string', role: 'string', user_current: 'boolean' } };

export class AnkraApi {
  constructor(
    readonly http: HttpClient,
    private readonly auth: BearerSource | undefined,
    readonly orgId: string | undefined,
    /** How far the server's clock is ahead of ours (`clockSkewMs` of the latest answer), shared with `withOrg` copies. */
    private readonly clock: { skewMs: number } = { skewMs: 0 },
  ) {}

  /**
   * `localMs` on the server's clock, as far as the answers' Date headers tell: for ages of
   * things the server stamped (a grant's `created_at`), whatever this machine's clock says.
   */
  serverTime(localMs: number): number {
    return localMs + this.clock.skewMs;
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  withOrg(orgId: string | undefined): AnkraApi {
    return new AnkraApi(this.http, this.auth, orgId, this.clock);
  }

  // ------------------------------------------------------------------ organisations

  async organisations(): Promise<Organisation[]> {
    const c = new Checker('GET /api/v1/org/organisation');
    const body = await this.json({ method: 'GET', path: '/api/v1/org/organisation' }, { action: 'list your organisations' });
    return c.list(body, '').map((o, i) => c.object(o, `[${i}]`, ORG_SHAPE) as Organisation);
  }

  async organisation(orgId: string): Promise<OrganisationDetail> {
    const path = `/api/v1/org/organisation/${encodeURIComponent(orgId)}`;
    const c = new Checker('GET /api/v1/org/organisation/{id}');
    const body = c.object(await this.json({ method: 'GET', path }, { action: 'read the organisation' }), '', {
      required: { organisation_id: 'string', users: 'array' },
      optional: { name: 'string', slug: 'string' },
    });
    const users = (body.users as unknown[]).map((u, i) => c.object(u, `users[${i}]`, USER_SHAPE) as OrganisationUser);
    return { ...(body as unknown as OrganisationDetail), users };
  }

  // ------------------------------------------------------------------ clusters

  async clustersPage(page: number, pageSize: number, filter: { name?: string; id?: string } = {}): Promise<{ clusters: Cluster[]; totalPages: number; totalCount: number | undefined }> {
    const c = new Checker('GET /api/v1/clusters');
    const body = c.object(
      await this.json(
        { method: 'GET', path: '/api/v1/clusters', query: { page, page_size: pageSize, cluster_name: filter.name, cluster_id: filter.id } },
        { action: 'list clusters' },
      ),
      '',
      { required: { result: 'array' }, optional: { pagination: 'object' } },
    );
    const clusters = (body.result as unknown[]).map((x, i) => c.object(x, `result[${i}]`, CLUSTER_SHAPE) as Cluster);
    const pagination = c.object(body.pagination ?? {}, 'pagination', { optional: { total_pages: 'number', total_count: 'number' } });
    const totalPages = typeof pagination.total_pages === 'number' ? pagination.total_pages : 1;
    const totalCount = typeof pagination.total_count === 'number' ? pagination.total_count : undefined;
    return { clusters, totalPages, totalCount };
  }

  /**
   * Every cluster matching `filter`, following the pagination. A server that sends a page
   * again (or pages that add nothing new) while promising more is reported, not followed.
   */
  async allClusters(filter: { name?: string } = {}): Promise<Cluster[]> {
    const seen = new Map<string, Cluster>();
    for (let page = 1; ; page++) {
      const p = await this.clustersPage(page, PAGE_SIZE, filter);
      const before = seen.size;
      for (const cl of p.clusters) if (!seen.has(cl.id)) seen.set(cl.id, cl);
      const last = page >= p.totalPages || p.clusters.length === 0 || (p.totalCount !== undefined && seen.size >= p.totalCount);
      if (last) break;
      if (seen.size === before) {
        throw new MalformedAnswerError('GET /api/v1/clusters', `page ${page} repeats clusters already listed although total_pages is ${p.totalPages}; stopped after ${page} pages`);
      }
    }
    return [...seen.values()];
  }

  /** The cluster of that exact name (the API's filter may match loosely), or undefined. */
  async clusterByName(name: string): Promise<Cluster | undefined> {
    return (await this.allClusters({ name })).find((cl) => cl.name === name);
  }

  async clusterById(id: string): Promise<Cluster | undefined> {
    const p = await this.clustersPage(1, 1, { id });
    return p.clusters.find((cl) => cl.id === id);
  }

  // ------------------------------------------------------------------ grants

  async grants(cluster: ClusterTarget): Promise<Grant[]> {
    const c = new Checker('GET /api/v1/clusters/{id}/access/grants');
    const body = await this.json({ method: 'GET', path: `${clusterPath(cluster.id)}/access/grants` }, { action: `list the grants on ${cluster.label}`, cluster: cluster.label, adminOnly: true });
    const list = Array.isArray(body) ? body : c.object(body, '', { required: { result: 'array' } }).result;
    return (list as unknown[]).map((g, i) => grant(c, g, `result[${i}]`));
  }

  /** Creates a grant; a 409 (it exists already) is `undefined` for the caller to resolve. */
  async createGrant(cluster: ClusterTarget, req: GrantRequest): Promise<Grant | undefined> {
    const about = { action: `grant access on ${cluster.label}`, cluster: cluster.label, adminOnly: true };
    const res = await this.send({ method: 'POST', path: `${clusterPath(cluster.id)}/access/grants`, body: req });
    if (res.status === 409) {
      const err = toError(res, about);
      if (err instanceof ConflictError) return undefined;
      throw err;
    }
    const c = new Checker('POST /api/v1/clusters/{id}/access/grants');
    const body = c.object(this.parse(res, about), '', { required: { grant: 'object' } });
    return grant(c, body.grant, 'grant');
  }

  async deleteGrant(cluster: ClusterTarget, grantId: string): Promise<void> {
    const about = { action: `revoke grant ${grantId} on ${cluster.label}`, cluster: cluster.label, adminOnly: true };
    this.parse(await this.send({ method: 'DELETE', path: `${clusterPath(cluster.id)}/access/grants/${encodeURIComponent(grantId)}` }), about);
  }

  // ------------------------------------------------------------------ tokens

  /**
   * Mints a Kubernetes token (no body). `expiresAtMs` is `expires_at` moved onto this
   * machine's clock by the skew between the answer's Date header and the local time,
   * because kubectl compares it with the local clock.
   */
  async mintToken(cluster: ClusterTarget): Promise<MintedToken> {
    if (!this.auth) throw new AuthError(`not logged in to ${this.baseUrl}`, { hint: 'run `ankra login`' });
    const about = { action: `get a Kubernetes token for ${cluster.label}`, cluster: cluster.label };
    const res = await this.send({ method: 'POST', path: `${clusterPath(cluster.id)}/k8s-token`, idempotent: true });
    const c: Checker = new Checker('POST /api/v1/clusters/{id}/k8s-token');
    const body = c.object(this.parse(res, about), '', { required: { token: 'string', server: 'string', expires_at: 'string' } });
    const token = body.token as string;
    const server = body.server as string;
    const expiresAt = body.expires_at as string;
    if (!token) c.fail('token', 'is empty');
    const at = parseRfc3339(expiresAt);
    if (at === undefined) c.fail('expires_at', `is not a time (${JSON.stringify(expiresAt.slice(0, 40))})`);
    if (!/^https?:$/.test(URL.canParse(server) ? new URL(server).protocol : '')) c.fail('server', `is not an http(s) URL (${JSON.stringify(server.slice(0, 60))})`);
    return { token, server, expires_at: expiresAt, expiresAtMs: at - clockSkewMs(res) };
  }

  /** Revokes an Ankra API token by id (Bearer the same token, no body). */
  async revokeApiToken(tokenId: string): Promise<void> {
    const about = { action: 'revoke the login token' };
    this.parse(await this.send({ method: 'POST', path: `/api/v1/org/account/tokens/${encodeURIComponent(tokenId)}/revoke` }), about);
  }

  /** Whether the server answers at all (TLS included): any HTTP status will do. Sends no credential. */
  async probe(): Promise<number> {
    return (await this.http.send({ method: 'GET', path: '/api/v1/org/organisation' })).status;
  }

  // ------------------------------------------------------------------ Ankra's CLI login (no auth)

  async loginInit(query: { code_challenge: string; machine_id: string; machine_name: string; base_url: string }): Promise<LoginInit> {
    const about = { action: 'start the login' };
    const res = await this.http.send({ method: 'GET', path: '/api/v1/cli/login/init', query });
    if (res.status === 422 && /redirect_uri/.test(res.text)) {
      throw new MalformedAnswerError('GET /api/v1/cli/login/init', 'the platform does not support this login flow yet (it asks for redirect_uri)');
    }
    const c = new Checker('GET /api/v1/cli/login/init');
    const body = c.object(this.parse(res, about), '', { required: { auth_url: 'string', ticket: 'string' }, optional: { state: 'string', auth0_domain: 'string' } });
    if (!body.ticket) c.fail('ticket', 'is empty: the platform did not start a login session');
    return body as LoginInit;
  }

  /**
   * One poll. Pending states and answers worth polling again (an unreadable 200) return
   * `done: false`; 4xx answers are final and thrown; network errors and 5xx are thrown as
   * they are, for the caller to keep polling.
   */
  async loginPoll(ticket: string, codeVerifier: string, signal?: AbortSignal): Promise<PollResult | { done: false; retry: HttpResponse }> {
    const res = await this.http.send({ method: 'POST', path: '/api/v1/cli/login/poll', body: { ticket, code_verifier: codeVerifier }, signal });
    if (res.status >= 500) return { done: false, retry: res };
    if (res.status !== 200) {
      // Final: the platform's own words, with what to do.
      const detail = detailOf(res);
      const why = detail ? ` (${detail})` : '';
      if (res.status === 410) throw new AuthError(`the login expired before it was approved${why}`, { hint: 'run `ankra login` again and approve it within 10 minutes' });
      if (res.status === 403) throw new AuthError(`the platform refused this login${why}`, { hint: 'run `ankra login` again' });
      throw toError(res, { action: 'log in' });
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return { done: false, status: 'unknown' };
    }
    if (typeof body !== 'object' || body === null) return { done: false, status: 'unknown' };
    const b = body as LoginPoll;
    if (typeof b.token === 'string' && b.token.trim() !== '') return { done: true, answer: b as LoginPoll & { token: string } };
    if (b.mfa_required === true || b.status === 'mfa_pending') return { done: false, status: 'mfa_pending' };
    if (b.status === 'awaiting_approval') return { done: false, status: 'awaiting_approval' };
    return { done: false, status: 'unknown' };
  }

  // ------------------------------------------------------------------ plumbing

  private async send(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...req.headers };
    if (this.orgId) headers['x-ankra-organisation-id'] = this.orgId;
    if (!this.auth) return this.http.send({ ...req, headers });
    headers.authorization = `Bearer ${await this.auth.bearer()}`;
    let res = await this.http.send({ ...req, headers });
    if (res.status === 401 && this.auth.renew && (await this.auth.renew())) {
      headers.authorization = `Bearer ${await this.auth.bearer()}`;
      res = await this.http.send({ ...req, headers });
    }
    if (res.status === 401 && this.auth.rejected) throw await this.auth.rejected(detailOf(res));
    if (res.headers.date) this.clock.skewMs = clockSkewMs(res);
    return res;
  }

  private async json(req: HttpRequest, about: About): Promise<unknown> {
    if (!this.auth) throw new AuthError(`not logged in to ${this.baseUrl}`, { hint: 'run `ankra login`' });
    return this.parse(await this.send(req), about);
  }

  private parse(res: HttpResponse, about: About): unknown {
    if (res.status >= 200 && res.status < 300) {
      if (res.text.trim() === '') return {};
      try {
        return JSON.parse(res.text);
      } catch {
        throw new MalformedAnswerError(`${res.method} ${new URL(res.url).pathname}`, 'it is not valid JSON');
      }
    }
    throw toError(res, { email: this.auth?.email?.(), rejectedHint: this.auth?.rejectedHint(), ...about });
  }
}

function grant(c: Checker, raw: unknown, path: string): Grant {
  const g = c.object(raw, path, GRANT_SHAPE);
  c.oneOf(g, path, 'role', ROLES);
  c.oneOf(g, path, 'scope', SCOPES);
  // A status this CLI does not know yet is shown as it is, not refused.
  if (!(RECONCILE_STATUSES as readonly string[]).includes(g.reconcile_status as string)) g.reconcile_status = String(g.reconcile_status);
  return g as unknown as Grant;
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
