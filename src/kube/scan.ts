/**
 * A fast reader for kubeconfig files written the way kubectl (and most people) write them,
 * and the outline of a file that edit.ts splices into.
 *
 * Parsing a big kubeconfig with the `yaml` package is most of the cost of a kubeconfig
 * command: on a file of 500 contexts (1.1 MB, mostly certificate-authority-data) its lexer,
 * CST parser and composer take some 400 ms and 100 MB, much of it on the long base64
 * scalars. This reader goes over the text line by line instead (some 20 ms), and accepts
 * only a subset of YAML whose structure is plain from the lines alone:
 *
 *   - block mappings and block sequences (also a sequence at its key's indentation, and
 *     `- key: value` mappings in sequence items), nested by indentation with spaces;
 *   - keys that are plain words (`[A-Za-z_][A-Za-z0-9_./-]*`) directly followed by `:`;
 *   - values on the key's (or the `-`'s) line: a plain scalar, a single- or double-quoted
 *     scalar (double quotes with JSON's escapes but `\u`), `{}`, `[]`, or nothing (null);
 *   - comments and blank lines anywhere.
 *
 * Anything else (tabs, anchors, aliases, tags, block scalars, flow collections with
 * content, multi-line scalars, document markers, directives, a byte order mark, duplicate
 * keys, a bad indentation, control characters, very deep nesting) makes it give up, and
 * the caller parses the file with the `yaml` package instead. What scalars mean is not
 * decided here: the caller resolves plain scalars with the `yaml` package's own YAML 1.1
 * schema (`on` and `no` are booleans there, `e5` a float), so within the subset the data is
 * exactly the `yaml` package's. The tests check the two readers against each other.
 *
 * Imports nothing: the `yaml` package stays with parse.ts and edit.ts.
 */

/** One entry of a block list: the lines from its `-` to its end. */
export interface ItemLines {
  /** Start of the line holding the item's `-`. */
  start: number;
  /** After the item's last line break (or the end of the file). */
  end: number;
  /** The spaces before the `-`. */
  indent: string;
}

/** What a top-level value is, as far as splicing cares. */
export type ValueOutline =
  | {
      type: 'block-seq';
      count: number;
      /** Each entry's lines; undefined when one of them cannot be told apart (an odd layout). */
      items: ItemLines[] | undefined;
      /** The column of the first entry's `-`. */
      dashColumn: number | undefined;
      /** How far the first entry's first nested block mapping is indented from its key. */
      nesting: number | undefined;
    }
  | {
      type: 'flow-seq';
      count: number;
      /** The `[`…`]`. */
      start: number;
      end: number;
      /** Each item's [start, end); undefined when one has no source range. */
      items: Array<[number, number]> | undefined;
    }
  /** A scalar value (null included: `key:` with nothing, `~`, `null`): its source, quotes included. */
  | { type: 'scalar'; start: number; end: number; isNull: boolean }
  | { type: 'other' };

export interface PairOutline {
  keyStart: number;
  keyEnd: number;
  value: ValueOutline;
}

/** Where things are in a kubeconfig's text: what edit.ts needs to splice into it. */
export interface Outline {
  /** 'empty': no content (nothing, or comments only); 'block': a block mapping; 'other': any other top level. */
  top: 'empty' | 'block' | 'other';
  /** The offset of the first top-level key. */
  firstKey: number | undefined;
  /** Where new top-level keys go: after the top-level mapping's last line. */
  end: number;
  /** The top-level pairs with plain string keys, by key. */
  pairs: Map<string, PairOutline>;
}

export interface Scanned {
  /** The file as plain data (`{}` for an empty one), as the `yaml` package's toJS() gives it. */
  plain: Record<string, unknown>;
  outline: Outline;
}

/** What a PlainResolver returns for a scalar it cannot resolve. */
export const UNRESOLVED: unique symbol = Symbol('unresolved');

/**
 * What a plain scalar means in YAML 1.1 (a string, a boolean, a null, a number, a
 * timestamp), as the `yaml` package resolves it; UNRESOLVED when it cannot say.
 */
export type PlainResolver = (text: string) => unknown;

