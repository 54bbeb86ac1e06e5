/**
 * Editing one kubeconfig file so that everything we do not own survives byte for byte.
 *
 * `Document.toString()` re-renders the whole file (sequence indentation, quoting, line
 * folding, comment placement), so instead each edit becomes a splice of the original text
 * at the places the file's outline records (see parse.ts and scan.ts): an entry is replaced
 * or removed as the lines from its `-` to its end, new entries are rendered alone and
 * inserted after the last one in the file's own layout.
 *
 * The spliced text is kept only if it provably means the intended result: the file's data
 * with the edits applied. On a big file re-parsing the whole text would cost as much as the
 * first parse, so where the splices allow it the check is local (see `verifyWindows`):
 * each block-list splice is re-parsed together with its neighbouring entries, and the
 * current-context line on its own, and must give exactly the expected entries; the text
 * between windows is the original's, byte for byte. Other splices (flow lists, new
 * top-level keys, files with anchors or directives) are checked by parsing the whole
 * text. When the splice cannot be made or verified (a flow-style top level, an odd layout),
 * the edits go through the Document API (the file's Document is parsed then, if it was
 * read by scan.ts) and the file is re-stringified instead, which is correct but normalises
 * the file's formatting.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node, YAMLMap, YAMLSeq } from 'yaml';
import { AnkraError, Exit } from '../errors';
import { KINDS, YAML_OPTIONS } from './parse';
import type { Entry, ItemLines, Kind, PairOutline, ParsedKubeconfig } from './parse';

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
  /** How the text was verified: its edited stretches re-parsed alone ('windows'), or all of it ('whole'). */
  check: 'windows' | 'whole';
}

/** What a file that had no content gets, as kubectl writes it. */
const HEADER = { apiVersion: 'v1', kind: 'Config' };

export function applyEdits(parsed: ParsedKubeconfig, edits: readonly Edit[]): EditResult {
  const layout = detectLayout(parsed);
  const eol = parsed.text.includes('\r\n') ? '\r\n' : '\n';

  const spliced = spliceEdits(parsed, edits, layout, eol);
  if (spliced !== undefined) {
    // scan.ts reads no file with anchors, aliases or directives
    const local = spliced.windows !== undefined && (parsed.reader === 'scan' || localCheckApplies(parsed.text));
    const ok = local ? verifyWindows(parsed.text, spliced, eol) : parsesTo(spliced.text, editedData(parsed, edits));
    if (ok) return { text: spliced.text, method: 'splice', check: local ? 'windows' : 'whole' };
  }

  const rendered = editDocument(parsed, edits).toString({ lineWidth: 0, indent: layout.indent, indentSeq: layout.indentSeq });
  const text = rendered.replace(/\n/g, eol);
  if (parsesTo(text, editedData(parsed, edits))) return { text, method: 'restringify', check: 'whole' };
  throw new AnkraError(`could not edit ${parsed.file} without changing its meaning`, Exit.FAILURE, {
    hint: 'make the change with `kubectl config` instead',
  });
}

// ---------------------------------------------------------------------------------------
// The intended result: the file's plain data with the edits applied.

/**
 * What the edited file must mean, as kubectl sees it (see `comparable`): the text
 * applyEdits returns was checked to mean this.
 */
export function editedData(parsed: ParsedKubeconfig, edits: readonly Edit[]): Record<string, unknown> {
  // a file without content gets kubectl's header with its first entries
  const top: Record<string, unknown> = parsed.outline.top === 'empty' ? { ...HEADER } : { ...parsed.plain };
  for (const kind of KINDS) {
    const mine = edits.filter((e): e is EntryEdit => e.op !== 'current' && e.kind === kind);
    top[kind] = mine.length === 0 ? parsed.data[kind] : editedList(parsed.data[kind], mine);
  }
  for (const edit of edits) if (edit.op === 'current') top['current-context'] = edit.value;
  return top;
}

/** A put replaces the entry of its name where it stands, or is appended; a remove drops it. */
function editedList(list: readonly Entry[], edits: readonly EntryEdit[]): Entry[] {
  const removed = new Set(edits.flatMap((e) => (e.op === 'remove' ? [e.name] : [])));
  const put = new Map(puts(edits).map((e) => [e.name, e]));
  const out = list.filter((e) => !removed.has(e.name)).map((e) => put.get(e.name) ?? e);
  const present = new Set(list.map((e) => e.name));
  for (const [name, entry] of put) if (!present.has(name)) out.push(entry);
  return out;
}

