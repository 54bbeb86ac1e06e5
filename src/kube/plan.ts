/**
 * Pure planning over already-read files: the merged view kubectl sees, the Ankra entries
 * in it, and which edits an add or a remove makes in which file, by kubectl's rules
 * (client-go's ModifyConfig): an entry is changed in the file that defines it, a new one
 * goes to the first file that exists (else the last is created).
 */
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../errors';
import { isRecord } from '../core/fsutil';
import { buildExecEntry, parseAnkraExec } from './exec-entry';
import type { ExecSpec } from './exec-entry';
import type { Edit } from './edit';
import { defaultTarget } from './locate';
import { clusterSlug, entryName } from './names';
import type { NameHolder } from './names';
import { KINDS } from './parse';
import type { Entry, Kind, KubeconfigData } from './parse';

export interface FileState {
  path: string;
  exists: boolean;
  data: KubeconfigData;
}

interface Located {
  file: string;
  entry: Entry;
}

export type MergedView = Record<Kind, Map<string, Located>> & { currentContext: string };

/** client-go's merge: for each name the first file that defines it wins; likewise current-context. */
export function mergeFiles(files: readonly FileState[]): MergedView {
  const view: MergedView = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: '' };
  for (const { path, data } of files) {
    for (const kind of KINDS) {
      for (const entry of data[kind]) if (!view[kind].has(entry.name)) view[kind].set(entry.name, { file: path, entry });
    }
    view.currentContext ||= data.currentContext;
  }
  return view;
}

/** A context whose user runs `ankra cluster kube-token` (ours or Ankra's Go CLI's). */
export interface AnkraContext {
  context: string;
  cluster: string;
  user: string;
  /** Undefined when the context names a cluster entry that does not exist. */
  server?: string;
  clusterId: string;
  orgId?: string;
  baseUrl?: string;
  caFile?: string;
  namespace?: string;
  current: boolean;
  /** The file that defines the context. */
  file: string;
  command: string;
}

export function ankraContexts(view: MergedView): AnkraContext[] {
  return [...view.contexts.values()].flatMap(({ file, entry }) => {
    const ref = contextRef(entry);
    const exec = ankraExecOf(view.users.get(ref.user)?.entry);
    if (!exec) return [];
    const { command, clusterId, orgId, baseUrl, caFile } = exec;
    const server = text(record(view.clusters.get(ref.cluster)?.entry.cluster).server);
    return [{
      context: entry.name, cluster: ref.cluster, user: ref.user, server, clusterId, orgId, baseUrl, caFile,
      namespace: ref.namespace, current: entry.name === view.currentContext, file, command,
    }];
  });
}

/**
 * Every name used by a cluster, user or context in any file, with the Ankra cluster (and
 * the organisation its entry pins) that holds it: null for foreign entries, or when
 * entries of two clusters share the name.
 */
export function takenNames(files: readonly FileState[], view: MergedView, contexts: readonly AnkraContext[] = ankraContexts(view)): Map<string, NameHolder | null> {
  const clusterOwners = new Map(contexts.map((c) => [c.cluster, holderOf(c)]));
  const owners = new Map<string, NameHolder | null>();
  const claim = (name: string, owner: NameHolder | null | undefined) => {
    const mine = owner ?? null;
    owners.set(name, !owners.has(name) || sameHolder(owners.get(name) ?? null, mine) ? mine : null);
  };
  for (const { data } of files) {
    for (const entry of data.clusters) claim(entry.name, clusterOwners.get(entry.name));
    for (const entry of data.users) claim(entry.name, holderOf(ankraExecOf(entry)));
    for (const entry of data.contexts) claim(entry.name, holderOf(ankraExecOf(view.users.get(contextRef(entry).user)?.entry)));
  }
  return owners;
}

/** holderOf's results are equal (it leaves out an undefined orgId, so this is isDeepStrictEqual on them). */
function sameHolder(a: NameHolder | null, b: NameHolder | null): boolean {
  return a === b || (a !== null && b !== null && a.clusterId === b.clusterId && a.orgId === b.orgId);
}

function holderOf(exec: { clusterId: string; orgId?: string } | undefined): NameHolder | null {
  if (!exec) return null;
  return exec.orgId === undefined ? { clusterId: exec.clusterId } : { clusterId: exec.clusterId, orgId: exec.orgId };
}

