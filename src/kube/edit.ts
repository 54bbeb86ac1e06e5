/**
 * Editing one kubeconfig file so that everything we do not own survives byte for byte.
 *
 * `Document.toString()` re-renders the whole file (sequence indentation, quoting, line
 * folding, comment placement), so instead each edit becomes a splice of the original text
 * at the source ranges the parser recorded: an entry is replaced or removed as the lines
 * from its `-` to its end, new entries are rendered alone and inserted after the last one
 * in the file's own layout. The same edits are also applied through the Document API; the
 * spliced text is kept only if it parses to exactly that result. When it does not (a
 * flow-style top level, an odd layout), the Document is re-stringified instead, which is
 * correct but normalises the file's formatting.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import type { Pair, Range, YAMLMap, YAMLSeq } from 'yaml';
import { AnkraError, Exit } from '../errors';
import { KINDS, YAML_OPTIONS } from './parse';
import type { Entry, Kind, ParsedKubeconfig } from './parse';

export type Edit =
  /** Replace the entry of that name where it stands, or append it. */
  | { op: 'put'; kind: Kind; entry: Entry }
  | { op: 'remove'; kind: Kind; name: string }
  /** Set current-context; '' clears it, as kubectl does. */
  | { op: 'current'; value: string };
type EntryEdit = Exclude<Edit, { op: 'current' }>;

export interface EditResult {
  text: string;
  /** 'restringify' when the splice could not be verified and the whole file was re-rendered. */
  method: 'splice' | 'restringify';
}

/** What a file that had no content gets, as kubectl writes it. */
const HEADER = { apiVersion: 'v1', kind: 'Config' };

export function applyEdits(parsed: ParsedKubeconfig, edits: readonly Edit[]): EditResult {
  const expectedDoc = editDocument(parsed, edits);
  const expected = comparable(expectedDoc.toJS());
  const layout = detectLayout(parsed);
  const eol = parsed.text.includes('\r\n') ? '\r\n' : '\n';

  const spliced = spliceEdits(parsed, edits, layout, eol);
  if (spliced !== undefined && parsesTo(spliced, expected)) return { text: spliced, method: 'splice' };

  const rendered = expectedDoc.toString({ lineWidth: 0, indent: layout.indent, indentSeq: layout.indentSeq });
  const text = rendered.replace(/\n/g, eol);
  if (parsesTo(text, expected)) return { text, method: 'restringify' };
  throw new AnkraError(`could not edit ${parsed.file} without changing its meaning`, Exit.FAILURE, {
    hint: 'make the change with `kubectl config` instead',
  });
}

// ---------------------------------------------------------------------------------------
// The reference: the same edits through yaml's Document API.

function editDocument(parsed: ParsedKubeconfig, edits: readonly Edit[]): Document {
  const doc: Document = parsed.doc.clone();
  if (doc.contents === null) doc.contents = doc.createNode(HEADER);
  for (const edit of edits) {
    if (edit.op === 'current') {
      doc.set('current-context', edit.value);
      continue;
    }
    const seq = listOf(doc, edit.kind, parsed.file);
    const name = nameOf(edit);
    const at = seq.items.findIndex((item) => isNode(item) && (item.toJS(doc) as Entry).name === name);
    if (edit.op === 'remove') {
      if (at >= 0) seq.items.splice(at, 1);
    } else if (at >= 0) {
      seq.items[at] = doc.createNode(edit.entry);
    } else {
      seq.items.push(doc.createNode(edit.entry));
    }
  }
  return doc;
}

function listOf(doc: Document, kind: Kind, file: string): YAMLSeq<unknown> {
  const value = doc.get(kind, true);
  if (isSeq(value)) return value;
  if (value === undefined || (isScalar(value) && value.value === null)) {
    const seq = doc.createNode([]) as YAMLSeq<unknown>;
    doc.set(kind, seq);
    return seq;
  }
  // validation accepted it, so it resolves to a list: an alias to a list elsewhere
  throw new AnkraError(`cannot edit ${file}: \`${kind}\` is a YAML alias`, Exit.FAILURE, {
    hint: 'write the list out in full, then run the command again',
  });
}

