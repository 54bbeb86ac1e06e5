/**
 * Terminal output: data to stdout (tables, json, yaml, names, jsonpath), everything human
 * to stderr (progress, warnings, errors). Every human line is cleaned of control characters
 * and escape sequences here, so text from a server can never drive the terminal or forge a
 * line, whichever command prints it. On a TTY tables are aligned, coloured and fitted to the
 * terminal's width; piped, they are full tab-separated rows with RFC 3339 times, for `cut`
 * and `awk`. json/yaml print exactly the objects a command returned.
 */
import { writeStderr, writeStdout, stderrColumns, stderrIsTTY, stdinIsTTY, stdoutColumns, stdoutIsTTY } from './stdio';
import { CancelledError, UsageError, oneLine } from '../errors';
import { importPackage } from '../core/esm';

export type Format = 'table' | 'wide' | 'json' | 'yaml' | 'name' | `jsonpath=${string}`;
export const FORMAT_NAMES = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath=TEMPLATE'] as const;

/** `-o` as given → a format; a usage error names the choices. */
export function parseFormat(raw: string): Format {
  if (raw === 'table' || raw === 'wide' || raw === 'json' || raw === 'yaml' || raw === 'name') return raw;
  if (raw.startsWith('jsonpath=') && raw.length > 'jsonpath='.length) return raw as Format;
  throw new UsageError(`unknown output format ${JSON.stringify(raw)}: choose table, wide, json, yaml, name or jsonpath=TEMPLATE`, {
    hint: 'e.g. -o jsonpath=\'{range .[*]}{.user_email}{"\\n"}{end}\'',
  });
}

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan';
const SGR: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  style?: (row: T) => Style | undefined;
  /** Only with `-o wide` (and in piped output, which is always complete). */
  wide?: boolean;
  /** Free text that may be cut with … to fit the terminal (the widest such column first). */
  flex?: boolean;
  /** A time: shown as an age on a terminal, as RFC 3339 when piped. */
  time?: (row: T) => string | null | undefined;
}

/** How a command's result is shown in each format. */
export interface View<T> {
  columns: Column<T>[];
  /** `-o name`: one line per row, e.g. the grant id. */
  name?: (row: T) => string;
  /** Said on stderr when a table would be empty. */
  empty?: string;
}

export interface OutputOptions {
  format?: Format;
  /** false with --no-color or NO_COLOR; colour is used only on a TTY anyway. */
  color?: boolean;
  debug?: boolean;
  /** false with --no-headers. */
  headers?: boolean;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
  /** For tests: the terminal's width. */
  columns?: number;
  now?: () => number;
}

export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

