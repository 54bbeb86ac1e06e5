/**
 * `-o jsonpath=TEMPLATE`: kubectl's JSONPath templates over the same objects `-o json`
 * prints (a list command prints a JSON array: `{.[*].user_email}`, or
 * `{range .[*]}{.id}{"\t"}{.role}{"\n"}{end}`). Supported: `.field`, `['field']`, `..field`,
 * `[n]`, `[-1]`, `[a:b]`, `[*]`, `.*`, filters `[?(@.field == "x")]` with == != < > <= >=
 * (and `[?(@.field)]` for "has it"), `{range …}…{end}`, string literals with \n \t, `@`, `$`.
 * A missing field prints nothing, as kubectl's default does.
 */
import { UsageError } from '../errors';

type Seg =
  | { k: 'field'; name: string; deep: boolean }
  | { k: 'all'; deep: boolean }
  | { k: 'index'; i: number }
  | { k: 'slice'; from?: number; to?: number }
  | { k: 'filter'; path: Seg[]; op?: string; value?: unknown };

type Node = { k: 'text'; text: string } | { k: 'path'; root: '@' | '$'; segs: Seg[] } | { k: 'range'; root: '@' | '$'; segs: Seg[]; body: Node[] };

function bad(template: string, why: string): UsageError {
  return new UsageError(`invalid jsonpath template ${JSON.stringify(template)}: ${why}`, { hint: 'e.g. -o jsonpath=\'{range .[*]}{.user_email}{"\\n"}{end}\'' });
}

/** Splits the template into text and {actions}, braces inside quotes included. */
function actions(template: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  let text = '';
  while (i < template.length) {
    const ch = template[i] as string;
    if (ch !== '{') {
      text += ch;
      i++;
      continue;
    }
    if (text) out.push({ text });
    text = '';
    let j = i + 1;
    let quote: string | undefined;
    for (; j < template.length; j++) {
      const c = template[j];
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '}') break;
    }
    if (j >= template.length) throw bad(template, 'a { is never closed');
    out.push({ action: template.slice(i + 1, j).trim() });
    i = j + 1;
  }
  if (text) out.push({ text });
  return out;
}

function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

