/**
 * The access file: who may reach which cluster, as code. Human-written YAML, comments
 * welcome:
 *
 *   clusters:
 *     staging:                # a cluster name or id
 *       - {email: alice@example.com, role: edit, namespace: team-a}
 *       - {email: bob@example.com, role: view}          # no namespace: the whole cluster
 *     prod-eu: []             # nobody (with --prune: every grant there goes)
 *
 * `parseAccessFile` reads it with the yaml package's Document API and a LineCounter, so
 * every problem names its line, column and field; it checks the shape only (the checks
 * against the organisation are in `check.ts`). `renderAccessFile` writes the same format
 * (`ankra cluster access export`). This module loads yaml: commands import it lazily.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify } from '../formats/yaml';
import { ROLES, type Role } from '../api/types';
import { oneLine } from '../errors';
import { namespaceProblem, parseEmail } from '../commands/shared/values';
import { personScope } from './plan';

/** One line of a cluster's list. */
export interface Entry {
  email: string;
  role: Role;
  /** Absent: the whole cluster. */
  namespace?: string;
  /** 1-based, where the entry starts. */
  line: number;
  col: number;
  /** `clusters.staging[0]`. */
  field: string;
}

/** One cluster of the file and its list. */
export interface Section {
  /** As written: a name or an id. */
  key: string;
  line: number;
  col: number;
  field: string;
  entries: Entry[];
}

export interface AccessFile {
  /** How messages name the file (`access.yaml`, `-` for stdin). */
  name: string;
  sections: Section[];
}

/** Something wrong in the file, at a line, column and field. */
export interface Problem {
  line: number;
  col: number;
  /** `clusters.staging[0].role`; empty for the whole file. */
  field: string;
  message: string;
}

export const ENTRY_FIELDS = ['email', 'role', 'namespace'] as const;

function isEmail(v: string): boolean {
  try {
    parseEmail(v);
    return true;
  } catch {
    return false;
  }
}

