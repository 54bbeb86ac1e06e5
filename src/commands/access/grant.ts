/**
 * `ankra cluster access grant EMAIL`: give a member a role on a cluster or one namespace,
 * optionally waiting until Ankra has applied it to the cluster's RBAC.
 */
import type { AnkraApi } from '../../api/ankra';
import type { Grant, GrantRequest, Role } from '../../api/types';
import type { ClusterRef, Context } from '../../context';
import { AnkraError, ApiError, Exit, UsageError, WaitTimeoutError } from '../../errors';
import { GRANT_COLUMNS } from './columns';

export interface Options {
  email: string;
  cluster?: string;
  role: Role;
  namespace?: string;
  wait: boolean;
  /** ms */
  timeout: number;
}

const sameTarget = (g: Grant, req: GrantRequest) =>
  (g.user_email ?? '').toLowerCase() === req.user_email.toLowerCase() && g.scope === req.scope && (g.namespace ?? undefined) === req.namespace;

export function describeGrant(g: Pick<Grant, 'role' | 'scope' | 'namespace'>, clusterName: string): string {
  return g.scope === 'namespace' ? `${g.role} on namespace ${g.namespace} of ${clusterName}` : `${g.role} on cluster ${clusterName}`;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (opts.role === 'cluster-admin' && opts.namespace) {
    throw new UsageError('--role cluster-admin applies to a whole cluster and cannot be combined with --namespace', {
      hint: 'drop --namespace, or use --role admin for full control of one namespace',
    });
  }
  const cluster = await ctx.cluster(opts.cluster);
  const api = await ctx.api();
  const req: GrantRequest = {
    user_email: opts.email,
    scope: opts.namespace ? 'namespace' : 'cluster',
    role: opts.role,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  };

  let grant = await api.createGrant(cluster.id, req, { cluster: cluster.name });
  if (grant) {
    ctx.out.success(`Granted ${describeGrant(grant, cluster.name)} to ${opts.email} (${grant.reconcile_status})`);
  } else {
    grant = await existingGrant(api, cluster, req);
    ctx.out.info(`${opts.email} already has ${describeGrant(grant, cluster.name)} (${grant.reconcile_status})`);
  }

  let outcome: AnkraError | undefined;
  if (opts.wait && grant.reconcile_status !== 'applied') ({ grant, outcome } = await waitForGrant(ctx, api, cluster, grant, opts.timeout));
  // The grant as last seen goes to stdout whatever the outcome, so a CI job always has it.
  await ctx.out.data(grant, GRANT_COLUMNS);
  if (outcome) throw outcome;
  nextStep(ctx, cluster, grant, opts.email);
  return 0;
}

/** The grant a 409 conflicted with: fine if it is the same role, an error otherwise. */
async function existingGrant(api: AnkraApi, cluster: ClusterRef, req: GrantRequest): Promise<Grant> {
  const existing = (await api.grants(cluster.id, { cluster: cluster.name })).find((g) => sameTarget(g, req));
  if (!existing) throw new ApiError(`the grant conflicts with an existing one on ${cluster.name}`, 409, { hint: `run \`ankra cluster access list --cluster ${cluster.name}\`` });
  if (existing.role !== req.role) {
    throw new ApiError(`${req.user_email} already has ${describeGrant(existing, cluster.name)}`, 409, {
      hint: `to change the role, revoke it first: \`ankra cluster access revoke ${existing.id} --cluster ${cluster.name}\``,
    });
  }
  return existing;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll until applied, failed (outcome: exit 1), cluster_offline or the timeout (outcome:
 * exit 5). Returns the grant as last seen; API errors are thrown.
 */
async function waitForGrant(ctx: Context, api: AnkraApi, cluster: ClusterRef, grant: Grant, timeoutMs: number): Promise<{ grant: Grant; outcome?: AnkraError }> {
  const deadline = Date.now() + timeoutMs;
  const progress = await ctx.out.progress(`Waiting for Ankra to apply the grant on ${cluster.name} (${grant.reconcile_status})`);
  let delay = 400;
  let current = grant;
  try {
    for (;;) {
      switch (current.reconcile_status) {
        case 'applied':
          progress.succeed(`Applied ${describeGrant(current, cluster.name)} for ${current.user_email ?? current.ankra_user_id}`);
          return { grant: current };
        case 'failed':
          progress.fail(`The grant failed to apply on ${cluster.name}`);
          return {
            grant: current,
            outcome: new AnkraError(`the grant failed to apply on ${cluster.name}: ${current.reconcile_error ?? 'no reason given'}`, Exit.FAILURE, {
              hint: `fix the cause, then revoke and grant again (\`ankra cluster access revoke ${current.id} --cluster ${cluster.name}\`)`,
            }),
          };
        case 'cluster_offline':
          progress.fail(`Cluster ${cluster.name} is offline`);
          return {
            grant: current,
            outcome: new WaitTimeoutError(`cluster ${cluster.name} is offline: the grant will be applied when it reconnects`, {
              hint: `check later with \`ankra cluster access list --cluster ${cluster.name}\``,
            }),
          };
        default:
          break;
      }
      if (Date.now() >= deadline) {
        progress.fail(`Still ${current.reconcile_status} after ${Math.round(timeoutMs / 1000)} s`);
        return {
          grant: current,
          outcome: new WaitTimeoutError(`timed out waiting for the grant on ${cluster.name} (still ${current.reconcile_status})`, {
            hint: `check later with \`ankra cluster access list --cluster ${cluster.name}\`, or wait longer with --timeout`,
          }),
        };
      }
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
      delay = Math.min(delay * 1.5, 5000);
      const fresh = (await api.grants(cluster.id, { cluster: cluster.name })).find((g) => g.id === current.id);
      if (!fresh) throw new AnkraError(`the grant ${current.id} disappeared from ${cluster.name} while waiting (revoked?)`, Exit.NOT_FOUND);
      current = fresh;
      if (current.reconcile_status === 'pending') progress.update(`Waiting for Ankra to apply the grant on ${cluster.name} (pending)`);
    }
  } finally {
    progress.stop();
  }
}

function nextStep(ctx: Context, cluster: ClusterRef, grant: Grant, email: string): void {
  const org = ctx.global.org ? ` --org ${ctx.global.org}` : '';
  const ns = grant.scope === 'namespace' && grant.namespace ? ` --namespace ${grant.namespace}` : '';
  ctx.out.info(`Next: ${email} can run \`ankra cluster kubeconfig add ${cluster.name}${ns}${org}\` and then use kubectl`);
}
