/**
 * Which cluster a command is about, resolved once per command: `--cluster` (or the
 * command's positional), else ANKRA_CLUSTER, else the default chosen with
 * `ankra cluster select`. A name is looked up with the API's `cluster_name` filter; an id is
 * used as it is, and its record is fetched (with the `cluster_id` filter) only when a
 * command needs more than the id.
 */
import type { Cluster } from '../api/types';
import { looksLikeId } from '../api/types';
import type { Deps } from '../deps';
import { UsageError, shellWord } from '../errors';
import { clusterNotFound } from '../api/errors';

/** A resolved cluster: its id at once, the rest of its record on demand. */
export class ClusterRef {
  private recordValue: Promise<Cluster> | undefined;

  constructor(
    readonly id: string,
    private readonly fetch: () => Promise<Cluster>,
    private known?: Cluster,
  ) {
    if (known) this.recordValue = Promise.resolve(known);
  }

  /** The name when known, else the id: for messages that must not cost a request. */
  get label(): string {
    return this.known?.name ?? this.id;
  }

  /** The full record (one request when only the id was given). */
  record(): Promise<Cluster> {
    this.recordValue ??= this.fetch().then((c) => {
      this.known = c;
      return c;
    });
    return this.recordValue;
  }

  async name(): Promise<string> {
    return (await this.record()).name;
  }
}

export { clusterNotFound };

export class Clusters {
  private readonly refs = new Map<string, Promise<ClusterRef>>();
  private allValue: Promise<Cluster[]> | undefined;

  constructor(private readonly deps: Deps) {}

  /** The cluster a command acts on; `given` is what the user typed (flag or positional). */
  resolve(given: string | undefined): Promise<ClusterRef> {
    const wanted = given?.trim() || this.deps.env.ANKRA_CLUSTER?.trim() || undefined;
    const key = wanted ?? '\u0000saved';
    let ref = this.refs.get(key);
    if (!ref) {
      ref = wanted ? this.byNameOrId(wanted) : this.saved();
      this.refs.set(key, ref);
    }
    return ref;
  }

  /** Every cluster of the organisation, all pages. */
  all(): Promise<Cluster[]> {
    this.allValue ??= this.deps.api().then((api) => api.allClusters());
    return this.allValue;
  }

  /** A cluster by id, without asking anything yet. */
  byId(id: string, known?: Cluster): ClusterRef {
    return new ClusterRef(id, () => this.fetchById(id), known);
  }

  private async byNameOrId(wanted: string): Promise<ClusterRef> {
    if (looksLikeId(wanted)) return this.byId(wanted);
    const api = await this.deps.api();
    const found = await api.clusterByName(wanted);
    if (!found) throw clusterNotFound(wanted);
    return this.byId(found.id, found);
  }

  private async fetchById(id: string): Promise<Cluster> {
    const api = await this.deps.api();
    const found = await api.clusterById(id);
    if (!found) throw clusterNotFound(id);
    return found;
  }

  private async saved(): Promise<ClusterRef> {
    const byOrg = this.deps.resolved.config.servers[this.deps.target.baseUrl]?.clusters ?? {};
    if (Object.keys(byOrg).length > 0) {
      const saved = byOrg[(await this.deps.organisations.effectiveId()) ?? ''];
      if (saved) return this.byId(saved.id);
    }
    throw new UsageError('no cluster given', { hint: 'name one (e.g. `--cluster staging`), or run `ankra cluster select NAME` once' });
  }
}

/** A cluster name in a copy-paste hint. */
export const clusterWord = (name: string): string => shellWord(name);