// ---------------------------------------------------------------------------------------
// The reference: the same edits through yaml's Document API.

function editDocument(parsed: ParsedKubeconfig, edits: readonly Edit[]): Document {
  const doc: Document = parsed.document().clone();
  if (doc.contents === null) doc.contents = doc.createNode(HEADER);
  for (const edit of edits) {
    if (edit.op === 'current') {
      doc.set('current-context', edit.value);
      continue;
    }
    const seq = listOf(doc, edit.kind, parsed.file);
    const name = nameOf(edit);
    const at = seq.items.findIndex((item) => isNode(item) && itemName(doc, item) === name);
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

function itemName(doc: Document, item: Node): unknown {
  const name = isMap(item) ? item.get('name') : undefined;
  return typeof name === 'string' ? name : (item.toJS(doc) as Entry | null)?.name;
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
  /** The verification window (an index into Spliced.windows) that covers this splice, if any. */
  window?: number;
}

/**
 * A stretch of the original text, from a line start to a line end, holding splices, that
 * is re-parsed on its own after splicing to verify them: whole entries of one block list
 * (the edited ones with their neighbours), a whole list pair (when all its entries go), or
 * the current-context line. `expected` is what the new stretch alone must parse to.
 */
interface Window {
  start: number;
  end: number;
  expected: unknown;
}

interface Spliced {
  text: string;
  splices: Splice[];
  /** Set when every splice lies in a window, so that checking the windows checks them all. */
  windows?: Window[];
}

/** The spliced text, or undefined when the layout is one we do not splice into. */
function spliceEdits(parsed: ParsedKubeconfig, edits: readonly Edit[], layout: Layout, eol: string): Spliced | undefined {
  const { text: src, outline } = parsed;
  if (outline.top === 'other') return undefined;
  const empty = outline.top === 'empty';

  const keyIndent = empty ? '' : lineIndent(src, outline.firstKey);
  if (keyIndent === undefined) return undefined;
  const newKeys: string[] = empty ? Object.entries(HEADER).map(([k, v]) => `${k}: ${v}\n`) : [];
  const splices: Splice[] = [];
  const windows: Window[] = [];

  for (const kind of KINDS) {
    const mine = edits.filter((e): e is EntryEdit => e.op !== 'current' && e.kind === kind);
    if (mine.length === 0) continue;
    const pair = outline.pairs.get(kind);
    if (pair === undefined) {
      newKeys.push(`${kind}:\n${renderBlock(puts(mine), seqIndent(layout), layout)}`);
      continue;
    }
    const list = spliceList(parsed, pair, kind, mine, layout, windows);
    if (list === undefined) return undefined;
    splices.push(...list);
  }

  for (const edit of edits) {
    if (edit.op !== 'current') continue;
    const pair = outline.pairs.get('current-context');
    if (pair === undefined) {
      newKeys.push(`current-context: ${renderScalar(edit.value)}\n`);
      continue;
    }
    const value = pair.value;
    if (value.type !== 'scalar') return undefined;
    const { start, end } = value;
    const colon = src.indexOf(':', pair.keyEnd) + 1;
    // the window: the current-context line (and any continuation lines of the old value)
    const lineEnd = src.indexOf('\n', Math.max(end, colon));
    const window = lineIndent(src, pair.keyStart) === undefined
      ? undefined
      : windows.push({ start: lineStart(src, pair.keyStart), end: lineEnd === -1 ? src.length : lineEnd + 1, expected: { 'current-context': edit.value } }) - 1;
    if (start < end) {
      splices.push({ start, end, text: renderScalar(edit.value), order: 0, window });
    } else {
      // `current-context:` without a value (perhaps with a comment): write it after the colon
      splices.push({ start: colon, end: colon, text: ` ${renderScalar(edit.value)}`, order: 0, window });
    }
  }

  if (newKeys.length > 0) {
    const at = outline.end;
    const text = newKeys.map((block) => indentLines(block, keyIndent)).join('');
    splices.push({ start: at, end: at, text, order: 1, ownLine: true });
  }
  const text = applySplices(src, splices, eol);
  if (text === undefined) return undefined;
  return { text, splices, windows: splices.every((s) => s.window !== undefined) ? windows : undefined };
}

function spliceList(
  parsed: ParsedKubeconfig,
  pair: PairOutline,
  kind: Kind,
  edits: readonly EntryEdit[],
  layout: Layout,
  windows: Window[],
): Splice[] | undefined {
  const value = pair.value;
  const entries = parsed.data[kind];
  if (value.type === 'block-seq' && value.count > 0) {
    return spliceBlockList(parsed.text, { pair, items: value.items, count: value.count, kind, entries }, edits, layout, windows);
  }
  if (value.type === 'flow-seq' && value.count > 0) return spliceFlowList(parsed.text, value.items, entries, edits);
  // `clusters:`, `clusters: null` or `clusters: []`: nothing to remove, so only puts
  if (value.type === 'flow-seq' || (value.type === 'scalar' && value.isNull)) {
    return spliceIntoEmpty(parsed.text, pair, [value.start, value.end], puts(edits), layout);
  }
  return undefined;
}

interface BlockList {
  pair: PairOutline;
  /** Each entry's lines (undefined: an odd layout, not spliced). */
  items: ItemLines[] | undefined;
  count: number;
  kind: Kind;
  /** The list's entries as plain data, in order (parse.ts checked that they are named maps). */
  entries: readonly Entry[];
}

/**
 * Block sequence: each entry is the lines from its `-` to its end. Each run of edited
 * entries gets a window from the entry before it to the entry after it (appended entries
 * go with the last entry), so the window starts and ends where the sequence expects its
 * next `-`, in the original and in the new text alike.
 */
function spliceBlockList(src: string, list: BlockList, edits: readonly EntryEdit[], layout: Layout, windows: Window[]): Splice[] | undefined {
  const { pair, items: spans, count, kind, entries } = list;
  if (spans === undefined || entries.length !== count) return undefined;

  const byName = new Map(edits.map((e) => [nameOf(e), e]));
  const names = entries.map((e) => e.name);
  const present = new Set(names);
  const appended = puts(edits).filter((e) => !present.has(e.name));
  const last = spans.length - 1;
  const lastSpan = spans[last]!;
  const allRemoved = names.every((name) => byName.get(name)?.op === 'remove');

  // windows: index ranges of entries [from, to], merged where they overlap
  const ranges: Array<[number, number]> = [];
  const cover = (from: number, to: number) => {
    const prev = ranges[ranges.length - 1];
    if (prev && from <= prev[1]) prev[1] = Math.max(prev[1], to);
    else ranges.push([from, to]);
  };
  names.forEach((name, i) => byName.has(name) && cover(Math.max(0, i - 1), Math.min(last, i + 1)));
  if (appended.length > 0) cover(last, last);
  const windowOf = new Array<number>(spans.length);
  if (allRemoved && lineIndent(src, pair.keyStart) !== undefined) {
    // the list becomes `key: []`: the window is the whole pair
    const at = windows.push({ start: lineStart(src, pair.keyStart), end: lastSpan.end, expected: { [kind]: [] } }) - 1;
    windowOf.fill(at);
  } else if (!allRemoved) {
    for (const [from, to] of ranges) {
      const expected = entries.slice(from, to + 1).flatMap((entry) => {
        const edit = byName.get(entry.name);
        return edit?.op === 'remove' ? [] : [edit?.entry ?? entry];
      });
      if (to === last) expected.push(...appended);
      const at = windows.push({ start: spans[from]!.start, end: spans[to]!.end, expected }) - 1;
      windowOf.fill(at, from, to + 1);
    }
  }

  const splices = spans.flatMap((span, i): Splice[] => {
    const edit = byName.get(names[i]!);
    if (!edit) return [];
    const text = edit.op === 'put' ? renderBlock([edit.entry], span.indent, layout) : '';
    return [{ start: span.start, end: span.end, text, order: 0, window: windowOf[i] }];
  });
  if (appended.length > 0) {
    splices.push({ start: lastSpan.end, end: lastSpan.end, text: renderBlock(appended, lastSpan.indent, layout), order: 0, ownLine: true, window: windowOf[last] });
  } else if (allRemoved) {
    // every entry removed: say "empty list" rather than leave a bare `clusters:` (null)
    const colon = src.indexOf(':', pair.keyEnd) + 1;
    splices.push({ start: colon, end: colon, text: ' []', order: 0, window: windowOf[last] });
  }
  return splices;
}

/**
 * Flow sequence (`[{name: a, …}, {…}]`, as in Ankra's Go CLI's sample): rebuild the text
 * between the first and last item, keeping each kept item and the separator (commas,
 * line breaks, comments) between two kept neighbours as written.
 */
function spliceFlowList(
  src: string,
  ranges: ReadonlyArray<[number, number]> | undefined,
  entries: readonly Entry[],
  edits: readonly EntryEdit[],
): Splice[] | undefined {
  if (ranges === undefined || ranges.length !== entries.length) return undefined;
  const byName = new Map(edits.map((e) => [nameOf(e), e]));
  const names = new Set(entries.map((e) => e.name));

  const parts: string[] = [];
  let previousKept = -1;
  ranges.forEach(([start, end], i) => {
    const edit = byName.get(entries[i]?.name ?? '');
    if (edit?.op === 'remove') return;
    const text = edit?.op === 'put' ? renderFlow(edit.entry) : src.slice(start, end);
    const separator = previousKept === i - 1 && i > 0 ? src.slice(ranges[i - 1]![1], start) : ', ';
    parts.push(parts.length > 0 ? separator + text : text);
    previousKept = i;
  });
  for (const entry of puts(edits).filter((e) => !names.has(e.name))) {
    parts.push((parts.length > 0 ? ', ' : '') + renderFlow(entry));
  }
  return [{ start: ranges[0]![0], end: ranges[ranges.length - 1]![1], text: parts.join(''), order: 0 }];
}

/** `clusters:` / `clusters: null` / `clusters: []` becomes a block sequence of the new entries. */
function spliceIntoEmpty(src: string, pair: PairOutline, value: [number, number], entries: Entry[], layout: Layout): Splice[] | undefined {
  const keyIndent = lineIndent(src, pair.keyStart);
  if (keyIndent === undefined) return undefined;
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
function applySplices(src: string, splices: readonly Splice[], eol: string): string | undefined {
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
// Verifying a splice locally.

/**
 * Whether checking windows is as good as re-parsing the whole text. YAML block structure
 * is local: a window starts where the original expects the next `-` of a list (or the
 * current-context key) and ends where the original's next line continues exactly as before,
 * and a window that parses on its own to the expected entries parses to the same in place.
 * Anchors and aliases (an alias outside a window can name an anchor inside it, or the
 * reverse) and directives (`%TAG` changes what tags in a window mean) are not local:
 * files with either are checked whole.
 */
function localCheckApplies(src: string): boolean {
  return !/(?:^|[\s,[{])&[^\s,[\]{}]/.test(src) && !/^%/m.test(src);
}

/** Each window, spliced and parsed alone, means exactly what it should. */
function verifyWindows(src: string, spliced: Spliced, eol: string): boolean {
  const windows = spliced.windows ?? [];
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  if (sorted.some((w, i) => i > 0 && w.start < sorted[i - 1]!.end)) return false;
  return windows.every((w, at) => {
    const inside = spliced.splices.filter((s) => s.window === at).map((s) => ({ ...s, start: s.start - w.start, end: s.end - w.start }));
    if (inside.some((s) => s.start < 0 || s.end > w.end - w.start)) return false;
    const text = applySplices(src.slice(w.start, w.end), inside, eol);
    if (text === undefined) return false;
    const doc = parseDocument(text, YAML_OPTIONS);
    if (doc.errors.length > 0) return false;
    // a list window whose entries all go must be left with nothing but comments
    if (Array.isArray(w.expected) && w.expected.length === 0) return doc.contents === null;
    try {
      return isDeepStrictEqual(doc.toJS(), w.expected);
    } catch {
      return false;
    }
  });
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
  const { text: src, outline } = parsed;
  for (const kind of KINDS) {
    const pair = outline.pairs.get(kind);
    const seq = pair?.value;
    if (!pair || seq?.type !== 'block-seq' || seq.dashColumn === undefined) continue;
    return { indentSeq: seq.dashColumn > column(src, pair.keyStart), indent: seq.nesting ?? 2 };
  }
  return { indent: 2, indentSeq: false };
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
