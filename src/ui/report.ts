/**
 * The one place a failure becomes what the user sees: one line on stderr (cause, then the
 * next command to run; cleaned of control characters), a stack trace only with --debug, and
 * the exit code. Used by the CLI's runner and by the exec credential plugin. Node built-ins
 * only (the plugin imports it).
 */
import { CancelledError, exitCodeOf, messageOf, oneLine, type ExitCode } from '../errors';
import { writeStderr } from './stdio';

export interface ReportOptions {
  debug: boolean;
  /** Colour the `ankra:` prefix (stderr is a terminal and colour is on). */
  color?: boolean;
}

export function reportError(err: unknown, opts: ReportOptions): ExitCode {
  reportMessage(messageOf(err), opts);
  if (opts.debug && err instanceof Error && err.stack && !(err instanceof CancelledError)) writeStderr(`${err.stack}\n`);
  return exitCodeOf(err);
}

/**
 * The line of a failure known only by its message: the exec plugin replaying one it
 * remembered (`cache/token-cache.ts`) for the next calls of the same kubectl command.
 */
export function reportMessage(message: string, opts: Pick<ReportOptions, 'color'> = {}): void {
  const prefix = opts.color ? '\u001b[31mankra:\u001b[39m' : 'ankra:';
  writeStderr(`${prefix} ${oneLine(message)}\n`);
}