function visibleWidth(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

/** Cut to `width` characters, ending in … when cut. */
function fit(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  return width <= 1 ? '…'.slice(0, width) : `${chars.slice(0, width - 1).join('')}…`;
}

/** "42s", "5m", "3h", "12d": like kubectl's AGE column. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export class Output {
  readonly format: Format;
  readonly debugEnabled: boolean;
  private readonly headers: boolean;
  private readonly stdoutTTY: boolean;
  private readonly stderrTTY: boolean;
  private readonly colorOut: boolean;
  private readonly colorErr: boolean;
  private readonly columnsOverride: number | undefined;
  private readonly now: () => number;

  constructor(opts: OutputOptions = {}) {
    this.format = opts.format ?? 'table';
    this.debugEnabled = opts.debug ?? false;
    this.headers = opts.headers ?? true;
    this.stdoutTTY = opts.stdoutTTY ?? stdoutIsTTY();
    this.stderrTTY = opts.stderrTTY ?? stderrIsTTY();
    const color = opts.color ?? true;
    this.colorOut = color && this.stdoutTTY;
    this.colorErr = color && this.stderrTTY;
    this.columnsOverride = opts.columns;
    this.now = opts.now ?? Date.now;
  }

  /** A person can answer a question: stdin and stderr are terminals. */
  get interactive(): boolean {
    return this.stderrTTY && stdinIsTTY();
  }

  get isTTY(): boolean {
    return this.stdoutTTY;
  }

  get stderrIsTTY(): boolean {
    return this.stderrTTY;
  }

  /** Data formats print objects; the table formats print rows. */
  get machine(): boolean {
    return this.format !== 'table' && this.format !== 'wide';
  }

  paint(text: string, style: Style | undefined, stream: 'out' | 'err' = 'out'): string {
    const on = stream === 'out' ? this.colorOut : this.colorErr;
    if (!on || !style) return text;
    const [a, b] = SGR[style];
    return `\u001b[${a}m${text}\u001b[${b}m`;
  }

  /** Text we generated (a script, a kubeconfig), to stdout as it is. */
  printRaw(text: string): void {
    writeStdout(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A human line to stdout (a report's body), cleaned. */
  print(text: string): void {
    writeStdout(`${text.split('\n').map(clean).join('\n')}\n`);
  }

  /**
   * A command's result in the chosen format. `value` is what -o json|yaml print; tables,
   * names and jsonpath render it through `view`.
   */
  async data<T>(value: T | T[], view: View<T> | undefined): Promise<void> {
    const f = this.format;
    if (f === 'json') return writeStdout(`${JSON.stringify(value, null, 2)}\n`);
    if (f === 'yaml') {
      const { stringify } = await import('../formats/yaml');
      return writeStdout(stringify(value));
    }
    if (f.startsWith('jsonpath=')) {
      const { renderJsonPath } = await import('./jsonpath');
      return writeStdout(renderJsonPath(f.slice('jsonpath='.length), value));
    }
    const rows = Array.isArray(value) ? value : [value];
    if (f === 'name') {
      const name = view?.name;
      if (!name) throw new UsageError('-o name is not available for this command', { hint: 'use -o json or -o jsonpath=…' });
      for (const r of rows) writeStdout(`${clean(name(r))}\n`);
      return;
    }
    if (!view) {
      for (const r of rows) writeStdout(`${clean(typeof r === 'string' ? r : JSON.stringify(r))}\n`);
      return;
    }
    if (rows.length === 0) {
      if (view.empty) this.info(view.empty);
      return;
    }
    this.table(rows, view.columns);
  }

  /** Only the objects, for -o json|yaml|jsonpath: commands whose table form is their stderr lines. */
  async result<T>(value: T, name?: (v: T) => string): Promise<void> {
    if (this.machine) await this.data(value, name ? { columns: [], name } : undefined);
  }

  table<T>(rows: T[], all: Column<T>[]): void {
    const wide = this.format === 'wide' || !this.stdoutTTY;
    const columns = all.filter((c) => wide || !c.wide);
    // Cells carry server text: one clean line each, so a newline in a name cannot forge a row.
    const cell = (c: Column<T>, r: T): string => {
      if (c.time) {
        const t = c.time(r);
        return this.stdoutTTY ? age(t, this.now()) : (t ?? '-');
      }
      return clean(c.value(r));
    };
    const cells = rows.map((r) => columns.map((c) => cell(c, r)));
    if (!this.stdoutTTY) {
      // Piped output is for scripts: every column, no header, tab-separated.
      writeStdout(cells.map((line) => `${line.join('\t')}\n`).join(''));
      return;
    }
    const widths = columns.map((c, i) => Math.max(this.headers ? visibleWidth(c.header) : 0, ...cells.map((line) => visibleWidth(line[i] ?? ''))));
    this.fitToTerminal(columns, widths);
    const pad = (s: string, i: number) => {
      const cut = fit(s, widths[i] ?? 0);
      return i === columns.length - 1 ? cut : cut + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleWidth(cut)));
    };
    let text = '';
    if (this.headers) text += `${columns.map((c, i) => this.paint(pad(c.header.toUpperCase(), i), 'bold')).join('  ').trimEnd()}\n`;
    rows.forEach((r, n) => {
      const line = columns.map((c, i) => this.paint(pad(cells[n]?.[i] ?? '', i), c.style?.(r))).join('  ');
      text += `${line.trimEnd()}\n`;
    });
    writeStdout(text);
  }

  /** Shrink the widest flexible column (then the next) until the row fits the terminal. */
  private fitToTerminal<T>(columns: Column<T>[], widths: number[]): void {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
    const max = this.columnsOverride ?? stdoutColumns();
    if (!max || total() <= max) return;
    const flex = columns.map((c, i) => (c.flex ? i : -1)).filter((i) => i >= 0);
    const floor = 8;
    while (total() > max) {
      const widest = flex.filter((i) => (widths[i] ?? 0) > floor).sort((a, b) => (widths[b] ?? 0) - (widths[a] ?? 0))[0];
      if (widest === undefined) return;
      const w = widths[widest] ?? 0;
      const second = Math.max(floor, ...flex.filter((i) => i !== widest).map((i) => widths[i] ?? 0));
      // Down to the next widest (so equally wide columns take turns), never below the floor;
      // every turn takes at least one column, so the loop ends.
      const to = Math.max(floor, second, w - (total() - max));
      widths[widest] = to < w ? to : w - 1;
    }
  }

  /** A human line on stderr. */
  info(text: string): void {
    writeStderr(`${clean(text)}\n`);
  }

  /** A success line on stderr: marked with ✓ on a terminal only. */
  success(text: string): void {
    writeStderr(this.stderrTTY ? `${this.paint('✓', 'green', 'err')} ${clean(text)}\n` : `${clean(text)}\n`);
  }

  warn(text: string): void {
    writeStderr(`${this.paint('warning:', 'yellow', 'err')} ${clean(text)}\n`);
  }

  error(text: string): void {
    writeStderr(`${this.paint('ankra:', 'red', 'err')} ${clean(text)}\n`);
  }

  debug(text: string): void {
    if (this.debugEnabled) writeStderr(`${this.paint('debug:', 'dim', 'err')} ${clean(text)}\n`);
  }

  /** A ✓ / ✗ / - line of a report (doctor), to stdout. */
  check(status: 'ok' | 'fail' | 'skip', text: string): void {
    const mark = this.stdoutTTY ? `${status === 'ok' ? this.paint('✓', 'green') : status === 'fail' ? this.paint('✗', 'red') : this.paint('-', 'dim')} ` : `${status === 'ok' ? 'ok' : status === 'fail' ? 'FAIL' : 'skip'}  `;
    writeStdout(`${mark}${status === 'skip' ? this.paint(clean(text), 'dim') : clean(text)}\n`);
  }

  /**
   * Progress for something slow: an ora spinner on a TTY; plain lines otherwise, when the
   * state changes and at most every `heartbeatMs` otherwise (a CI log shows it is alive
   * without being flooded). `ttyOnly`: a counter, shown on a terminal only.
   */
  async progress(text: string, opts: { heartbeatMs?: number; ttyOnly?: boolean } = {}): Promise<Progress> {
    // A terminal that reports no width (a pty nobody sized, e.g. `script` in CI) sends ora
    // into an endless clear-line loop: plain lines there.
    if (this.stderrTTY && (stderrColumns() ?? 0) > 0) {
      const { startSpinner } = await import('./spinner');
      const s = startSpinner(clean(text), this.colorErr, { ok: this.paint('✓', 'green', 'err'), fail: this.paint('✗', 'red', 'err') });
      return { update: (t) => s.update(clean(t)), succeed: (t) => s.succeed(clean(t)), fail: (t) => s.fail(clean(t)), stop: () => s.stop() };
    }
    if (opts.ttyOnly) return { update: () => undefined, succeed: (t) => writeStderr(`${clean(t)}\n`), fail: (t) => writeStderr(`${clean(t)}\n`), stop: () => undefined };
    const heartbeat = opts.heartbeatMs ?? 30_000;
    let last = clean(text);
    let lastAt = this.now();
    writeStderr(`${last}\n`);
    return {
      update: (t) => {
        const c = clean(t);
        if (c !== last || this.now() - lastAt >= heartbeat) {
          writeStderr(`${c}\n`);
          last = c;
          lastAt = this.now();
        }
      },
      succeed: (t) => writeStderr(`${clean(t)}\n`),
      fail: (t) => writeStderr(`${clean(t)}\n`),
      stop: () => undefined,
    };
  }

  /**
   * A QR code of `text` on stderr, for a phone to scan: only on a terminal wide and tall
   * enough to show it whole (never in pipes, logs or CI).
   */
  async qrCode(text: string): Promise<void> {
    if (!this.stderrTTY) return;
    const { renderUnicodeCompact } = await import('uqr');
    const qr = renderUnicodeCompact(text, { border: 1 });
    const lines = qr.split('\n');
    const width = Math.max(...lines.map((l) => [...l].length));
    if ((stderrColumns() ?? 0) < width || (process.stderr.rows ?? 0) < lines.length + 6) return;
    writeStderr(`${qr}\n`);
  }

  /** Ask a yes/no question on the terminal. Callers check `interactive` first. */
  async confirm(question: string): Promise<boolean> {
    const { createInterface } = await importPackage<typeof import('node:readline/promises')>('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    rl.on('SIGINT', onSigint);
    try {
      const answer = await rl.question(`${clean(question)} [y/N] `, { signal: ac.signal });
      return /^y(es)?$/i.test(answer.trim());
    } catch {
      writeStderr('\n');
      throw new CancelledError('cancelled');
    } finally {
      rl.close();
    }
  }
}

/** A line for the terminal: text from elsewhere cannot carry escapes or break the line. */
/** One clean line; the leading spaces of our own indented lines (a list under a heading) are kept. */
function clean(s: string): string {
  const indent = /^ */.exec(s)?.[0] ?? '';
  return indent + oneLine(s);
}
