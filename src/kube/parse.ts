/**
 * Parsing and validating one kubeconfig file: its plain `data` view, which merging and
 * planning work on, and its outline (where each top-level list and entry is in the text),
 * which edits are spliced into (see edit.ts).
 *
 * Files as kubectl writes them are read by scan.ts, a line reader for the plain subset of
 * YAML they use, at a fraction of the cost of the `yaml` package; anything outside that
 * subset is parsed with the `yaml` package (YAML 1.1), whose Document then gives the
 * outline. Either way the data is the `yaml` package's reading of the file, and the
 * Document is there (parsed on first use) for an edit that must re-render the file.
 */
import { Document, parseDocument, isMap, isNode, isScalar, isSeq } from 'yaml';
import type { ParseOptions, DocumentOptions, SchemaOptions, Range } from 'yaml';
import { AnkraError, Exit } from '../errors';
import { isRecord } from '../core/fsutil';
import { scanKubeconfig, UNRESOLVED } from './scan';
import type { ItemLines, Outline, PairOutline, PlainResolver, Scanned, ValueOutline } from './scan';

export type { ItemLines, Outline, PairOutline, ValueOutline } from './scan';

export const KINDS = ['clusters', 'users', 'contexts'] as const;
export type Kind = (typeof KINDS)[number];

/** One element of `clusters`, `users` or `contexts`, as plain data. */
export type Entry = { name: string } & Record<string, unknown>;

export interface KubeconfigData {
  clusters: Entry[];
  users: Entry[];
  contexts: Entry[];
  /** '' when unset, as client-go reads it. */
  currentContext: string;
}

export interface ParsedKubeconfig {
  file: string;
  text: string;
  /** Where the top-level lists, their entries and current-context are in `text`. */
  outline: Outline;
  /** The whole file as plain data (`{}` for an empty one); `data` shares its entries. */
  plain: Record<string, unknown>;
  data: KubeconfigData;
  /** The `yaml` package's Document of `text` (parsed on first use when the file was scanned). */
  document(): Document.Parsed;
  /** Which reader read it: scan.ts's line reader, or the `yaml` package. */
  reader: 'scan' | 'yaml';
}

/**
 * kubectl reads kubeconfig with go-yaml v2, i.e. YAML 1.1: `yes`, `on` and `no` are
 * booleans there and `<<` merges. Parsing and rendering as 1.1 keeps our view and the
 * strings we write (quoted when 1.1 would misread them) in line with kubectl's.
 */
export const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  keepSourceTokens: true,
  prettyErrors: true,
};

