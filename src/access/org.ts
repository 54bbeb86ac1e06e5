/**
 * What every access-as-code command reads first: the organisation in use, its clusters and
 * its users (`GET /api/v1/org/organisation/{id}`), the latter two in parallel.
 */
import type { Cluster, Organisation, OrganisationUser } from '../api/types';
import type { Deps } from '../deps';
import { AnkraError } from '../errors';

export async function organisationView(deps: Deps): Promise<{ org: Organisation; clusters: Cluster[]; users: OrganisationUser[] }> {
  const org = await deps.organisations.effective();
  if (!org) throw new AnkraError('you belong to no organisation: there are no clusters or grants here', undefined, { hint: 'run `ankra org list`' });
  const [clusters, detail] = await Promise.all([deps.clusters.all(), deps.organisations.detail(org.organisation_id)]);
  return { org, clusters, users: detail.users };
}
