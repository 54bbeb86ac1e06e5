/**
 * The raw writers. Every byte ankra prints goes through this module or `output.ts`
 * (a lint step enforces it). Node built-ins only: the exec-credential fast path uses it.
 */
import { fstatSync, writeSync } from 'node:fs';

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      // A non-blocking pipe that is full: try again; a closed pipe: give up quietly.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return;
    }
  }
}

/** Synchronous, so nothing is lost when the process exits right after. */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

export function writeStderr(text: string): void {
  writeAll(2, text);
}

/**
 * Whether fd is possibly a terminal: a terminal is a character device. Asked first because
 * `process.stdout` and friends load the stream (or tty and net) modules when first touched,
 * which a command writing to a pipe or a file never needs.
 */
function charDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

export function stdoutIsTTY(): boolean {
  return charDevice(1) && process.stdout.isTTY === true;
}

export function stderrIsTTY(): boolean {
  return charDevice(2) && process.stderr.isTTY === true;
}

export function stdinIsTTY(): boolean {
  return charDevice(0) && process.stdin.isTTY === true;
}

/** The terminal's width, when stdout is one. */
export function stdoutColumns(): number | undefined {
  return stdoutIsTTY() ? process.stdout.columns : undefined;
}

export function stderrColumns(): number | undefined {
  return stderrIsTTY() ? process.stderr.columns : undefined;
}
