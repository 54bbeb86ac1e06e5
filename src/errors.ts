/**
 * Typed errors that carry their exit code. Commands throw these; `exitCodeOf` and
 * `messageOf` turn any thrown value into the process exit and a one-line message in
 * exactly one place (the CLI's top level and the exec plugin's miss path).
 *
 * This module is imported by the exec-credential fast path: node built-ins only.
 */

/** One mapping of outcomes to exit codes, shared with Ankra's Go CLI. */
export const Exit = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CANCELLED: 4,
  TIMEOUT: 5,
  AUTH: 6,
  PERMISSION: 7,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export interface ErrorOptions {
  /** The next command to run, e.g. "run `ankra login`". Printed after the cause. */
  hint?: string;
  cause?: unknown;
}

export class AnkraError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: ExitCode = Exit.FAILURE, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = opts.hint;
  }
}

/** Bad flags or arguments: nothing was sent. */
export class UsageError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.USAGE, opts);
  }
}

export class NotFoundError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.NOT_FOUND, opts);
  }
}

export class CancelledError extends AnkraError {
  constructor(message = 'cancelled', opts?: ErrorOptions) {
    super(message, Exit.CANCELLED, opts);
  }
}

export class WaitTimeoutError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.TIMEOUT, opts);
  }
}

/** Missing, expired or rejected credentials; also "you have no grant on this cluster". */
export class AuthError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.AUTH, opts);
  }
}

/** The caller has no grant on the cluster (exit 6, like other authentication failures). */
export class NoGrantError extends AuthError {}

/** Platform RBAC said no (e.g. not an organisation admin). */
export class PermissionError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.PERMISSION, opts);
  }
}

/** A non-2xx answer from the Ankra API that maps to no more specific class. */
export class ApiError extends AnkraError {
  readonly status: number;
  constructor(message: string, status: number, opts?: ErrorOptions, exitCode: ExitCode = Exit.FAILURE) {
    super(message, exitCode, opts);
    this.status = status;
  }
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof AnkraError ? err.exitCode : Exit.FAILURE;
}

/**
 * The one line printed for an error: cause, then the next step. Never a stack. Messages
 * carry text from servers (details, reconcile errors, names), so the line is cleaned.
 */
export function messageOf(err: unknown): string {
  if (err instanceof AnkraError) {
    return oneLine(err.hint ? `${err.message}; ${err.hint}` : err.message);
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return oneLine(code ? `${err.message} (${code})` : err.message);
  }
  return oneLine(String(err));
}

// Terminal escape sequences (CSI, OSC with either terminator, other ESC pairs) and C0/C1
// control characters: text from elsewhere must not clear the screen, move the cursor,
// fake colours or hyperlinks, or forge extra lines.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text from elsewhere as one clean line: no escapes or control characters, no line breaks. */
export function oneLine(s: string): string {
  return s
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(ESCAPES, '')
    .replace(/\t/g, ' ')
    .trim();
}
