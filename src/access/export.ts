/**
 * `ankra cluster access export`: the grants on some clusters, or all, written as an access
 * file that `apply` reads back to no changes. Loads yaml (through `file.ts`): the command
 * imports it lazily.
 */
import { looksLikeId, type Cluster, type Grant, type OrganisationUser } from '../api/types';
import type { Deps } from '../deps';
import { UsageError } from '../errors';
import { accessCapable, fanOut, reportFailures } from '../commands/shared/fanout';
import { grantsOn } from '../commands/shared/grants';
import { clusterNotFound } from '../lookup/clusters';
import { orgLabel } from '../lookup/organisations';
import { memberState, notActive, usersByEmail } from './check';
import { organisationView } from './org';
import { renderAccessFile, sorted, type RenderSection } from './file';
import { personScope } from './plan';

export async function exportGrants(deps: Deps, which: { names?: string[]; all: boolean }): Promise<number> {
  const { org, clusters: all, users } = await organisationView(deps);
  const chosen = which.all ? accessCapable(all) : which.names?.length ? which.names.map((n) => pick(all, n)) : [await defaultCluster(deps)];
  const outcomes = await fanOut(deps, chosen, 'Listing grants', (c) => grantsOn(deps, { id: c.id, label: c.name }));
  const code = reportFailures(deps, outcomes, 'list its grants');

  const names = new Map<string, number>();
  for (const c of all) names.set(c.name, (names.get(c.name) ?? 0) + 1);
  const members = usersByEmail(users);
  const sections = outcomes.filter((o) => o.value).map((o) => section(o.cluster, o.value as Grant[], (names.get(o.cluster.name) ?? 0) > 1, members));
  const missed = outcomes.filter((o) => !o.value).map((o) => o.cluster.name);

  if (deps.out.format === 'table' || deps.out.format === 'wide' || deps.out.format === 'yaml') {
    const header = [
      `Access grants of ${orgLabel(org)}, written by \`ankra cluster access export\`.`,
      'Make the platform match this file: ankra cluster access apply -f FILE (add --prune to delete grants it does not list).',
      ...(missed.length ? [`Not included (their grants could not be listed): ${missed.join(', ')}`] : []),
    ];
    deps.out.printRaw(renderAccessFile(header, sections));
  } else {
    const value = { clusters: Object.fromEntries(sections.map((s) => [s.key, sorted(s.entries).map((e) => ({ email: e.email, role: e.role, ...(e.namespace ? { namespace: e.namespace } : {}) }))])) };
    await deps.out.data(value, undefined);
  }
  const n = sections.reduce((a, s) => a + s.entries.length, 0);
  const commented = sections.reduce((a, s) => a + s.commented.length, 0);
  deps.out.info(`Exported ${n} grant${n === 1 ? '' : 's'} on ${sections.length} cluster${sections.length === 1 ? '' : 's'}${commented ? `; ${commented} written as comments (see the file)` : ''}`);
  return code;
}

/** ANKRA_CLUSTER, or the one chosen with `ankra cluster select`. */
async function defaultCluster(deps: Deps): Promise<Cluster> {
  try {
    return await (await deps.clusters.resolve(undefined)).record();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError('no cluster given', { hint: 'name clusters (`ankra cluster access export staging,prod-eu`) or give --all-clusters' });
    throw err;
  }
}

/** A cluster by name or id among the organisation's. */
function pick(all: readonly Cluster[], given: string): Cluster {
  const found = looksLikeId(given) ? all.filter((c) => c.id.toLowerCase() === given.toLowerCase()) : all.filter((c) => c.name === given);
  if (found.length === 0) throw clusterNotFound(given);
  if (found.length > 1) throw new UsageError(`${found.length} clusters are named ${JSON.stringify(given)}`, { hint: `name it by id: ${found.map((c) => c.id).join(', ')}` });
  return found[0] as Cluster;
}

function section(cluster: Cluster, grants: readonly Grant[], ambiguous: boolean, members: Map<string, OrganisationUser>): RenderSection {
  const out: RenderSection = {
    // A name two clusters share would not say which: the id does (the name goes in a comment).
    key: ambiguous ? cluster.id : cluster.name,
    ...(ambiguous ? { note: `${cluster.name} (another cluster has the same name)` } : {}),
    entries: [],
    commented: [],
  };
  const seen = new Set<string>();
  for (const g of grants) {
    const entry = { email: g.user_email ?? `user ${g.ankra_user_id ?? '?'}`, role: g.role, namespace: g.scope === 'namespace' ? g.namespace : null };
    const member = g.user_email ? members.get(g.user_email.toLowerCase()) : undefined;
    const key = personScope(entry.email, entry.namespace);
    if (!g.user_email) out.commented.push({ ...entry, why: `grant ${g.id} has no email: it cannot be listed` });
    else if (!member || memberState(member) !== 'active') out.commented.push({ ...entry, why: notActive(member) });
    else if (seen.has(key)) out.commented.push({ ...entry, why: `grant ${g.id} repeats this person and scope` });
    else {
      seen.add(key);
      out.entries.push(entry);
    }
  }
  return out;
}