function literal(s: string): unknown {
  const t = s.trim();
  if (/^(["']).*\1$/.test(t)) return unquote(t);
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  throw new Error(`cannot read the value ${t}`);
}

/** `.a..b[0]['c'][?(@.x=="y")]` → segments. */
function parsePath(expr: string): { root: '@' | '$'; segs: Seg[] } {
  let i = 0;
  let root: '@' | '$' = '@';
  if (expr[0] === '$' || expr[0] === '@') {
    root = expr[0];
    i = 1;
  }
  const segs: Seg[] = [];
  while (i < expr.length) {
    if (expr.startsWith('..', i) || expr[i] === '.') {
      const deep = expr.startsWith('..', i);
      i += deep ? 2 : 1;
      if (expr[i] === '*') {
        segs.push({ k: 'all', deep });
        i++;
        continue;
      }
      if (expr[i] === '[' || i >= expr.length) continue;
      const m = /^[^.[\]\s]+/.exec(expr.slice(i));
      if (!m) throw new Error(`a field name is missing at ${JSON.stringify(expr.slice(i))}`);
      segs.push({ k: 'field', name: m[0], deep });
      i += m[0].length;
    } else if (expr[i] === '[') {
      const end = matching(expr, i);
      const inner = expr.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') segs.push({ k: 'all', deep: false });
      else if (/^(["']).*\1$/.test(inner)) segs.push({ k: 'field', name: unquote(inner), deep: false });
      else if (/^-?\d+$/.test(inner)) segs.push({ k: 'index', i: Number(inner) });
      else if (/^-?\d*:-?\d*$/.test(inner)) {
        const [a, b] = inner.split(':');
        segs.push({ k: 'slice', from: a ? Number(a) : undefined, to: b ? Number(b) : undefined });
      } else if (inner.startsWith('?(') && inner.endsWith(')')) segs.push(filter(inner.slice(2, -1)));
      else throw new Error(`cannot read [${inner}]`);
    } else throw new Error(`unexpected ${JSON.stringify(expr.slice(i))}`);
  }
  return { root, segs };
}

function matching(s: string, open: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    const c = s[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return j;
  }
  throw new Error('a [ is never closed');
}

function filter(body: string): Seg {
  const m = /^(@[^=!<>]*?)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(body.trim());
  if (!m) {
    const p = parsePath(body.trim());
    if (p.root !== '@') throw new Error('a filter starts with @');
    return { k: 'filter', path: p.segs };
  }
  return { k: 'filter', path: parsePath(m[1] as string).segs, op: m[2], value: literal(m[3] as string) };
}

function parse(template: string): Node[] {
  const stack: Node[][] = [[]];
  const ranges: Extract<Node, { k: 'range' }>[] = [];
  for (const a of actions(template)) {
    const top = stack[stack.length - 1] as Node[];
    if ('text' in a) {
      top.push({ k: 'text', text: a.text });
      continue;
    }
    const act = a.action;
    try {
      if (act === 'end') {
        if (!ranges.pop()) throw new Error('{end} without {range}');
        stack.pop();
      } else if (act.startsWith('range ')) {
        const node: Extract<Node, { k: 'range' }> = { k: 'range', ...parsePath(act.slice(6).trim()), body: [] };
        top.push(node);
        ranges.push(node);
        stack.push(node.body);
      } else if (/^(["']).*\1$/s.test(act)) top.push({ k: 'text', text: unquote(act) });
      else top.push({ k: 'path', ...parsePath(act) });
    } catch (err) {
      throw bad(template, (err as Error).message);
    }
  }
  if (ranges.length) throw bad(template, '{range} without {end}');
  return stack[0] as Node[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  return isObj(v) ? Object.values(v) : [];
}

function descendants(v: unknown): unknown[] {
  const out: unknown[] = [v];
  for (const c of children(v)) out.push(...descendants(c));
  return out;
}

function walk(nodes: unknown[], segs: Seg[]): unknown[] {
  let cur = nodes;
  for (const s of segs) {
    const next: unknown[] = [];
    for (const n of cur) {
      const pool = 'deep' in s && s.deep ? descendants(n) : [n];
      for (const v of pool) {
        if (s.k === 'field') {
          if (isObj(v) && !Array.isArray(v) && s.name in v) next.push(v[s.name]);
        } else if (s.k === 'all') next.push(...children(v));
        else if (s.k === 'index') {
          if (Array.isArray(v)) {
            const at = s.i < 0 ? v.length + s.i : s.i;
            if (at >= 0 && at < v.length) next.push(v[at]);
          }
        } else if (s.k === 'slice') {
          if (Array.isArray(v)) next.push(...v.slice(s.from, s.to));
        } else if (s.k === 'filter') {
          for (const item of Array.isArray(v) ? v : [v]) if (matches(item, s)) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function matches(item: unknown, f: Extract<Seg, { k: 'filter' }>): boolean {
  const [got] = walk([item], f.path);
  if (f.op === undefined) return got !== undefined && got !== null && got !== false;
  const want = f.value;
  switch (f.op) {
    case '==':
      return got === want;
    case '!=':
      return got !== want;
    default: {
      if (typeof got !== typeof want || (typeof got !== 'number' && typeof got !== 'string')) return false;
      const a = got as number | string;
      const b = want as number | string;
      return f.op === '<' ? a < b : f.op === '>' ? a > b : f.op === '<=' ? a <= b : a >= b;
    }
  }
}

// Values are data: they may not drive a terminal (escapes, C0/C1 controls but \t and \n).
// eslint-disable-next-line no-control-regex
const CONTROL = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function show(v: unknown): string {
  // A null field (an API answer's "reconcile_error": null) prints nothing, like a missing one.
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(CONTROL, '');
}

function render(nodes: Node[], current: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.k === 'text') out += n.text;
    else if (n.k === 'path') out += walk([n.root === '$' ? root : current], n.segs).map(show).join(' ');
    else for (const item of walk([n.root === '$' ? root : current], n.segs)) out += render(n.body, item, root);
  }
  return out;
}

/** The text, exactly as the template says (like kubectl, no newline is added). */
export function renderJsonPath(template: string, data: unknown): string {
  return render(parse(template), data, data);
}