/** One cluster to write into kubeconfig. */
export interface EntrySpec {
  clusterId: string;
  /** The cluster's display name; the entries are named `ankra-<slug>` (see entryName). */
  clusterName: string;
  /**
   * The cluster's organisation: its id (default: `exec.orgId`) and slug. When `ankra-<slug>`
   * is held by another organisation's Ankra context, a new entry is named
   * `ankra-<org slug>-<slug>` (without a slug, the id suffix is used instead).
   */
  organisation?: { id?: string; slug?: string | null };
  /** The Kubernetes API proxy URL. */
  server: string;
  /** certificate-authority-data: the base64 of a PEM bundle. */
  caData?: string;
  /** Kept from an existing entry when not given. */
  namespace?: string;
  exec: Omit<ExecSpec, 'clusterId'>;
}

export interface Plan<R> {
  /** Edits per file path; files without edits are absent. */
  edits: Map<string, Edit[]>;
  result: R;
}

export interface UpsertedEntry {
  clusterId: string;
  /** The context name (the cluster and user entries carry it too, unless an existing entry chose others). */
  name: string;
  action: 'added' | 'replaced' | 'unchanged';
  /** The file that holds the context. */
  file: string;
}

export interface UpsertResult {
  entries: UpsertedEntry[];
  /** Set when `use` was given: the context now current. */
  currentContext?: string;
}

/**
 * An existing Ankra context for the same cluster id (ours or the Go CLI's, under any name)
 * is replaced where it stands and keeps its names; otherwise new entries get `entryName`.
 * `use` is the cluster id whose context becomes current-context.
 */
export function planUpsert(files: readonly FileState[], specs: readonly EntrySpec[], use?: string): Plan<UpsertResult> {
  const ids = specs.map((s) => s.clusterId);
  if (new Set(ids).size !== ids.length) throw new UsageError('the same cluster was given twice');
  const view = mergeFiles(files);
  const target = defaultTarget(files);
  const existing = ankraContexts(view);
  const taken = takenNames(files, view, existing);
  const edits = new Map<string, Edit[]>();
  const add = (file: string, edit: Edit) => edits.set(file, [...(edits.get(file) ?? []), edit]);

  const entries = specs.map((spec): UpsertedEntry => {
    const orgId = spec.organisation?.id ?? spec.exec.orgId;
    // existing entries keep their names: they are found by cluster id (and organisation), never by name
    const mine = existing.filter((c) => c.clusterId === spec.clusterId);
    const old = mine.find((c) => c.orgId === orgId) ?? mine[0];
    const name = old?.context ?? entryName(spec.clusterName, spec.clusterId, taken, { id: orgId, slug: spec.organisation?.slug ?? undefined });
    taken.set(name, holderOf({ clusterId: spec.clusterId, orgId }));
    const wanted = entriesFor(spec, { context: name, cluster: old?.cluster || name, user: old?.user || name }, spec.namespace ?? old?.namespace);
    let changed = false;
    for (const kind of KINDS) {
      const at = view[kind].get(wanted[kind].name);
      if (at && isDeepStrictEqual(at.entry, wanted[kind])) continue;
      add(at?.file ?? target, { op: 'put', kind, entry: wanted[kind] });
      changed = true;
    }
    const action = !changed ? 'unchanged' : old ? 'replaced' : 'added';
    return { clusterId: spec.clusterId, name, action, file: view.contexts.get(name)?.file ?? target };
  });

  if (use === undefined) return { edits, result: { entries } };
  const current = entries.find((e) => e.clusterId === use);
  if (!current) throw new UsageError('only a cluster being added can become the current context');
  if (view.currentContext !== current.name) {
    // change it where kubectl reads it from now; if no file sets one, where new entries go
    const file = files.find((f) => f.data.currentContext !== '')?.path ?? target;
    add(file, { op: 'current', value: current.name });
  }
  return { edits, result: { entries, currentContext: current.name } };
}

/** The cluster, user and context entry for one cluster. */
function entriesFor(spec: EntrySpec, names: Record<'context' | 'cluster' | 'user', string>, namespace: string | undefined): Record<Kind, Entry> {
  const cluster: Record<string, string> = { server: spec.server };
  if (spec.caData) cluster['certificate-authority-data'] = spec.caData;
  const context: Record<string, string> = { cluster: names.cluster, user: names.user };
  if (namespace) context.namespace = namespace;
  return {
    clusters: { name: names.cluster, cluster },
    users: { name: names.user, user: { exec: buildExecEntry({ ...spec.exec, clusterId: spec.clusterId }) } },
    contexts: { name: names.context, context },
  };
}

/**
 * Which Ankra contexts to remove: those matching any of `clusterIds`, `names`,
 * `clusterNames` or `all`, and, when `org` is given, only those of that organisation.
 */
