/**
 * "Not here, but in your other organisation": when a command finds no access in the
 * organisation in use, the caller's other organisations are checked (a token is minted
 * there, which is the only proof of access the API has) and named with the `--org` to use.
 * Only on that failure path; a few requests at most.
 */
import type { Deps } from '../../deps';
import { orgLabel } from '../../lookup/organisations';

const MAX_MINTS = 20;

/** Labels of the caller's other organisations where they can reach `clusterName` (or any cluster). */
export async function otherOrgsWithAccess(deps: Deps, clusterName?: string): Promise<string[]> {
  try {
    const current = await deps.organisations.effectiveId();
    const others = (await deps.organisations.list()).filter((o) => o.organisation_id !== current && (o.status ?? 'active') === 'active');
    if (others.length === 0) return [];
    const base = await deps.baseApi();
    const hits: string[] = [];
    let mints = 0;
    for (const org of others) {
      const api = base.withOrg(org.organisation_id);
      const clusters = clusterName ? await api.allClusters({ name: clusterName }).then((cs) => cs.filter((c) => c.name === clusterName)) : await api.allClusters();
      for (const c of clusters.filter((x) => x.kind !== 'sandbox')) {
        if (++mints > MAX_MINTS) return hits;
        const ok = await api.mintToken({ id: c.id, label: c.name }).then(
          () => true,
          () => false,
        );
        if (ok) {
          hits.push(orgLabel(org));
          break;
        }
      }
    }
    return hits;
  } catch (err) {
    deps.debug(`could not check your other organisations: ${String(err)}`);
    return [];
  }
}