/** Plain data as kubectl sees it: an empty, null or missing list are all "no entries". */
function comparable(js: unknown): unknown {
  const top = { ...((js as Record<string, unknown> | null) ?? {}) };
  for (const kind of KINDS) top[kind] = top[kind] ?? [];
  return top;
}

function parsesTo(text: string, expected: unknown): boolean {
  const doc = parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0) return false;
  try {
    return isDeepStrictEqual(comparable(doc.toJS()), expected);
  } catch {
    return false; // e.g. an anchor our splice cut out from under an alias
  }
}

// ---------------------------------------------------------------------------------------
// The splice.

interface Layout {
  /** Spaces per nesting level. */
  indent: number;
  /** `key:\n  - item` (true) or kubectl's `key:\n- item` (false). */
  indentSeq: boolean;
}

interface Splice {
  start: number;
  end: number;
  /** With '\n' line ends; turned into the file's own on the way in. */
  text: string;
  /** Among insertions at the same offset, the higher one ends up later in the text. */
  order: number;
  /** Inserted text that must start on a line of its own (after a last line without a line break). */
  ownLine?: boolean;
}

/** The spliced text, or undefined when the layout is one we do not splice into. */
function spliceEdits(parsed: ParsedKubeconfig, edits: readonly Edit[], layout: Layout, eol: string): string | undefined {
  const { text: src, doc } = parsed;
  const top = doc.contents;
  if (top !== null && (!isMap(top) || top.flow)) return undefined;

  const keyIndent = top === null ? '' : lineIndent(src, rangeOf(top.items[0]?.key)?.[0]);
  if (keyIndent === undefined) return undefined;
  const newKeys: string[] = top === null ? Object.entries(HEADER).map(([k, v]) => `${k}: ${v}\n`) : [];
  const splices: Splice[] = [];

  for (const kind of KINDS) {
    const mine = edits.filter((e): e is EntryEdit => e.op !== 'current' && e.kind === kind);
    if (mine.length === 0) continue;
    const pair = top === null ? undefined : findPair(top, kind);
    if (pair === undefined) {
      newKeys.push(`${kind}:\n${renderBlock(puts(mine), seqIndent(layout), layout)}`);
      continue;
    }
    const list = spliceList(parsed, pair, kind, mine, layout);
    if (list === undefined) return undefined;
    splices.push(...list);
  }

  for (const edit of edits) {
    if (edit.op !== 'current') continue;
    const pair = top === null ? undefined : findPair(top, 'current-context');
    if (pair === undefined) {
      newKeys.push(`current-context: ${renderScalar(edit.value)}\n`);
      continue;
    }
    const value = pair.value;
    const keyEnd = rangeOf(pair.key)?.[1];
    if (!isScalar(value) || !value.range || keyEnd === undefined) return undefined;
    const [start, end] = value.range;
    if (start < end) {
      splices.push({ start, end, text: renderScalar(edit.value), order: 0 });
    } else {
      // `current-context:` without a value (perhaps with a comment): write it after the colon
      const colon = src.indexOf(':', keyEnd) + 1;
      splices.push({ start: colon, end: colon, text: ` ${renderScalar(edit.value)}`, order: 0 });
    }
  }

  if (newKeys.length > 0) {
    const at = top === null ? src.length : top.range[2];
    const text = newKeys.map((block) => indentLines(block, keyIndent)).join('');
    splices.push({ start: at, end: at, text, order: 1, ownLine: true });
  }
  return applySplices(src, splices, eol);
}

function spliceList(
  parsed: ParsedKubeconfig,
  pair: Pair<unknown, unknown>,
  kind: Kind,
  edits: readonly EntryEdit[],
  layout: Layout,
): Splice[] | undefined {
  const value = pair.value;
  const names = parsed.data[kind].map((e) => e.name);
  if (isSeq(value) && value.items.length > 0) {
    return value.flow ? spliceFlowList(parsed.text, value, names, edits) : spliceBlockList(parsed.text, pair, value, names, edits, layout);
  }
  // `clusters:`, `clusters: null` or `clusters: []`: nothing to remove, so only puts
  if ((isSeq(value) && value.flow) || (isScalar(value) && value.value === null)) {
    return spliceIntoEmpty(parsed.text, pair, puts(edits), layout);
  }
  return undefined;
}

