/**
 * `ankra cluster access grant EMAIL`: give a member a role on a cluster or one namespace;
 * `--replace` changes the role or scope of what they have there; `--wait` waits until Ankra
 * has applied it to the cluster's RBAC.
 */
import { arg, defineCommand, flag } from '../../../cli/spec';
import { ROLES, type Grant, type GrantRequest, type Role } from '../../../api/types';
import type { Deps } from '../../../deps';
import { AnkraError, CancelledError, ConflictError, Exit, NotFoundError, UsageError, ValidationError, exitCodeOf, shellWord } from '../../../errors';
import { orgLabel } from '../../../lookup/organisations';
import { clusterFlag } from '../../shared/flags';
import { describeGrant, grantView, grantee, grantsOn, retryRateLimited, swapGrant } from '../../shared/grants';
import { parseDuration, parseEmail, parseNamespace } from '../../shared/values';
import { waitForGrants } from '../../shared/wait';

const DEFAULT_TIMEOUT_MS = 300_000;

const sameScope = (g: Pick<Grant, 'scope' | 'namespace'>, req: GrantRequest) => g.scope === req.scope && (g.namespace ?? undefined) === req.namespace;
const sameGrant = (g: Grant, req: GrantRequest) => sameScope(g, req) && g.role === req.role;
const isFor = (g: Grant, email: string) => (g.user_email ?? '').toLowerCase() === email.toLowerCase();

export default defineCommand({
  path: ['cluster', 'access', 'grant'],
  summary: 'grant a member a role on a cluster, or on one namespace with --namespace',
  args: { email: arg.required('email', "the member's email", { parse: parseEmail, completes: 'member' }) },
  flags: {
    cluster: clusterFlag,
    role: flag.string('role', 'what they may do', { choices: ROLES, fallback: 'view' }),
    namespace: flag.parsed('namespace', 'limit the grant to this namespace', parseNamespace),
    replace: flag.bool('replace what the member has on this cluster: a role change swaps the grant at once (one grant per scope); a scope change keeps the old grant until the new one is applied'),
    wait: flag.bool('wait until Ankra has applied the grant to the cluster'),
    timeout: flag.parsed('duration', 'how long --wait waits (e.g. 90s, 5m; default 5m)', parseDuration),
  },
  examples: [
    'ankra cluster access grant alice@example.com --cluster staging --role edit --namespace team-a --wait',
    'ankra cluster access grant alice@example.com --cluster staging --role view --replace --wait',
  ],
  check(o) {
    if (o.role === 'cluster-admin' && o.namespace) {
      throw new UsageError('--role cluster-admin applies to a whole cluster and cannot be combined with --namespace', {
        hint: 'drop --namespace, or use --role admin for full control of one namespace',
      });
    }
    if (o.timeout !== undefined && !o.wait) throw new UsageError('--timeout only applies with --wait', { hint: 'add --wait, or drop --timeout' });
  },
  async run(opts, deps) {
    const cluster = await deps.clusters.resolve(opts.cluster);
    const name = await cluster.name();
    const req: GrantRequest = {
      user_email: opts.email,
      scope: opts.namespace ? 'namespace' : 'cluster',
      role: opts.role as Role,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
    };
    const target = { id: cluster.id, label: name };
    const replaced = opts.replace ? await replace(deps, target, req) : { grant: await create(deps, target, req), superseded: [] };
    let { grant } = replaced;
    let outcome;
    // A scope change keeps the old grant until the new one is applied, --wait or not: the
    // person keeps access throughout (the shortest gap the API allows is none).
    if ((opts.wait || replaced.superseded.length > 0) && grant.reconcile_status !== 'applied') {
      const r = await waitForGrants(deps, target, [grant], opts.timeout ?? DEFAULT_TIMEOUT_MS);
      grant = r.grants[0] ?? grant;
      outcome = r.outcome;
    }
    // Grants of another scope go once the new one is in place (with --wait: applied).
    const left = await revokeSuperseded(deps, target, outcome ? [] : replaced.superseded);
    if (outcome && replaced.superseded.length) deps.out.warn(`kept ${replaced.superseded.map((g) => describeGrant(g, name)).join(', ')}: the new grant is not applied`);
    // The grant as last seen goes to stdout whatever the outcome, so a CI job always has it.
    await deps.out.data(grant, grantView());
    if (outcome) throw outcome;
    if (left) {
      const commands = left.grants.map((g) => `\`ankra cluster access revoke ${g.id} --cluster ${shellWord(name)}\``).join(' and ');
      throw new AnkraError(
        `${left.error instanceof Error ? left.error.message : String(left.error)}; ${grantee(grant)} now has both ${describeGrant(grant, name)} and ${left.grants.map((g) => describeGrant(g, name)).join(', ')}`,
        exitCodeOf(left.error) || Exit.FAILURE,
        { hint: `finish the change with ${commands}`, cause: left.error },
      );
    }
    if (grant.reconcile_status === 'applied') {
      const org = deps.flags.org ? ` --org ${shellWord(deps.flags.org)}` : '';
      const ns = grant.scope === 'namespace' && grant.namespace ? ` --namespace ${grant.namespace}` : '';
      deps.out.info(`Next: ${grantee(grant)} can run \`ankra cluster kubeconfig add ${shellWord(name)}${ns}${org}\` and use kubectl`);
    } else if (!opts.wait) {
      deps.out.info(`Ankra applies it to the cluster shortly; follow it with \`ankra cluster access wait ${grant.id} --cluster ${shellWord(name)}\``);
    }
    return 0;
  },
});

