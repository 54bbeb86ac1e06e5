import { AnkraError, Exit } from '../errors';

/**
 * Names of Ankra entries: `ankra-<slug>`, shared by the cluster, user and context entry
 * (as Ankra's Go CLI names them), with an id suffix when the name belongs to another cluster.
 */

/** The cluster name lowercased, runs of anything but [a-z0-9] turned into '-', trimmed of '-'. */
export function clusterSlug(clusterName: string): string {
  return clusterName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Names in use → the Ankra cluster id whose entry holds the name, or null when a foreign
 * entry (or entries of different clusters) hold it.
 */
export type TakenNames = ReadonlyMap<string, string | null>;

/**
 * `ankra-<slug>`, unless that name is held by anything but this cluster's own entries:
 * then `ankra-<slug>-<first 8 chars of the id>`, and the whole id in the unlikely case
 * that is taken as well.
 */
export function entryName(clusterName: string, clusterId: string, taken: TakenNames): string {
  const slug = clusterSlug(clusterName);
  const base = slug ? `ankra-${slug}` : 'ankra';
  // a name without a slug (e.g. a cluster named in another script) gets the id at once
  const candidates = [...(slug ? [base] : []), `${base}-${clusterId.slice(0, 8)}`, `${base}-${clusterId}`];
  const name = candidates.find((n) => !taken.has(n) || taken.get(n) === clusterId);
  if (name === undefined) {
    throw new AnkraError(`the kubeconfig names ${candidates.join(', ')} are all used by other entries`, Exit.FAILURE, {
      hint: 'rename or remove one of them with `kubectl config`, then run the command again',
    });
  }
  return name;
}