/** `access.yaml:4:7: clusters.staging[0].role: "owner" is not a role …`. */
export function formatProblem(fileName: string, p: Problem): string {
  return `${fileName}:${p.line}:${p.col}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** "on namespace team-a", "on the whole cluster". */
export function scopeWords(namespace: string | null | undefined): string {
  return namespace ? `on namespace ${namespace}` : 'on the whole cluster';
}

/** A map key in a field path: plain when it can be, else quoted. */
function keyPath(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

type Node = ReturnType<typeof parseDocument>['contents'];

export function parseAccessFile(text: string, name: string): { file: AccessFile; problems: Problem[] } {
  const lines = new LineCounter();
  // Duplicate keys are found below, where the message can say which cluster or field.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const problems: Problem[] = [];
  const at = (node: { range?: [number, number, number] | null } | null | undefined): { line: number; col: number } => lines.linePos(node?.range?.[0] ?? 0);
  const problem = (node: Parameters<typeof at>[0], field: string, message: string) => problems.push({ ...at(node), field, message });
  const file: AccessFile = { name, sections: [] };

  for (const e of doc.errors) {
    const message =
      e.code === 'MULTIPLE_DOCS' ? 'only one YAML document is allowed (remove the `---` line)' : `not valid YAML: ${e.message.replace(/\s+at line \d+, column \d+.*$/s, '')}`;
    problems.push({ ...lines.linePos(e.pos[0]), field: '', message });
  }
  if (problems.length) return { file, problems };

  const top = doc.contents as Node;
  if (top === null || (isScalar(top) && (top.value === null || top.value === ''))) {
    problem(null, '', 'the file is empty: it needs a `clusters:` map (see `ankra cluster access apply --help`)');
    return { file, problems };
  }
  if (!isMap(top)) {
    problem(top, '', 'expected a map with `clusters:` at the top');
    return { file, problems };
  }
  let clusters: Node | undefined;
  for (const pair of top.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'clusters' && clusters === undefined) clusters = pair.value as Node;
    else if (key === 'clusters') problem(pair.key as Node, 'clusters', 'given twice');
    else problem(pair.key as Node, key, 'unknown field at the top (only `clusters:`)');
  }
  if (clusters === undefined) {
    problem(top, 'clusters', 'is missing: list the clusters under `clusters:`');
    return { file, problems };
  }
  if (!isMap(clusters)) {
    problem(clusters ?? top, 'clusters', 'expected a map of cluster names (or ids) to lists of {email, role, namespace?}');
    return { file, problems };
  }

  const sectionAt = new Map<string, number>();
  for (const pair of clusters.items) {
    const keyNode = pair.key as Node;
    if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object' || String(keyNode.value).trim() === '') {
      problem(keyNode, 'clusters', 'a cluster must be named by its name or id');
      continue;
    }
    const key = String(keyNode.value);
    const field = `clusters${keyPath(key)}`;
    const pos = at(keyNode);
    const seen = sectionAt.get(key);
    if (seen !== undefined) {
      problem(keyNode, field, `the cluster is listed twice (also on line ${seen})`);
      continue;
    }
    sectionAt.set(key, pos.line);
    const section: Section = { key, ...pos, field, entries: [] };
    file.sections.push(section);
    const list = pair.value as Node;
    if (list === null || (isScalar(list) && list.value === null)) {
      problem(list ?? keyNode, field, 'has no list: write `[]` for no grants, or list {email, role, namespace?} entries');
      continue;
    }
    if (!isSeq(list)) {
      problem(list, field, aliasOr(list, 'expected a list of {email, role, namespace?}'));
      continue;
    }
    const byScope = new Map<string, number>();
    list.items.forEach((item, i) => {
      const entry = readEntry(item as Node, `${field}[${i}]`, problem, at);
      if (!entry) return;
      const dup = personScope(entry.email, entry.namespace);
      const first = byScope.get(dup);
      if (first !== undefined) {
        problem(item as Node, `${entry.field}.email`, `${entry.email} ${scopeWords(entry.namespace)} is already listed on line ${first} (one role per person and scope)`);
        return;
      }
      byScope.set(dup, entry.line);
      section.entries.push(entry);
    });
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return { file, problems };
}

function aliasOr(node: Node, message: string): string {
  // The yaml package's Alias nodes are neither maps, lists nor scalars.
  return node !== null && !isMap(node) && !isSeq(node) && !isScalar(node) ? 'aliases (*name) are not supported: write the list out' : message;
}

function readEntry(
  item: Node,
  field: string,
  problem: (node: Node | null | undefined, field: string, message: string) => void,
  at: (node: Node | null | undefined) => { line: number; col: number },
): Entry | undefined {
  if (!isMap(item)) {
    problem(item, field, aliasOr(item, 'expected {email, role, namespace?}'));
    return undefined;
  }
  const values = new Map<string, Node>();
  let ok = true;
  for (const pair of item.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(ENTRY_FIELDS as readonly string[]).includes(key)) {
      problem(pair.key as Node, `${field}${keyPath(key || '?')}`, `unknown field (use ${ENTRY_FIELDS.join(', ')})`);
      ok = false;
    } else if (values.has(key)) {
      problem(pair.key as Node, `${field}.${key}`, 'given twice');
      ok = false;
    } else {
      values.set(key, (pair.value ?? null) as Node);
    }
  }
  const text = (key: string, what: string): string | undefined => {
    const node = values.get(key);
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) return undefined;
    if (!isScalar(node) || typeof node.value !== 'string') {
      const shown = isScalar(node) ? `, not ${String(node.value)}: quote it ("${String(node.value)}")` : '';
      problem(node, `${field}.${key}`, `expected ${what}${shown}`);
      ok = false;
      return undefined;
    }
    return node.value;
  };
  const email = text('email', 'an email address');
  const role = text('role', 'a role');
  const namespace = text('namespace', 'a namespace name');
  if (email === undefined && !values.has('email')) {
    problem(item, `${field}.email`, 'is missing');
    ok = false;
  } else if (email !== undefined && !isEmail(email)) {
    problem(values.get('email'), `${field}.email`, `${JSON.stringify(email)} is not an email address`);
    ok = false;
  }
  if (role === undefined && !values.has('role')) {
    problem(item, `${field}.role`, `is missing (one of ${ROLES.join(', ')})`);
    ok = false;
  } else if (role !== undefined && !(ROLES as readonly string[]).includes(role)) {
    problem(values.get('role'), `${field}.role`, `${JSON.stringify(role)} is not a role: choose ${ROLES.join(', ')}`);
    ok = false;
  }
  if (namespace !== undefined) {
    const why = namespaceProblem(namespace);
    if (why) {
      problem(values.get('namespace'), `${field}.namespace`, `${JSON.stringify(namespace)} is not a valid namespace: ${why} (a DNS-1123 label such as team-a)`);
      ok = false;
    } else if (role === 'cluster-admin') {
      problem(values.get('role'), `${field}.role`, 'cluster-admin applies to a whole cluster: drop the namespace, or use admin for full control of one namespace');
      ok = false;
    }
  }
  if (!ok || email === undefined || role === undefined) return undefined;
  return { email, role: role as Role, ...(namespace !== undefined ? { namespace } : {}), ...at(item), field };
}

// ------------------------------------------------------------------ writing

/** One cluster to write: its key (name, or id when the name is ambiguous), entries, and notes. */
export interface RenderSection {
  key: string;
  /** Said in a comment above the list (e.g. the name of a cluster keyed by id). */
  note?: string;
  entries: Array<{ email: string; role: Role; namespace?: string | null }>;
  /** Grants that cannot be entries, written as comments below the list, with the reason. */
  commented: Array<{ email: string; role: Role; namespace?: string | null; why: string }>;
}

// Characters a terminal acts on (C0/C1 controls, line separators, bidirectional controls):
// the yaml package leaves some of them raw, even in plain scalars.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Those the yaml package leaves raw inside double quotes (it escapes C0 controls itself). */
const RAW = /[\u007f-\u009f\u200e\u200f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * The access file for `sections`, with a header comment. Entries are one flow map a line
 * (`- { email: …, role: …, namespace: … }`), sorted by email and scope, so exports of the
 * same grants are the same text. Names and emails come from the server: any that holds a
 * character a terminal acts on is written double-quoted with that character escaped, so
 * the file reads back to the same text and is safe to print.
 */
export function renderAccessFile(header: string[], sections: RenderSection[]): string {
  const value = { clusters: Object.fromEntries(sections.map((s) => [s.key, sorted(s.entries).map(entryObject)])) };
  const doc = parseDocument(stringify(value));
  doc.commentBefore = header.map((h) => ` ${oneLine(h)}`).join('\n');
  const quoteIfUnsafe = (node: unknown) => {
    if (isScalar(node) && typeof node.value === 'string' && UNSAFE.test(node.value)) node.type = 'QUOTE_DOUBLE';
  };
  const clusters = doc.get('clusters', true);
  if (isMap(clusters)) {
    clusters.items.forEach((pair, i) => {
      const s = sections[i] as RenderSection;
      quoteIfUnsafe(pair.key);
      const list = pair.value;
      if (!isSeq(list)) return;
      for (const item of list.items) {
        if (!isMap(item)) continue;
        item.flow = true;
        for (const field of item.items) quoteIfUnsafe(field.value);
      }
      if (s.note) list.commentBefore = ` ${oneLine(s.note)}`;
      if (s.commented.length) list.comment = sorted(s.commented).map((c) => ` - ${flowText(entryObject(c))}  # ${oneLine(c.why)}`).join('\n');
    });
  }
  // Only double-quoted scalars can still hold such a character here, where \uXXXX is an escape.
  return doc.toString({ lineWidth: 0 }).replace(RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function entryObject(e: { email: string; role: Role; namespace?: string | null }): Record<string, string> {
  return { email: e.email, role: e.role, ...(e.namespace ? { namespace: e.namespace } : {}) };
}

/** `{email: a@b.c, role: view}` for a comment: one line, odd values JSON-quoted (valid YAML). */
function flowText(o: Record<string, string>): string {
  return `{${Object.entries(o)
    .map(([k, v]) => `${k}: ${/^[A-Za-z0-9@._+-]+$/.test(v) ? v : JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** Entries in the file's order: by email, then the whole cluster before namespaces. */
export function sorted<T extends { email: string; namespace?: string | null }>(list: T[]): T[] {
  return [...list].sort((a, b) => a.email.toLowerCase().localeCompare(b.email.toLowerCase()) || (a.namespace ?? '').localeCompare(b.namespace ?? ''));
}
