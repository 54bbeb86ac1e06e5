/**
 * The access file against the organisation, before anything changes: every cluster key
 * must name one cluster that can hold grants, every email an active member (the
 * organisation's users, `GET /api/v1/org/organisation/{id}`). Pure: the caller fetches.
 */
import { looksLikeId, type Cluster, type OrganisationUser } from '../api/types';
import type { AccessFile, Problem, Section } from './file';

/** A section of the file and the cluster it names. */
export interface Target {
  section: Section;
  cluster: Cluster;
}

/** 'active', 'invited', or another status the platform reports (e.g. 'suspended'). */
export function memberState(u: OrganisationUser): string {
  if (u.status === 'invited' || (!u.id && u.invite_id)) return 'invited';
  return u.status ?? 'active';
}

/** Why a user (or nobody) is not an active member, for messages. */
export function notActive(member: OrganisationUser | undefined): string {
  if (!member) return 'not a member of the organisation any more';
  const state = memberState(member);
  return state === 'invited' ? 'invited, not an active member yet' : `${state}, not an active member`;
}

/** The organisation's users by lower-cased email. */
export function usersByEmail(users: readonly OrganisationUser[]): Map<string, OrganisationUser> {
  const out = new Map<string, OrganisationUser>();
  for (const u of users) {
    const email = u.email?.toLowerCase();
    // An active membership wins over an invitation for the same email.
    if (email && (!out.has(email) || memberState(u) === 'active')) out.set(email, u);
  }
  return out;
}

/** Why `email` cannot be granted anything, or undefined when it can. */
export function notGrantable(email: string, users: Map<string, OrganisationUser>): string | undefined {
  const u = users.get(email.toLowerCase());
  if (!u) return `${email} is not a member of this organisation (see \`ankra cluster access members\`)`;
  const state = memberState(u);
  if (state === 'invited') return `${email} is invited but has not accepted yet: only active members can be granted access`;
  if (state !== 'active') return `${email} is ${state}, not an active member of this organisation`;
  return undefined;
}

export function checkAgainstOrganisation(file: AccessFile, clusters: readonly Cluster[], users: readonly OrganisationUser[]): { targets: Target[]; problems: Problem[] } {
  const byId = new Map(clusters.map((c) => [c.id.toLowerCase(), c]));
  const byName = new Map<string, Cluster[]>();
  for (const c of clusters) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const members = usersByEmail(users);
  const problems: Problem[] = [];
  const targets: Target[] = [];
  const claimed = new Map<string, Section>();

  for (const section of file.sections) {
    const at = { line: section.line, col: section.col, field: section.field };
    let cluster: Cluster | undefined;
    if (looksLikeId(section.key)) {
      cluster = byId.get(section.key.toLowerCase());
      if (!cluster) problems.push({ ...at, message: `no cluster with this id in the organisation (see \`ankra cluster list\`, and check --org)` });
    } else {
      const named = byName.get(section.key) ?? [];
      if (named.length === 0) problems.push({ ...at, message: `no cluster named ${JSON.stringify(section.key)} in the organisation (see \`ankra cluster list\`, and check --org)` });
      else if (named.length > 1) problems.push({ ...at, message: `${named.length} clusters are named ${JSON.stringify(section.key)}: name it by id (${named.map((c) => c.id).join(', ')})` });
      else cluster = named[0];
    }
    if (!cluster) continue;
    if (cluster.kind === 'sandbox') {
      problems.push({ ...at, message: `${cluster.name} is a sandbox cluster: Cluster Access is not available there` });
      continue;
    }
    const other = claimed.get(cluster.id);
    if (other) {
      problems.push({ ...at, message: `names the same cluster as ${other.field} (line ${other.line})` });
      continue;
    }
    claimed.set(cluster.id, section);
    targets.push({ section, cluster });
    for (const e of section.entries) {
      const why = notGrantable(e.email, members);
      if (why) problems.push({ line: e.line, col: e.col, field: `${e.field}.email`, message: why });
    }
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return { targets, problems };
}
