/**
 * Which organisation a command acts in, and who the caller is in it. Everything here is
 * asked of the API at most once per command.
 *
 * --org / ANKRA_ORG / the saved default name an organisation by name, slug or id; without
 * one the server uses the token's current organisation (no header is sent).
 */
import type { Organisation, OrganisationDetail, OrganisationUser } from '../api/types';
import { looksLikeId } from '../api/types';
import type { Deps } from '../deps';
import { NotFoundError } from '../errors';

export class Organisations {
  private listValue: Promise<Organisation[]> | undefined;
  private chosenValue: Promise<string | undefined> | undefined;
  private readonly details = new Map<string, Promise<OrganisationDetail>>();

  constructor(private readonly deps: Deps) {}

  /** The caller's organisations (`GET /api/v1/org/organisation`). */
  list(): Promise<Organisation[]> {
    this.deps.requireCredentials();
    this.listValue ??= this.deps.baseApi().then((api) => api.organisations());
    return this.listValue;
  }

  /** The organisation named by --org / ANKRA_ORG / the saved default, as an id; undefined: the server's default. */
  chosenId(): Promise<string | undefined> {
    this.chosenValue ??= this.lookup(this.deps.target.org?.trim() || undefined);
    return this.chosenValue;
  }

  /** The organisation requests act in: the chosen one, else the caller's current one. */
  async effective(): Promise<Organisation | undefined> {
    const chosen = await this.chosenId();
    const orgs = await this.list();
    if (chosen) return orgs.find((o) => o.organisation_id === chosen) ?? { organisation_id: chosen, name: null, user_current: false };
    return orgs.find((o) => o.user_current) ?? orgs[0];
  }

  async effectiveId(): Promise<string | undefined> {
    return (await this.effective())?.organisation_id;
  }

  /** `GET /api/v1/org/organisation/{id}`: the members (and invitations). */
  detail(orgId: string): Promise<OrganisationDetail> {
    let d = this.details.get(orgId);
    if (!d) {
      d = this.deps.baseApi().then((api) => api.organisation(orgId));
      this.details.set(orgId, d);
    }
    return d;
  }

  /** The caller as a member of the effective organisation (their email), when the API says. */
  async me(): Promise<OrganisationUser | undefined> {
    const id = await this.effectiveId();
    if (!id) return undefined;
    return (await this.detail(id)).users.find((u) => u.user_current === true);
  }

  private async lookup(given: string | undefined): Promise<string | undefined> {
    if (!given || looksLikeId(given)) return given;
    const orgs = await this.list();
    const want = given.toLowerCase();
    const hit = orgs.find((o) => o.name?.toLowerCase() === want || o.slug?.toLowerCase() === want);
    if (!hit) {
      const names = orgs.map(orgLabel).join(', ');
      throw new NotFoundError(`organisation ${JSON.stringify(given)} not found${names ? ` (yours: ${names})` : ''}`, { hint: 'run `ankra org list`' });
    }
    return hit.organisation_id;
  }
}

/** How an organisation is named to people: its slug, else its name, else its id. */
export function orgLabel(o: Pick<Organisation, 'organisation_id' | 'name' | 'slug'>): string {
  return o.slug || o.name || o.organisation_id;
}
