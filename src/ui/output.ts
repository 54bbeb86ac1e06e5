/**
 * Terminal output: data to stdout (tables, json, yaml), everything human to stderr
 * (progress, warnings, errors). On a TTY tables are aligned and coloured; piped, they are
 * tab-separated rows without colour or header, for `cut` and `awk`. json/yaml print
 * exactly the objects a command returned.
 */
import { writeStderr, writeStdout, stderrIsTTY, stdinIsTTY, stdoutIsTTY } from './stdio';
import { CancelledError, oneLine } from '../errors';

export type Format = 'table' | 'json' | 'yaml';
export const FORMATS: readonly Format[] = ['table', 'json', 'yaml'];

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
}

export interface OutputOptions {
  format?: Format;
  /** false with --no-color or NO_COLOR; colour is used only on a TTY anyway. */
  color?: boolean;
  debug?: boolean;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
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

export class Output {
  readonly format: Format;
  readonly debugEnabled: boolean;
  private readonly stdoutTTY: boolean;
  private readonly stderrTTY: boolean;
  private readonly colorOut: boolean;
  private readonly colorErr: boolean;

  constructor(opts: OutputOptions = {}) {
    this.format = opts.format ?? 'table';
    this.debugEnabled = opts.debug ?? false;
    this.stdoutTTY = opts.stdoutTTY ?? stdoutIsTTY();
    this.stderrTTY = opts.stderrTTY ?? stderrIsTTY();
    const color = opts.color ?? true;
    this.colorOut = color && this.stdoutTTY;
    this.colorErr = color && this.stderrTTY;
  }

  get interactive(): boolean {
    return this.stderrTTY && stdinIsTTY();
  }

  get isTTY(): boolean {
    return this.stdoutTTY;
  }

  paint(text: string, style: Style | undefined, stream: 'out' | 'err' = 'out'): string {
    const on = stream === 'out' ? this.colorOut : this.colorErr;
    if (!on || !style) return text;
    const [a, b] = SGR[style];
    return `\u001b[${a}m${text}\u001b[${b}m`;
  }

  /** Raw text to stdout (a line break is added). */
  print(text: string): void {
    writeStdout(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Machine-readable data in the chosen format; `columns` renders the table form. */
  async data<T>(value: T | T[], columns: Column<T>[] | undefined, opts: { empty?: string } = {}): Promise<void> {
    if (this.format === 'json') {
      writeStdout(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    if (this.format === 'yaml') {
      const { stringify } = await import('yaml');
      writeStdout(stringify(value, { lineWidth: 0 }));
      return;
    }
    const rows = Array.isArray(value) ? value : [value];
    if (!columns) {
      for (const r of rows) writeStdout(`${typeof r === 'string' ? r : JSON.stringify(r)}\n`);
      return;
    }
    if (rows.length === 0) {
      if (opts.empty) this.info(opts.empty);
      return;
    }
    this.table(rows, columns);
  }

  table<T>(rows: T[], columns: Column<T>[]): void {
    // Cells carry server text: one clean line each, so a newline in a name cannot forge a row.
    const cells = rows.map((r) => columns.map((c) => oneLine(c.value(r))));
    if (!this.stdoutTTY) {
      for (const line of cells) writeStdout(`${line.join('\t')}\n`);
      return;
    }
    const widths = columns.map((c, i) => Math.max(visibleWidth(c.header), ...cells.map((line) => visibleWidth(line[i] ?? ''))));
    const pad = (s: string, i: number) => (i === columns.length - 1 ? s : s + ' '.repeat((widths[i] ?? 0) - visibleWidth(s)));
    const header = columns.map((c, i) => this.paint(pad(c.header.toUpperCase(), i), 'bold')).join('  ');
    let text = `${header.trimEnd()}\n`;
    rows.forEach((r, n) => {
      const line = columns.map((c, i) => this.paint(pad(cells[n]?.[i] ?? '', i), c.style?.(r))).join('  ');
      text += `${line.trimEnd()}\n`;
    });
    writeStdout(text);
  }

  /** A human line on stderr. */
  info(text: string): void {
    writeStderr(`${text}\n`);
  }

  /** A success line on stderr, marked on a TTY. */
  success(text: string): void {
    writeStderr(`${this.paint('✓', 'green', 'err')} ${text}\n`);
  }

  warn(text: string): void {
    writeStderr(`${this.paint('warning:', 'yellow', 'err')} ${text}\n`);
  }

  error(text: string): void {
    writeStderr(`${this.paint('ankra:', 'red', 'err')} ${text}\n`);
  }

  debug(text: string): void {
    if (this.debugEnabled) writeStderr(`${this.paint('debug:', 'dim', 'err')} ${text}\n`);
  }

  /**
   * Progress for something slow: an ora spinner on a TTY, plain lines otherwise (only
   * when the text changes, so a log is not flooded).
   */
  async progress(text: string): Promise<Progress> {
    // A terminal that reports no width (a pty nobody sized, e.g. `script` in CI) sends ora
    // into an endless clear-line loop: plain lines there.
    if (this.stderrTTY && (process.stderr.columns ?? 0) > 0) {
      const { default: ora } = await import('ora');
      const spinner = ora({ text, stream: process.stderr, color: this.colorErr ? 'cyan' : false, isEnabled: true, discardStdin: false }).start();
      return {
        update: (t) => {
          spinner.text = t;
        },
        succeed: (t) => {
          spinner.succeed(t);
        },
        fail: (t) => {
          spinner.fail(t);
        },
        stop: () => {
          spinner.stop();
        },
      };
    }
    let last = text;
    writeStderr(`${text}\n`);
    return {
      update: (t) => {
        if (t !== last) writeStderr(`${t}\n`);
        last = t;
      },
      succeed: (t) => writeStderr(`${t}\n`),
      fail: (t) => writeStderr(`${t}\n`),
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
    if ((process.stderr.columns ?? 0) < width || (process.stderr.rows ?? 0) < lines.length + 6) return;
    writeStderr(`${qr}\n`);
  }

  /** Ask a yes/no question on the terminal. Callers check `interactive` first. */
  async confirm(question: string): Promise<boolean> {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    rl.on('SIGINT', onSigint);
    try {
      const answer = await rl.question(`${question} [y/N] `, { signal: ac.signal });
      return /^y(es)?$/i.test(answer.trim());
    } catch {
      writeStderr('\n');
      throw new CancelledError('cancelled');
    } finally {
      rl.close();
    }
  }
}