/** `reader: 'yaml'` skips the line reader (the tests compare the two). */
export function parseKubeconfig(file: string, text: string, reader: 'auto' | 'yaml' = 'auto'): ParsedKubeconfig {
  const scanned = reader === 'auto' ? scanText(text) : undefined;
  if (scanned) {
    let doc: Document.Parsed | undefined;
    const document = () => (doc ??= parseDocument(text, YAML_OPTIONS));
    return { file, text, outline: scanned.outline, plain: scanned.plain, data: toData(file, scanned.plain), document, reader: 'scan' };
  }
  const doc = parseDocument(text, YAML_OPTIONS);
  const [error] = doc.errors;
  if (error?.code === 'MULTIPLE_DOCS') throw invalidKubeconfig(file, 'it holds more than one YAML document');
  if (error) {
    const at = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
    const what = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
    throw invalidKubeconfig(file, `YAML syntax error${at}: ${what}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw invalidKubeconfig(file, 'the top level is not a mapping');
  const plain = plainContents(file, doc);
  return { file, text, outline: outlineOf(doc, text), plain, data: toData(file, plain), document: () => doc, reader: 'yaml' };
}

/**
 * A text whose meaning is known without reading it: one just written after edit.ts checked
 * that it means `plain`. Its outline and Document are read only when asked for (to edit
 * it again).
 */
export function knownKubeconfig(file: string, text: string, plain: Record<string, unknown>): ParsedKubeconfig {
  let read: ParsedKubeconfig | undefined;
  const full = () => (read ??= parseKubeconfig(file, text));
  return {
    file,
    text,
    plain,
    data: toData(file, plain),
    get outline() {
      return full().outline;
    },
    get reader() {
      return full().reader;
    },
    document: () => full().document(),
  };
}

/** scan.ts's reading of the text (undefined: outside its subset), with YAML 1.1's scalars. */
export function scanText(text: string): Scanned | undefined {
  return scanKubeconfig(text, plainResolver());
}

let scalarTest: { test(text: string): boolean } | undefined;

/**
 * Plain scalars as YAML 1.1 resolves them, for scan.ts: a string unless one of the schema's
 * own tests (booleans, nulls, numbers, timestamps) matches; what a test matches is parsed
 * by the `yaml` package alone, once per distinct text.
 */
function plainResolver(): PlainResolver {
  if (!scalarTest) {
    // the tests of the tags a plain scalar in a value may resolve to, as one expression
    const tests = new Document(null, { version: '1.1' }).schema.tags.flatMap((tag) => (tag.default === true && 'test' in tag && tag.test instanceof RegExp ? [tag.test] : []));
    scalarTest = tests.every((t) => t.flags === '')
      ? new RegExp(`^(?:${tests.map((t) => `(?:${t.source})`).join('|')})`)
      : { test: (text) => tests.some((t) => t.test(text)) };
  }
  const test = scalarTest;
  const known = new Map<string, unknown>();
  return (text) => {
    if (!test.test(text)) return text;
    if (known.has(text)) return known.get(text);
    const doc = parseDocument(text, { version: '1.1' });
    const node = doc.contents;
    if (doc.errors.length > 0 || !isScalar(node) || node.type !== 'PLAIN' || node.range?.[0] !== 0 || node.range[1] !== text.length) return UNRESOLVED;
    const value: unknown = doc.toJS();
    // a Date is an object: each entry gets its own
    if (value === null || typeof value !== 'object') known.set(text, value);
    return value;
  };
}

/** The error for a file we refuse to read or edit; callers leave the file untouched. */
export function invalidKubeconfig(file: string, problem: string): AnkraError {
  return new AnkraError(`${file} is not a valid kubeconfig: ${problem}`, Exit.FAILURE, {
    hint: 'fix or move that file, then run the command again',
  });
}

function plainContents(file: string, doc: Document.Parsed): Record<string, unknown> {
  try {
    return (doc.toJS() as Record<string, unknown> | null) ?? {};
  } catch (err) {
    // e.g. an alias to an undefined anchor, or an alias bomb past maxAliasCount
    throw invalidKubeconfig(file, err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  }
}

function toData(file: string, top: Record<string, unknown>): KubeconfigData {
  const current = top['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw invalidKubeconfig(file, '`current-context` is not a string');
  }
  return {
    clusters: entries(file, top, 'clusters'),
    users: entries(file, top, 'users'),
    contexts: entries(file, top, 'contexts'),
    currentContext: current ?? '',
  };
}

function entries(file: string, top: Record<string, unknown>, kind: Kind): Entry[] {
  const list = top[kind];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidKubeconfig(file, `\`${kind}\` is not a list`);
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    if (!isRecord(item)) throw invalidKubeconfig(file, `entry ${i + 1} of \`${kind}\` is not a mapping`);
    const { name } = item;
    if (typeof name !== 'string' || name === '') {
      throw invalidKubeconfig(file, `entry ${i + 1} of \`${kind}\` has no name`);
    }
    // client-go refuses such a file too ("duplicate name in list")
    if (seen.has(name)) throw invalidKubeconfig(file, `the name "${name}" appears twice in \`${kind}\``);
    seen.add(name);
    return item as Entry;
  });
}


// ---------------------------------------------------------------------------------------
// The outline of a file the yaml package parsed.

