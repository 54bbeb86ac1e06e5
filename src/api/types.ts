/**
 * The Ankra API's wire types (see the API contract), shared by the CLI and the local
 * emulator so both sides agree. Unknown fields are tolerated everywhere: every type is
 * open, and the guards check only what ankra relies on.
 */

export const ROLES = ['view', 'edit', 'admin', 'cluster-admin'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = ['cluster', 'namespace'] as const;
export type Scope = (typeof SCOPES)[number];

export const RECONCILE_STATUSES = ['pending', 'applied', 'failed', 'cluster_offline'] as const;
export type ReconcileStatus = (typeof RECONCILE_STATUSES)[number];

/** `GET /api/v1/org/organisation`: one per membership. `name`, `slug`, `status`, `role` may be null. */
export interface Organisation {
  organisation_id: string;
  name?: string | null;
  slug?: string | null;
  user_current?: boolean;
  status?: string | null;
  role?: string | null;
  [extra: string]: unknown;
}

export interface Cluster {
  id: string;
  name: string;
  state?: string;
  environment?: string | null;
  organisation_id?: string;
  kube_version?: string | null;
  kind?: string;
  created_at?: string;
  [extra: string]: unknown;
}

export interface Pagination {
  total_count: number;
  total_pages: number;
  page: number;
  page_size: number;
}

export interface ClusterPage {
  result: Cluster[];
  pagination?: Pagination;
}

export interface Grant {
  id: string;
  organisation_id: string;
  cluster_id: string;
  ankra_user_id: string;
  user_email: string | null;
  scope: Scope;
  namespace: string | null;
  role: Role;
  reconcile_status: ReconcileStatus;
  reconcile_error: string | null;
  reconciled_at: string | null;
  created_at: string;
  [extra: string]: unknown;
}

export interface GrantRequest {
  user_email: string;
  scope: Scope;
  namespace?: string;
  role: Role;
}

export interface K8sToken {
  token: string;
  /** The Kubernetes API proxy base URL for the cluster. */
  server: string;
  /** RFC 3339. */
  expires_at: string;
  [extra: string]: unknown;
}

/** `GET /api/v1/org/organisation/{org_id}`: one member, or an invitation (`invite_id`, no `id`). Every field may be null. */
export interface OrganisationUser {
  id?: string | null;
  invite_id?: string | null;
  email?: string | null;
  status?: string | null;
  role?: string | null;
  user_current?: boolean | null;
  [extra: string]: unknown;
}

/** `GET /api/v1/org/organisation/{org_id}`: the organisation and its members under `users`. */
export interface OrganisationDetail {
  organisation_id: string;
  name?: string | null;
  slug?: string | null;
  created_at?: string;
  users: OrganisationUser[];
  [extra: string]: unknown;
}

/** `GET /api/v1/cli/login/init`: the browser page to open and the ticket to poll with. */
export interface LoginInit {
  auth_url: string;
  state: string;
  auth0_domain: string;
  ticket: string;
  [extra: string]: unknown;
}

/** `POST /api/v1/cli/login/poll` body. */
export interface LoginPollRequest {
  ticket: string;
  code_verifier: string;
}

export const LOGIN_STATUSES = ['awaiting_approval', 'mfa_pending', 'issued'] as const;
export type LoginStatus = (typeof LOGIN_STATUSES)[number];

/** `POST /api/v1/cli/login/poll` 200: `token` is null until the login is issued. */
export interface LoginPoll {
  token: string | null;
  expires_at?: string;
  token_id?: string;
  token_name?: string;
  mfa_required: boolean;
  /** One of LOGIN_STATUSES on today's platform; a newer one may send others. */
  status: string;
  [extra: string]: unknown;
}

/** One entry of `GET /api/v1/org/account/tokens` (never the secret). */
export interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string;
  revoked: boolean;
  revoked_at?: string | null;
  last_used_at?: string | null;
  [extra: string]: unknown;
}

/** `POST /api/v1/org/account/tokens` body. */
export interface CreateApiTokenRequest {
  name: string;
  expires_in_days?: number;
}

/** `POST /api/v1/org/account/tokens` answer: the secret, shown once. */
export interface CreatedApiToken {
  id: string;
  token: string;
  name: string;
  created_at: string;
  expires_at: string;
  [extra: string]: unknown;
}

/** A 403 for a missing platform permission: `{"detail":"permission_denied","permission":"cluster_access:manage"}`. */
export interface PermissionDeniedBody {
  detail: 'permission_denied';
  permission: string;
  [extra: string]: unknown;
}

/** `{"detail": "..."}` or FastAPI's 422 `{"detail": [{"loc","msg","type"}]}`. */
export interface ErrorBody {
  detail?: string | ValidationIssue[];
  permission?: string;
  [extra: string]: unknown;
}

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** The `detail` strings the CLI tells apart. */
export const DETAIL = {
  clusterNotFound: 'Cluster not found',
  gatewayDisabled: 'Cluster access is not enabled',
  noAccess: 'You do not have access to this cluster',
  permissionDenied: 'permission_denied',
  sandbox: 'Cluster Access is not available for sandbox clusters',
  invalidToken: 'Invalid or expired token',
  notMember: 'You are not a member of this organisation',
  grantNotFound: 'Grant not found',
  grantExists: 'A grant for this user and scope already exists',
  rateLimited: 'Rate limit exceeded',
  notFound: 'Not Found',
  /** Login poll 410: the ticket is unknown, spent, or older than the login session's lifetime. */
  loginExpired: 'Login session expired or not found: run the login again',
  /** Login poll 403: base64url(SHA-256(code_verifier)) is not the code_challenge of the ticket. */
  verifierRefused: 'Invalid code verifier',
  /** Login init and poll 426. */
  upgradeRequired: 'This CLI version is no longer supported: upgrade it and log in again',
  tokenNotFound: 'Token not found',
} as const;

/** The permission a member lacks for grant management (`PermissionDeniedBody.permission`). */
export const MANAGE_PERMISSION = 'cluster_access:manage';

/** `token_name` of the API token a CLI login issues. */
export const CLI_LOGIN_TOKEN_NAME = 'CLI Login';

/** The path of a cluster's Kubernetes API behind Ankra's proxy. */
export function kubeServerPath(clusterId: string): string {
  return `/api/v1/clusters/${encodeURIComponent(clusterId)}/k8s`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ankra ids are UUIDs; a value that looks like one is used as an id without a lookup. */
export function looksLikeId(s: string): boolean {
  return UUID.test(s);
}
