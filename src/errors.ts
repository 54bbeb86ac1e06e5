/**
 * Typed errors that carry their exit code and the next command to run. Commands throw
 * these; `ui/report.ts` turns any thrown value into one line on stderr and the process exit,
 * in one place (the CLI's runner and the exec plugin both use it). Decisions are made on the
 * class of an error, never on its message.
 *
 * Node built-ins only: the exec-credential plugin imports this module.
 */

/** One mapping of outcomes to exit codes, shared with Ankra's Go CLI (`cmd/exitcodes.go`). */
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

/** `--wait` ran out of time, or what it waits for cannot happen now (an offline cluster). */
export class WaitTimeoutError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.TIMEOUT, opts);
  }
}

/** A 422 of the API: the request's fields it refused (`user_email`, `namespace`…), from FastAPI's `loc`. */
export class ValidationError extends UsageError {
  constructor(
    message: string,
    readonly fields: readonly string[],
    opts?: ErrorOptions,
  ) {
    super(message, opts);
  }
}

/** Missing, expired or rejected credentials; also "you have no grant on this cluster". */
export class AuthError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.AUTH, opts);
  }
}

/** 401: the server refused the credential itself (expired, revoked or unknown). */
export class CredentialRejectedError extends AuthError {}

/** The caller has no grant on the cluster (exit 6, like other authentication failures). */
export class NoGrantError extends AuthError {}

/**
 * A 403 on a call that needs an organisation admin (managing grants), whose body is not
 * `permission_denied` (the contract leaves a member's 403 body open): exit 6, as Ankra's Go
 * CLI maps every other 403, with the cause a member needs to read.
 */
export class AdminOnlyError extends AuthError {
  constructor(
    message: string,
    /** What the API said (its `detail`), for a caller that words the message its own way. */
    readonly detail: string | undefined,
    opts?: ErrorOptions,
  ) {
    super(message, opts);
  }
}

/** Platform RBAC said no: `{"detail":"permission_denied"}` (e.g. not an organisation admin). */
export class PermissionError extends AnkraError {
  constructor(message: string, opts?: ErrorOptions) {
    super(message, Exit.PERMISSION, opts);
  }
}

/** A non-2xx answer of the Ankra API that no more specific class describes; `status` is the real one. */
export class ApiError extends AnkraError {
  constructor(
    message: string,
    readonly status: number,
    opts?: ErrorOptions,
  ) {
    super(message, Exit.FAILURE, opts);
  }
}

/** 409: the thing exists already, or conflicts with what exists. */
export class ConflictError extends ApiError {}

/** 429: the per-user rate limit; `retryAfterMs` from Retry-After when the server sent one. */
export class RateLimitedError extends ApiError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    opts?: ErrorOptions,
  ) {
    super(message, 429, opts);
  }
}

/** Cluster Access is not available here: the deployment has no access gateway, or the cluster is a sandbox. */
export class AccessUnavailableError extends AnkraError {
  constructor(
    message: string,
    readonly reason: 'gateway-off' | 'sandbox',
    opts?: ErrorOptions,
  ) {
    super(message, Exit.FAILURE, opts);
  }
}

/** A 2xx answer whose body is not what the contract says (not JSON, a missing or wrong-typed field). */
export class MalformedAnswerError extends AnkraError {
  constructor(
    /** e.g. "GET /api/v1/clusters" */
    readonly request: string,
    /** e.g. "result[3].state is a number, not a string" */
    readonly problem: string,
  ) {
    super(`the Ankra API sent a malformed answer to ${request}: ${problem}`, Exit.FAILURE, {
      hint: 'try again; if it persists, run with --debug and report it',
    });
  }
}

/** No answer at all: DNS, connection, TLS or a timeout. */
export class NetworkError extends AnkraError {
  constructor(
    message: string,
    /** A certificate problem: retrying cannot help. */
    readonly tls: boolean,
    opts?: ErrorOptions,
  ) {
    super(message, Exit.FAILURE, opts);
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
// fake colours or hyperlinks, or forge extra lines. Unicode line and paragraph separators
// and the bidirectional controls count too (they reorder what a terminal shows).
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text from elsewhere as one clean line: no escapes or control characters, no line breaks. */
export function oneLine(s: string): string {
  return s
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(ESCAPES, '')
    .replace(/\t/g, ' ')
    .trim();
}

/**
 * A word as the shell reads it, for copy-paste hints: as it is when it is plain, else in
 * single quotes, so a hint never carries a live `$(…)`, backtick or glob. A word with
 * characters a terminal would act on (escapes, line breaks, bidi controls) is written in
 * ANSI-C quotes (`$'…\x1b…'`, bash and zsh): the hint shows only printable text and still
 * names the exact word.
 */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9@%+=:,./_-]+$/.test(s)) return s;
  ESCAPES.lastIndex = 0;
  const unsafe = /[\r\n\t]/.test(s) || ESCAPES.test(s);
  ESCAPES.lastIndex = 0;
  if (!unsafe) return `'${s.replace(/'/g, `'\\''`)}'`;
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    // \xNN is one byte to the shell, in any locale (\uNNNN depends on it): a character
    // beyond ASCII (a C1 control, a bidi override) goes as its UTF-8 bytes
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f) || (ch !== ' ' && oneLine(ch) !== ch)) {
      for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  return `$'${out}'`;
}

// The CLI bundle is minified without esbuild's keepNames (which costs every start ~2 ms of
// `name` bookkeeping for ~450 functions): the error classes get their names back here, for
// `--debug` stack traces. An object's keys survive minification.
for (const [name, cls] of Object.entries({
  AnkraError,
  UsageError,
  NotFoundError,
  CancelledError,
  WaitTimeoutError,
  ValidationError,
  AuthError,
  CredentialRejectedError,
  NoGrantError,
  AdminOnlyError,
  PermissionError,
  ApiError,
  ConflictError,
  RateLimitedError,
  AccessUnavailableError,
  MalformedAnswerError,
  NetworkError,
})) {
  Object.defineProperty(cls, 'name', { value: name });
}