/** The file read with the subset above, or undefined when it is outside it. */
export function scanKubeconfig(src: string, resolvePlain: PlainResolver): Scanned | undefined {
  // characters and lines the subset leaves to the yaml package: tabs, control characters,
  // other line breaks, a byte order mark, a CR without LF, document markers and directives
  if (/[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]|\r(?!\n)|^(?:---|\.\.\.|%)/m.test(src)) return undefined;
  try {
    return new Scanner(src, resolvePlain).run();
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

const GIVE_UP = Symbol('outside the subset');
function giveUp(): never {
  throw GIVE_UP;
}

const MAX_DEPTH = 200;
const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;

function isKeyStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // A-Z a-z _
}

function isKeyChar(c: number): boolean {
  // A-Z a-z 0-9 _ . / -
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 47 || c === 45;
}

/** `&*!|>%@\`,]}#<` as character codes. */
const INDICATORS = [38, 42, 33, 124, 62, 37, 64, 96, 44, 93, 125, 35, 60];

/** After the closing quote: nothing, or spaces and perhaps a comment. */
const AFTER_QUOTE = /^(?: +(?:#.*)?)?$/;

class Scanner {
  /** Per content line (not blank, not a comment): its start, the start of its content, and its end (before the line break). */
  private readonly ls: number[] = [];
  private readonly cs: number[] = [];
  private readonly le: number[] = [];
  private readonly n: number;
  /** Set by map(): the nesting step of the mapping just read (see ValueOutline). */
  private step: number | undefined;
  /** Set by map(), seq() and block(): the first line after the node just read. */
  private next = 0;
  /** Set by inline(): the end of the value's source. */
  private valueEnd = 0;
  /** How many blocks deep the reader is. */
  private depth = 0;
  /** Keys seen so far, all of them strings in YAML 1.1. */
  private readonly keys = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly resolvePlain: PlainResolver,
  ) {
    const len = src.length;
    for (let pos = 0; pos < len; ) {
      const nl = src.indexOf('\n', pos);
      const next = nl === -1 ? len : nl + 1;
      let end = nl === -1 ? len : nl;
      if (end > pos && src.charCodeAt(end - 1) === 13) end--;
      let c = pos;
      while (c < end && src.charCodeAt(c) === SPACE) c++;
      if (c < end && src.charCodeAt(c) !== HASH) {
        this.ls.push(pos);
        this.cs.push(c);
        this.le.push(end);
      }
      pos = next;
    }
    this.n = this.ls.length;
  }

  run(): Scanned {
    const { src, n } = this;
    if (n === 0) return { plain: {}, outline: { top: 'empty', firstKey: undefined, end: src.length, pairs: new Map() } };
    const pairs = new Map<string, PairOutline>();
    const top = this.indent(0);
    if (this.isItem(0)) giveUp();
    const plain = this.map(0, top, this.cs[0]!, pairs);
    if (this.next !== n) giveUp();
    const end = this.entryEnd(n - 1, top + 1);
    return { plain, outline: { top: 'block', firstKey: this.cs[0], end, pairs } };
  }

  private indent(i: number): number {
    return this.cs[i]! - this.ls[i]!;
  }

  /** A `-` followed by a space or the line's end. */
  private isItemAt(p: number, end: number): boolean {
    return this.src.charCodeAt(p) === DASH && (p + 1 === end || this.src.charCodeAt(p + 1) === SPACE);
  }

  private isItem(i: number): boolean {
    return this.isItemAt(this.cs[i]!, this.le[i]!);
  }

  private skipSpaces(p: number, end: number): number {
    while (p < end && this.src.charCodeAt(p) === SPACE) p++;
    return p;
  }

  /** The key at p (a word followed by `:` and a space or the line's end): its end, or -1. */
  private keyEnd(p: number, end: number): number {
    const { src } = this;
    if (!isKeyStart(src.charCodeAt(p))) return -1;
    let q = p + 1;
    while (q < end && isKeyChar(src.charCodeAt(q))) q++;
    if (q === end || src.charCodeAt(q) !== COLON) return -1;
    if (q + 1 < end && src.charCodeAt(q + 1) !== SPACE) return -1;
    return q;
  }

  /** A node starting on line i, indented more than its parent: a sequence or a mapping. Sets `next`. */
  private block(i: number): unknown {
    const indent = this.indent(i);
    // nesting this deep is no kubeconfig (and would exhaust the stack)
    if (++this.depth > MAX_DEPTH) giveUp();
    const value = this.isItem(i) ? this.seq(i, indent) : this.map(i, indent, this.cs[i]!);
    this.depth--;
    return value;
  }

  /**
   * A block mapping at column `indent`, its first key at `first` on line i (after a `- `,
   * or at the line's start). Sets `next` to the next line not in it. Top-level pairs are
   * outlined into `pairs`.
   */
  private map(i: number, indent: number, first: number, pairs?: Map<string, PairOutline>): Record<string, unknown> {
    const { src, n, cs, le } = this;
    const obj: Record<string, unknown> = {};
    let step: number | undefined;
    let p = first;
    for (;;) {
      const end = le[i]!;
      const keyEnd = this.keyEnd(p, end);
      if (keyEnd < 0) giveUp();
      const key = src.slice(p, keyEnd);
      // a key YAML 1.1 reads as anything but that string (`on`, `no`, `null`, `e5`)
      if (key === '__proto__' || Object.hasOwn(obj, key)) giveUp();
      if (!this.keys.has(key)) {
        if (this.resolve(key) !== key) giveUp();
        this.keys.add(key);
      }
      const v = this.skipSpaces(keyEnd + 1, end);
      let value: unknown;
      let next = i + 1;
      let outline: ValueOutline | undefined;
      if (v === end || src.charCodeAt(v) === HASH) {
        const deeper = next < n && this.indent(next) > indent;
        if (deeper || (next < n && this.indent(next) === indent && this.isItem(next))) {
          // a nested block, or a sequence at the key's own indentation
          const isSeq = this.isItem(next);
          const items: number[] | undefined = pairs && isSeq ? [] : undefined;
          value = items ? this.seq(next, this.indent(next), items) : this.block(next);
          next = this.next;
          if (step === undefined && !isSeq) step = this.indent(i + 1) - (p - this.ls[i]!);
          if (pairs) outline = items ? this.listOutline(items) : { type: 'other' };
        } else {
          value = null;
          if (pairs) outline = { type: 'scalar', start: v, end: v, isNull: true };
        }
      } else {
        value = this.inline(v, end);
        if (next < n && this.indent(next) > indent) giveUp(); // a continuation line
        if (pairs) outline = this.inlineOutline(v, value);
      }
      obj[key] = value;
      if (pairs && outline) pairs.set(key, { keyStart: p, keyEnd, value: outline });
      i = next;
      if (i >= n || this.indent(i) < indent) break;
      if (this.indent(i) > indent || this.isItem(i)) giveUp();
      p = cs[i]!;
    }
    this.step = step;
    this.next = i;
    return obj;
  }

  /** A block sequence at column `indent` from line i; `items` collects each entry's `-` offset, next line and content column. Sets `next`. */
  private seq(i: number, indent: number, items?: number[]): unknown[] {
    const { src, n, cs, le } = this;
    const arr: unknown[] = [];
    for (;;) {
      const end = le[i]!;
      const p = this.skipSpaces(cs[i]! + 1, end);
      let value: unknown;
      let next = i + 1;
      let step: number | undefined;
      // the column of the entry's content
      let column = p - this.ls[i]!;
      if (p === end || src.charCodeAt(p) === HASH) {
        if (next < n && this.indent(next) > indent) {
          column = this.indent(next);
          value = this.block(next);
          next = this.next;
          step = this.isItem(i + 1) ? undefined : this.step;
        } else {
          column = indent + 1;
          value = null;
        }
      } else if (this.isItemAt(p, end)) {
        giveUp(); // `- - x`
      } else if (this.keyEnd(p, end) >= 0) {
        value = this.map(i, column, p);
        next = this.next;
        step = this.step;
      } else {
        value = this.inline(p, end);
        if (next < n && this.indent(next) > indent) giveUp();
      }
      if (items) {
        if (arr.length === 0) items.push(step ?? -1);
        items.push(cs[i]!, next, column);
      }
      arr.push(value);
      i = next;
      if (i >= n || this.indent(i) !== indent || !this.isItem(i)) break;
    }
    // a line deeper than the sequence (but not in an entry) is a syntax error
    if (i < n && this.indent(i) > indent) giveUp();
    this.next = i;
    return arr;
  }

  /** The outline of a top-level block list, from seq()'s record: [step, then dash, next line, content column per entry]. */
  private listOutline(record: number[]): ValueOutline {
    const { src } = this;
    const count = (record.length - 1) / 3;
    const items: ItemLines[] = [];
    for (let k = 0; k < count; k++) {
      const dash = record[1 + 3 * k]!;
      const start = src.lastIndexOf('\n', dash - 1) + 1;
      const end = this.entryEnd(record[2 + 3 * k]! - 1, record[3 + 3 * k]!);
      items.push({ start, end, indent: ' '.repeat(dash - start) });
    }
    const step = record[0]!;
    return { type: 'block-seq', count, items, dashColumn: items[0] && items[0].indent.length, nesting: step > 0 ? step : undefined };
  }

  /**
   * Where an entry whose last content line is `last` ends: after that line, and after the
   * comment lines (with the blank lines between them) that follow it at least as deep as
   * its content `column`, up to the first comment line less deep: that one and whatever
   * follows belong with what comes next (a comment about the next entry), as the yaml
   * package sees it.
   */
  private entryEnd(last: number, column: number): number {
    const { src, ls, n } = this;
    const limit = last + 1 < n ? ls[last + 1]! : src.length;
    const nl = src.indexOf('\n', this.le[last]!);
    let end = nl === -1 ? src.length : nl + 1;
    for (let pos = end; pos < limit; ) {
      const lineBreak = src.indexOf('\n', pos);
      const next = lineBreak === -1 ? src.length : lineBreak + 1;
      let c = pos;
      while (src.charCodeAt(c) === SPACE) c++;
      if (src.charCodeAt(c) === HASH) {
        if (c - pos < column) break;
        end = next;
      }
      pos = next;
    }
    return end;
  }

  /** A plain scalar as the yaml package resolves it. */
  private resolve(text: string): unknown {
    const value = this.resolvePlain(text);
    if (value === UNRESOLVED) giveUp();
    return value;
  }

  /** The outline of the value inline() just read at p. */
  private inlineOutline(p: number, value: unknown): ValueOutline {
    if (Array.isArray(value)) return { type: 'flow-seq', count: 0, start: p, end: p + 2, items: [] };
    if (typeof value === 'object' && value !== null) return { type: 'other' };
    return { type: 'scalar', start: p, end: this.valueEnd, isNull: value === null };
  }

  /**
   * A value on its key's (or `-`'s) line, from p to the line's end: a quoted or plain
   * scalar, `[]` or `{}`. Sets `valueEnd` to the end of its source.
   */
  private inline(p: number, end: number): unknown {
    const { src } = this;
    const c = src.charCodeAt(p);
    const raw = src.slice(p, end);
    if (c === 34 || c === 39) {
      // "…" or '…' on this line
      let close = -1;
      for (let j = 1; ; ) {
        const k = raw.indexOf(c === 34 ? '"' : "'", j);
        if (k === -1) giveUp();
        if (c === 39 && raw.charCodeAt(k + 1) === 39) {
          j = k + 2; // '' inside single quotes
          continue;
        }
        if (c === 34) {
          let backslashes = 0;
          while (raw.charCodeAt(k - 1 - backslashes) === 92) backslashes++;
          if (backslashes % 2 === 1) {
            j = k + 1;
            continue;
          }
        }
        close = k;
        break;
      }
      if (close + 1 < raw.length && !AFTER_QUOTE.test(raw.slice(close + 1))) giveUp();
      const body = raw.slice(1, close);
      this.valueEnd = p + close + 1;
      if (c === 39) return body.includes("''") ? body.replaceAll("''", "'") : body;
      if (!body.includes('\\')) return body;
      if (/\\(?!["\\/bfnrt])/.test(body)) giveUp();
      return JSON.parse(`"${body}"`) as string;
    }
    if (c === 91 || c === 123) {
      // [] or {} alone
      if (raw.charCodeAt(1) !== (c === 91 ? 93 : 125) || !AFTER_QUOTE.test(raw.slice(2))) giveUp();
      this.valueEnd = p + 2;
      return c === 91 ? [] : {};
    }
    // indicators (anchors, aliases, tags, block scalars, flow collections, reserved, `<<`), and `- `, `? `, `: `
    if (INDICATORS.includes(c) || ((c === DASH || c === 63 || c === COLON) && (raw.length === 1 || raw.charCodeAt(1) === SPACE))) giveUp();
    // a plain scalar: up to a comment, without trailing spaces
    const hash = raw.indexOf(' #');
    let text = hash === -1 ? raw : raw.slice(0, hash);
    let last = text.length;
    while (last > 0 && text.charCodeAt(last - 1) === SPACE) last--;
    if (last !== text.length) text = text.slice(0, last);
    if (text.includes(': ') || text.charCodeAt(text.length - 1) === COLON) giveUp();
    this.valueEnd = p + text.length;
    return this.resolve(text);
  }
}