export interface RemoveMatch {
  clusterIds?: readonly string[];
  /** Context names. */
  names?: readonly string[];
  /**
   * Cluster names as a user types them (offline: no lookup). A context matches when it is
   * named as entryName names that cluster: `ankra-<slug>`, `ankra-<org slug>-<slug>` (with
   * `org.slug`), or `ankra-<slug>-<id>` / `ankra-<slug>-<8 chars of id>` for its own cluster id.
   */
  clusterNames?: readonly string[];
  all?: boolean;
  /**
   * Only this organisation's contexts: those whose exec args carry `--org <id>` (or
   * `--org <slug>`). A context without `--org` matches only when no `org` is given.
   */
  org?: { id: string; slug?: string | null };
}

export interface RemoveResult {
  removed: Array<{ context: string; clusterId: string }>;
  /** current-context pointed at a removed context and was cleared. */
  clearedCurrentContext: boolean;
}

/**
 * Removes the matching Ankra contexts from every file that defines them, and their user
 * and cluster entries unless a remaining context still uses them. A current-context that
 * named a removed context is cleared, in every file that set it.
 */
export function planRemove(files: readonly FileState[], match: RemoveMatch): Plan<RemoveResult> {
  const view = mergeFiles(files);
  const { org } = match;
  const orgSlug = org?.slug ? clusterSlug(org.slug) : undefined;
  const byName = (c: AnkraContext) =>
    (match.clusterNames ?? []).some((given) => {
      const base = `ankra-${clusterSlug(given)}`;
      const forms = [base, `${base}-${c.clusterId}`, `${base}-${c.clusterId.slice(0, 8)}`];
      if (orgSlug) forms.push(`ankra-${orgSlug}-${clusterSlug(given)}`);
      return forms.includes(c.context);
    });
  const inOrg = (orgId: string | undefined) => !org || (orgId !== undefined && (orgId === org.id || orgId === org.slug));
  const doomed = ankraContexts(view).filter(
    (c) => inOrg(c.orgId) && (match.all || match.clusterIds?.includes(c.clusterId) || match.names?.includes(c.context) || byName(c)),
  );
  const doomedNames = new Set(doomed.map((c) => c.context));
  // a same-named context elsewhere that is not Ankra's is somebody else's: it stays
  const removesContext = (entry: Entry) => {
    if (!doomedNames.has(entry.name)) return false;
    const exec = ankraExecOf(view.users.get(contextRef(entry).user)?.entry);
    return exec !== undefined && inOrg(exec.orgId);
  };

  const kept = files.flatMap((f) => f.data.contexts.filter((e) => !removesContext(e)));
  const keptNames = new Set(kept.map((e) => e.name));
  const usedClusters = new Set(kept.map((e) => contextRef(e).cluster));
  const usedUsers = new Set(kept.map((e) => contextRef(e).user));
  const clusters = new Set(doomed.map((c) => c.cluster).filter((n) => !usedClusters.has(n)));
  const users = new Set(doomed.map((c) => c.user).filter((n) => !usedUsers.has(n)));

  const edits = new Map<string, Edit[]>();
  for (const { path, data } of files) {
    const removals: Array<[Kind, Entry[]]> = [
      ['contexts', data.contexts.filter(removesContext)],
      ['clusters', data.clusters.filter((e) => clusters.has(e.name))],
      ['users', data.users.filter((e) => users.has(e.name) && ankraExecOf(e))],
    ];
    const fileEdits: Edit[] = removals.flatMap(([kind, found]) => found.map((e): Edit => ({ op: 'remove', kind, name: e.name })));
    if (doomedNames.has(data.currentContext) && !keptNames.has(data.currentContext)) {
      fileEdits.push({ op: 'current', value: '' });
    }
    if (fileEdits.length > 0) edits.set(path, fileEdits);
  }
  return {
    edits,
    result: {
      removed: doomed.map((c) => ({ context: c.context, clusterId: c.clusterId })),
      clearedCurrentContext: doomedNames.has(view.currentContext) && !keptNames.has(view.currentContext),
    },
  };
}

/** Each user entry's exec spec, read once per entry (a plan asks for it several times). */
const execOf = new WeakMap<Entry, ExecSpec | null>();

function ankraExecOf(user: Entry | undefined): ExecSpec | undefined {
  if (!user) return undefined;
  let spec = execOf.get(user);
  if (spec === undefined) {
    spec = parseAnkraExec(record(user.user).exec) ?? null;
    execOf.set(user, spec);
  }
  return spec ?? undefined;
}

function contextRef(entry: Entry): { cluster: string; user: string; namespace?: string } {
  const body = record(entry.context);
  return { cluster: text(body.cluster) ?? '', user: text(body.user) ?? '', namespace: text(body.namespace) || undefined };
}

function record(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