/** Block sequence: each entry is the lines from its `-` to its end. */
function spliceBlockList(
  src: string,
  pair: Pair<unknown, unknown>,
  seq: YAMLSeq<unknown>,
  names: string[],
  edits: readonly EntryEdit[],
  layout: Layout,
): Splice[] | undefined {
  const token = seq.srcToken;
  const keyEnd = rangeOf(pair.key)?.[1];
  if (token?.type !== 'block-seq' || keyEnd === undefined) return undefined;
  const spans = seq.items.map((item, i) => itemLines(src, item, token.items[i]?.start ?? []));
  if (!spans.every((s): s is ItemLines => s !== undefined)) return undefined;

  const byName = new Map(edits.map((e) => [nameOf(e), e]));
  const splices = spans.flatMap((span, i): Splice[] => {
    const edit = byName.get(names[i] ?? '');
    if (!edit) return [];
    const text = edit.op === 'put' ? renderBlock([edit.entry], span.indent, layout) : '';
    return [{ start: span.start, end: span.end, text, order: 0 }];
  });
  const appended = puts(edits).filter((e) => !names.includes(e.name));
  const last = spans[spans.length - 1]!;
  if (appended.length > 0) {
    splices.push({ start: last.end, end: last.end, text: renderBlock(appended, last.indent, layout), order: 0, ownLine: true });
  } else if (names.every((name) => byName.get(name)?.op === 'remove')) {
    // every entry removed: say "empty list" rather than leave a bare `clusters:` (null)
    const colon = src.indexOf(':', keyEnd) + 1;
    splices.push({ start: colon, end: colon, text: ' []', order: 0 });
  }
  return splices;
}

interface ItemLines {
  /** Start of the line holding the item's `-`. */
  start: number;
  /** After the item's last line break (or the end of the file). */
  end: number;
  /** The spaces before the `-`. */
  indent: string;
}