/** Creates the grant; the same one existing already is fine, another role there is a conflict. */
async function create(deps: Deps, cluster: { id: string; label: string }, req: GrantRequest): Promise<Grant> {
  const api = await deps.api();
  const created = await retryRateLimited(deps, () => api.createGrant(cluster, req)).catch((err: unknown) => explainRefusal(deps, err, req.user_email));
  if (created) {
    deps.out.success(`Granted ${describeGrant(created, cluster.label)} to ${grantee(created)} (${created.reconcile_status})`);
    return created;
  }
  const existing = (await grantsOn(deps, cluster)).find((g) => isFor(g, req.user_email) && sameScope(g, req));
  if (!existing) throw new ConflictError(`the grant conflicts with an existing one on ${cluster.label}`, 409, { hint: `run \`ankra cluster access list ${shellWord(cluster.label)}\`` });
  if (existing.role !== req.role) {
    throw new ConflictError(`${grantee(existing)} already has ${describeGrant(existing, cluster.label)}`, 409, {
      hint: `to change it, add --replace: \`ankra cluster access grant ${shellWord(grantee(existing))} --cluster ${shellWord(cluster.label)} --role ${req.role}${req.namespace ? ` --namespace ${req.namespace}` : ''} --replace\``,
    });
  }
  deps.out.info(`${grantee(existing)} already has ${describeGrant(existing, cluster.label)} (${existing.reconcile_status})`);
  return existing;
}

/**
 * A grant the API refused (422) because of who it is for: name the person as the
 * organisation knows them (an invitation not accepted yet, or no member at all).
 */
async function explainRefusal(deps: Deps, err: unknown, email: string): Promise<never> {
  if (!(err instanceof ValidationError) || !err.fields.includes('user_email')) throw err;
  const org = await deps.organisations.effective().catch(() => undefined);
  const users = org ? await deps.organisations.detail(org.organisation_id).then((d) => d.users, () => undefined) : undefined;
  const user = users?.find((u) => u.email?.toLowerCase() === email.toLowerCase());
  const where = org ? orgLabel(org) : 'the organisation';
  if (user && (user.status === 'invited' || (!user.id && user.invite_id))) {
    throw new UsageError(`${user.email ?? email} has not accepted the invitation to ${where} yet: access can be granted once they have`, { hint: 'ask them to accept it, then run this again' });
  }
  if (users && !user) throw new UsageError(`${email} is not a member of ${where}`, { hint: 'invite them to the organisation first (see `ankra cluster access members`)' });
  throw err;
}

/**
 * Makes `req` the member's only grant on the cluster. The same scope with another role
 * cannot exist twice, so that old grant goes first and the new one follows at once; grants
 * of other scopes are returned as `superseded`, to revoke once the new one is in place (no gap).
 */
export async function replace(deps: Deps, cluster: { id: string; label: string }, req: GrantRequest): Promise<{ grant: Grant; superseded: Grant[] }> {
  const api = await deps.api();
  const mine = (await grantsOn(deps, cluster)).filter((g) => isFor(g, req.user_email));
  const same = mine.find((g) => sameGrant(g, req));
  const clash = mine.find((g) => sameScope(g, req) && g.role !== req.role);
  const others = mine.filter((g) => g !== same && g !== clash);
  let grant = same;
  if (!grant && clash) {
    grant = await swapGrant(deps, cluster, clash, req).catch((err: unknown) => explainRefusal(deps, err, req.user_email));
    deps.out.success(`Replaced ${describeGrant(clash, cluster.label)} with ${grant.role} for ${grantee(grant)} (${grant.reconcile_status}; the API allows one grant per scope, so the old one went first)`);
  } else if (!grant) {
    grant = await retryRateLimited(deps, () => api.createGrant(cluster, req)).catch((err: unknown) => explainRefusal(deps, err, req.user_email));
    if (!grant) throw new ConflictError(`the grant conflicts with an existing one on ${cluster.label}`, 409);
    deps.out.success(`Granted ${describeGrant(grant, cluster.label)} to ${grantee(grant)} (${grant.reconcile_status})`);
  } else if (others.length === 0) {
    deps.out.info(`${grantee(grant)} already has ${describeGrant(grant, cluster.label)} (${grant.reconcile_status}); nothing to replace`);
  }
  return { grant, superseded: others };
}

/**
 * Revokes the grants a new one replaced, each one tried (one already gone is fine); those it
 * could not revoke and the first reason, or undefined when all went.
 */
async function revokeSuperseded(deps: Deps, cluster: { id: string; label: string }, grants: Grant[]): Promise<{ grants: Grant[]; error: unknown } | undefined> {
  const api = await deps.api();
  const left: Grant[] = [];
  let first: unknown;
  for (const old of grants) {
    try {
      await retryRateLimited(deps, () => api.deleteGrant(cluster, old.id));
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      if (!(error instanceof NotFoundError)) {
        left.push(old);
        first ??= error;
        continue;
      }
    }
    deps.out.success(`Revoked ${describeGrant(old, cluster.label)} from ${grantee(old)} (replaced)`);
  }
  return left.length ? { grants: left, error: first } : undefined;
}

