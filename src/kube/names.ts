import { AnkraError, Exit } from '../errors';

/**
 * Names of Ankra entries, as Ankra's Go CLI picks them: `ankra-<slug>`, shared by the
 * cluster, user and context entry. When that name is taken, a cluster of another
 * organisation holding it makes ours `ankra-<org slug>-<slug>`; anything else (a foreign
 * entry, another cluster of the same organisation) adds 8 characters of the cluster id.
 */

/**
 * The Go CLI's slug (its `kubeconfig.Slugify`): lower-cased, every run of characters
 * outside [a-z0-9-] turned into one '-' (hyphens are kept, so `a--b` stays), trimmed of
 * '-'; `cluster` when nothing is left. Go lower-cases each character on its own (Unicode's
 * simple mapping) where JavaScript uses the full one; the only difference that survives the
 * slug is U+0130 'İ', which Go makes 'i' and JavaScript 'i' + a combining dot.
 */
export function clusterSlug(clusterName: string): string {
  const slug = clusterName
    .replace(/\u0130/g, 'i')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'cluster' : slug;
}

/** The Ankra cluster (and the organisation its entry pins with `--org`) an entry name belongs to. */
export interface NameHolder {
  clusterId: string;
  orgId?: string;
}

/**
 * Names in use → who holds the name: an Ankra cluster, or null when a foreign entry (or
 * entries of different clusters) hold it.
 */
export type TakenNames = ReadonlyMap<string, NameHolder | null>;

/** The organisation a new entry is written for: its id (as in `--org`) and slug. */
export interface OrgName {
  id?: string;
  slug?: string;
}

/**
 * `ankra-<slug>`, unless that name is held by anything but this cluster's own entries.
 * Then, when another organisation's Ankra context holds it and the organisation's slug is
 * known, `ankra-<org slug>-<slug>`; failing that `ankra-<slug>-<first 8 chars of the id>`,
 * and the whole id in the unlikely case that is taken as well.
 */
export function entryName(clusterName: string, clusterId: string, taken: TakenNames, org: OrgName = {}): string {
  const base = `ankra-${clusterSlug(clusterName)}`;
  const free = (name: string) => !taken.has(name) || taken.get(name)?.clusterId === clusterId;
  if (free(base)) return base;

  const candidates: string[] = [];
  const holder = taken.get(base);
  if (holder && org.slug && isOtherOrganisation(holder.orgId, org)) {
    candidates.push(`ankra-${clusterSlug(org.slug)}-${clusterSlug(clusterName)}`);
  }
  candidates.push(`${base}-${clusterId.slice(0, 8)}`, `${base}-${clusterId}`);
  const name = candidates.find(free);
  if (name === undefined) {
    throw new AnkraError(`the kubeconfig names ${[base, ...candidates].join(', ')} are all used by other entries`, Exit.FAILURE, {
      hint: 'rename or remove one of them with `kubectl config`, then run the command again',
    });
  }
  return name;
}

/** Whether an entry pinning `--org held` belongs to another organisation than `org`; unknown (no --org) counts as not. */
function isOtherOrganisation(held: string | undefined, org: OrgName): boolean {
  return held !== undefined && held !== org.id && held !== org.slug;
}