function outlineOf(doc: Document.Parsed, src: string): Outline {
  const top = doc.contents;
  if (top === null) return { top: 'empty', firstKey: undefined, end: src.length, pairs: new Map() };
  const other: Outline = { top: 'other', firstKey: undefined, end: src.length, pairs: new Map() };
  if (!isMap(top) || top.flow || !top.range) return other;
  const pairs = new Map<string, PairOutline>();
  for (const pair of top.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
    const key = rangeOf(pair.key);
    // without a source range, no pair of this file can be found by its key
    if (key === undefined) return other;
    if (!pairs.has(pair.key.value)) pairs.set(pair.key.value, { keyStart: key[0], keyEnd: key[1], value: valueOutline(src, pair.value) });
  }
  return { top: 'block', firstKey: rangeOf(top.items[0]?.key)?.[0], end: top.range[2], pairs };
}

function valueOutline(src: string, value: unknown): ValueOutline {
  const range = rangeOf(value);
  if (isSeq(value) && range) {
    if (value.flow) {
      const items = value.items.map(rangeOf);
      const ok = items.every((r): r is Range => r !== undefined);
      return { type: 'flow-seq', count: items.length, start: range[0], end: range[1], items: ok ? items.map((r): [number, number] => [r[0], r[1]]) : undefined };
    }
    const token = value.srcToken;
    if (token?.type !== 'block-seq') return { type: 'other' };
    const spans = value.items.map((item, i) => itemLines(src, item, token.items[i]?.start ?? []));
    const dash = token.items[0]?.start.find((t) => t.type === 'seq-item-ind');
    return {
      type: 'block-seq',
      count: value.items.length,
      items: spans.every((s): s is ItemLines => s !== undefined) ? spans : undefined,
      dashColumn: dash ? column(src, dash.offset) : undefined,
      nesting: nestingStep(src, value.items[0]),
    };
  }
  if (isScalar(value) && range) return { type: 'scalar', start: range[0], end: range[1], isNull: value.value === null };
  return { type: 'other' };
}

/** An entry's lines: from the line of its `-` to its end, without the comments about what follows. */
function itemLines(src: string, item: unknown, startTokens: ReadonlyArray<{ type: string; offset: number }>): ItemLines | undefined {
  const dash = startTokens.find((t) => t.type === 'seq-item-ind');
  const range = rangeOf(item);
  if (!dash || !range) return undefined;
  const start = src.lastIndexOf('\n', dash.offset - 1) + 1;
  const before = src.slice(start, dash.offset).replace(/^\uFEFF/, '');
  if (!/^ *$/.test(before)) return undefined;
  const end = range[2];
  if (end !== src.length && src[end - 1] !== '\n') return undefined;
  // The parser counts the blank and comment lines after an entry as part of it. Those no
  // deeper than its `-` (say, a comment about the next entry) are left where they are.
  return { start: dash.offset - before.length, end: trimTrailing(src, dash.offset, before.length, end), indent: before };
}

/** How far a nested mapping inside this entry is indented from its key, if it has one. */
function nestingStep(src: string, entry: unknown): number | undefined {
  if (!isMap(entry)) return undefined;
  for (const pair of entry.items) {
    const inner = pair.value;
    const outerKey = rangeOf(pair.key)?.[0];
    const innerKey = isMap(inner) && !inner.flow ? rangeOf(inner.items[0]?.key)?.[0] : undefined;
    if (outerKey !== undefined && innerKey !== undefined) {
      const step = column(src, innerKey) - column(src, outerKey);
      if (step > 0) return step;
    }
  }
  return undefined;
}

/**
 * `end` moved back over the blank lines and the comment lines no deeper than `indent` that
 * end the stretch [floor, end): those belong with what follows (a comment about the next
 * entry), not with the entry before them.
 */
function trimTrailing(src: string, floor: number, indent: number, end: number): number {
  for (;;) {
    const last = src.lastIndexOf('\n', end - 2) + 1;
    if (last <= floor) return end;
    const line = /^( *)(#.*)?\r?\n?$/.exec(src.slice(last, end));
    if (!line || (line[2] !== undefined && line[1]!.length > indent)) return end;
    end = last;
  }
}

function rangeOf(node: unknown): Range | undefined {
  return isNode(node) ? (node.range ?? undefined) : undefined;
}

function column(src: string, offset: number): number {
  return offset - (src.lastIndexOf('\n', offset - 1) + 1);
}