function itemLines(src: string, item: unknown, startTokens: ReadonlyArray<{ type: string; offset: number }>): ItemLines | undefined {
  const dash = startTokens.find((t) => t.type === 'seq-item-ind');
  const range = rangeOf(item);
  if (!dash || !range) return undefined;
  const indent = lineIndent(src, dash.offset);
  let end = range[2];
  if (indent === undefined || (end !== src.length && src[end - 1] !== '\n')) return undefined;
  // The parser counts the blank and comment lines after an entry as part of it. Those no
  // deeper than its `-` (say, a comment about the next entry) are left where they are.
  for (;;) {
    const last = src.lastIndexOf('\n', end - 2) + 1;
    const line = /^( *)(#.*)?\r?\n?$/.exec(src.slice(last, end));
    if (last <= dash.offset || !line || (line[2] !== undefined && line[1]!.length > indent.length)) break;
    end = last;
  }
  return { start: dash.offset - indent.length, end, indent };
}

/**
 * Flow sequence (`[{name: a, …}, {…}]`, as in Ankra's Go CLI's sample): rebuild the text
 * between the first and last item, keeping each kept item and the separator (commas,
 * line breaks, comments) between two kept neighbours as written.
 */
function spliceFlowList(
  src: string,
  seq: YAMLSeq<unknown>,
  names: string[],
  edits: readonly EntryEdit[],
): Splice[] | undefined {
  const ranges = seq.items.map(rangeOf);
  if (!ranges.every((r): r is Range => r !== undefined)) return undefined;
  const byName = new Map(edits.map((e) => [nameOf(e), e]));

  const parts: string[] = [];
  let previousKept = -1;
  ranges.forEach(([start, end], i) => {
    const edit = byName.get(names[i] ?? '');
    if (edit?.op === 'remove') return;
    const text = edit?.op === 'put' ? renderFlow(edit.entry) : src.slice(start, end);
    const separator = previousKept === i - 1 && i > 0 ? src.slice(ranges[i - 1]![1], start) : ', ';
    parts.push(parts.length > 0 ? separator + text : text);
    previousKept = i;
  });
  for (const entry of puts(edits).filter((e) => !names.includes(e.name))) {
    parts.push((parts.length > 0 ? ', ' : '') + renderFlow(entry));
  }
  return [{ start: ranges[0]![0], end: ranges[ranges.length - 1]![1], text: parts.join(''), order: 0 }];
}

/** `clusters:` / `clusters: null` / `clusters: []` becomes a block sequence of the new entries. */
function spliceIntoEmpty(src: string, pair: Pair<unknown, unknown>, entries: Entry[], layout: Layout): Splice[] | undefined {
  const value = rangeOf(pair.value);
  const keyIndent = lineIndent(src, rangeOf(pair.key)?.[0]);
  if (!value || keyIndent === undefined) return undefined;
  let [start, end] = value;
  if (end > start) while (src[start - 1] === ' ' || src[start - 1] === '\t') start--;
  const lineEnd = src.indexOf('\n', end);
  const at = lineEnd === -1 ? src.length : lineEnd + 1;
  return [
    { start, end, text: '', order: 0 },
    { start: at, end: at, text: renderBlock(entries, keyIndent + seqIndent(layout), layout), order: 0, ownLine: true },
  ];
}

/** Applies non-overlapping splices in order; undefined if two overlap. */
function applySplices(src: string, splices: Splice[], eol: string): string | undefined {
  const sorted = [...splices].sort((a, b) => a.start - b.start || a.order - b.order);
  let out = '';
  let done = 0;
  for (const s of sorted) {
    if (s.start < done) return undefined;
    out += src.slice(done, s.start);
    if (s.ownLine && out !== '' && !out.endsWith('\n')) out += eol;
    out += s.text.replace(/\n/g, eol);
    done = s.end;
  }
  return out + src.slice(done);
}

// ---------------------------------------------------------------------------------------
// Rendering our entries, and reading the file's layout.

function renderBlock(entries: Entry[], indent: string, layout: Layout): string {
  const text = new Document(entries, YAML_OPTIONS).toString({ indent: layout.indent, indentSeq: layout.indentSeq, lineWidth: 0 });
  return indentLines(text, indent);
}

function renderFlow(entry: Entry): string {
  const doc = new Document(entry, YAML_OPTIONS);
  (doc.contents as YAMLMap).flow = true;
  return doc.toString({ lineWidth: 0 }).trimEnd();
}

function renderScalar(value: string): string {
  return new Document(value, YAML_OPTIONS).toString().trimEnd();
}

/** The layout of the file's first block list of entries; kubectl's when it has none. */
function detectLayout(parsed: ParsedKubeconfig): Layout {
  const { text: src, doc } = parsed;
  const top = doc.contents;
  for (const kind of KINDS) {
    const pair = isMap(top) ? findPair(top, kind) : undefined;
    const seq = pair?.value;
    if (!pair || !isSeq(seq) || seq.srcToken?.type !== 'block-seq') continue;
    const dash = seq.srcToken.items[0]?.start.find((t) => t.type === 'seq-item-ind');
    const keyStart = rangeOf(pair.key)?.[0];
    if (!dash || keyStart === undefined) continue;
    return { indentSeq: column(src, dash.offset) > column(src, keyStart), indent: nestingStep(src, seq.items[0]) ?? 2 };
  }
  return { indent: 2, indentSeq: false };
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

function seqIndent(layout: Layout): string {
  return layout.indentSeq ? ' '.repeat(layout.indent) : '';
}

function puts(edits: readonly EntryEdit[]): Entry[] {
  return edits.flatMap((e) => (e.op === 'put' ? [e.entry] : []));
}

function nameOf(edit: EntryEdit): string {
  return edit.op === 'put' ? edit.entry.name : edit.name;
}

function findPair(map: YAMLMap<unknown, unknown>, key: string): Pair<unknown, unknown> | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

function rangeOf(node: unknown): Range | undefined {
  return isNode(node) ? (node.range ?? undefined) : undefined;
}

function lineStart(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

function column(src: string, offset: number): number {
  return offset - lineStart(src, offset);
}

/** The spaces before offset on its line (after a byte order mark), or undefined if anything else is there. */
function lineIndent(src: string, offset: number | undefined): string | undefined {
  if (offset === undefined) return undefined;
  const before = src.slice(lineStart(src, offset), offset).replace(/^\uFEFF/, '');
  return /^ *$/.test(before) ? before : undefined;
}

function indentLines(text: string, indent: string): string {
  return indent ? text.replace(/^(?=.)/gm, indent) : text;
}
