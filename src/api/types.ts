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

/** A member (or an invitation: `invite_id` and no `id`) in `GET /api/v1/org/organisation/{id}`. Every field may be null. */
export interface OrgUser {
  id?: string | null;
  invite_id?: string | null;
  email?: string | null;
  status?: string | null;
  role?: string | null;
  user_current?: boolean | null;
  [extra: string]: unknown;
}

export interface OrganisationDetail {
  organisation_id: string;
  name?: string | null;
  slug?: string | null;
  created_at?: string;
  users: OrgUser[];
  [extra: string]: unknown;
}

/** `GET /api/v1/cli/login/init` */
export interface LoginInit {
  auth_url: string;
  state?: string;
  auth0_domain?: string;
  ticket: string;
  [extra: string]: unknown;
}

/** `POST /api/v1/cli/login/poll`, 200: a token once approved, else a status to show. */
export interface LoginPoll {
  token?: string | null;
  expires_at?: string | null;
  token_id?: string | null;
  token_name?: string | null;
  mfa_required?: boolean | null;
  status?: string | null;
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
} as const;

/** The path of a cluster's Kubernetes API behind Ankra's proxy. */
export function kubeServerPath(clusterId: string): string {
  return `/api/v1/clusters/${encodeURIComponent(clusterId)}/k8s`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ankra ids are UUIDs; a value that looks like one is used as an id without a lookup. */
export function looksLikeId(s: string): boolean {
  return UUID.test(s);
}

// Routes the platform serves to browser sessions only; the emulator drops them (then these go).
export interface Capabilities {
  enabled: boolean;
  can_manage: boolean;
  has_access: boolean;
  [extra: string]: unknown;
}
export interface Member {
  user_id: string;
  email: string;
  name?: string | null;
  role?: string;
  status?: string;
  [extra: string]: unknown;
}
export interface OidcDiscovery {
  issuer: string;
  client_id: string;
  scopes: string[];
  audience?: string;
  [extra: string]: unknown;
}
