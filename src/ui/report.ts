/**
 * The one place a failure becomes what the user sees: one line on stderr (cause, then the
 * next command to run; cleaned of control characters), a stack trace only with --debug, and
 * the exit code. Used by the CLI's runner and by the exec credential plugin. Node built-ins
 * only (the plugin imports it).
 */
import { CancelledError, exitCodeOf, messageOf, type ExitCode } from '../errors';
import { writeStderr } from './stdio';

export interface ReportOptions {
  debug: boolean;
  /** Colour the `ankra:` prefix (stderr is a terminal and colour is on). */
  color?: boolean;
}

export function reportError(err: unknown, opts: ReportOptions): ExitCode {
  const prefix = opts.color ? '\u001b[31mankra:\u001b[39m' : 'ankra:';
  writeStderr(`${prefix} ${messageOf(err)}\n`);
  if (opts.debug && err instanceof Error && err.stack && !(err instanceof CancelledError)) writeStderr(`${err.stack}\n`);
  return exitCodeOf(err);
}
