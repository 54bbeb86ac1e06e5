/**
 * Every documented failure of the Ankra API as one typed error, with its exit code and the
 * next command to run (the contract's "Exit codes" table): 401 and 403s other than
 * `permission_denied` are authentication (6), `permission_denied` is permission (7), 404s are
 * not found (3) unless they mean Cluster Access is off, 409 conflicts, 422 usage (2), 429 rate
 * limited. Server text in messages is cleaned by the reporter.
 */
import { retryAfterMs } from '../core/time';
import {
  AccessUnavailableError,
  AdminOnlyError,
  AnkraError,
  ApiError,
  AuthError,
  ConflictError,
  CredentialRejectedError,
  NoGrantError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  UsageError,
  ValidationError,
  oneLine,
  shellWord,
} from '../errors';
import type { HttpResponse } from '../net/transport';
import { DETAIL, type ErrorBody } from './types';

/** What an answer needs from the transport to be described. */
export type Answer = Pick<HttpResponse, 'status' | 'headers' | 'text' | 'attempts' | 'url' | 'method'>;

/** What a request was about, so errors can name it. */
export interface About {
  /** The cluster's name (or id), for messages. */
  cluster?: string;
  /** e.g. "list grants" */
  action?: string;
  /** The caller's email, for the grant line an admin would run. */
  email?: string;
  /** What to tell the user when the credential is rejected. */
  rejectedHint?: string;
  /** The call needs an organisation admin (managing grants): any 403 but "no grant" says so. */
  adminOnly?: boolean;
}

export function bodyOf(res: Pick<Answer, 'text'>): ErrorBody | undefined {
  try {
    const b: unknown = JSON.parse(res.text);
    return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as ErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

export function detailOf(res: Pick<Answer, 'text'>): string | undefined {
  const d = bodyOf(res)?.detail;
  return typeof d === 'string' ? oneLine(d).slice(0, 300) : undefined;
}

export function toError(res: Answer, about: About): AnkraError {
  const detail = detailOf(res);
  const body = bodyOf(res);
  const cluster = about.cluster;
  const doing = about.action ? `cannot ${about.action}` : 'request failed';
  const origin = new URL(res.url).origin;
  switch (res.status) {
    case 400:
      return new UsageError(`${doing}: ${detail ?? 'bad request'}`);
    case 401:
      return new CredentialRejectedError(`the Ankra API at ${origin} rejected your credentials (${detail ?? 'unauthorized'})`, {
        hint: about.rejectedHint ?? 'run `ankra login`',
      });
    case 403:
      if (detail === DETAIL.permissionDenied) {
        const perm = typeof body?.permission === 'string' ? ` (${oneLine(body.permission)})` : '';
        return new PermissionError(`${doing}: permission denied${perm}; this needs an organisation admin`, {
          hint: 'ask an admin of the organisation, or pick another organisation with --org',
        });
      }
      if (detail === DETAIL.noAccess) return noGrant(cluster ?? 'this cluster', about.email);
      if (about.adminOnly) {
        return new AdminOnlyError(`${doing}: ${detail ?? 'forbidden'}; this needs an organisation admin`, detail, {
          hint: 'ask an admin of the organisation, or pick another organisation with --org',
        });
      }
      return new AuthError(`${doing}: ${detail ?? 'forbidden'}`, { hint: 'check --org (`ankra org list`), or ask an organisation admin' });
    case 404:
      if (detail === DETAIL.clusterNotFound) {
        return clusterNotFound(cluster ?? '?');
      }
      if (cluster !== undefined && detail !== undefined && /not (enabled|available)|gateway/i.test(detail)) return accessOff();
      return new NotFoundError(`${doing}: ${detail ?? 'not found'}`);
    case 409:
      if (/sandbox/i.test(detail ?? '')) return sandbox(cluster ?? 'this cluster');
      return new ConflictError(`${doing}: ${detail ?? 'conflict'}`, 409);
    case 410:
      return new AnkraError(`${doing}: ${detail ?? 'gone'}`);
    case 422:
      if (/sandbox/i.test(detail ?? '')) return sandbox(cluster ?? 'this cluster');
      return new ValidationError(`${doing}: ${validationMessage(body) ?? detail ?? 'invalid request'}`, validationFields(body));
    case 426:
      return new AnkraError(`${doing}: the Ankra platform needs a newer ankra${detail ? ` (${detail})` : ''}`, undefined, {
        hint: 'upgrade ankra (npm install -g ankra@latest), then try again',
      });
    case 429: {
      const after = retryAfterMs(res.headers['retry-after']);
      const when = after === undefined ? 'later' : `in ${Math.ceil(after / 1000)} s`;
      return new RateLimitedError(`${doing}: rate limited by the Ankra API`, after, { hint: `try again ${when}` });
    }
    default: {
      const tries = res.attempts > 1 ? ` after ${res.attempts} attempts` : '';
      return new ApiError(`${doing}: the Ankra API answered ${res.status}${detail ? ` (${detail})` : ''}${tries}`, res.status, {
        hint: 'try again later; --debug shows each request',
      });
    }
  }
}

/** The one "cluster X not found" (by name or id: from a lookup, or the API's 404). */
export function clusterNotFound(given: string): NotFoundError {
  return new NotFoundError(`cluster ${JSON.stringify(given)} not found in this organisation`, {
    hint: 'run `ankra cluster list` (and check --org)',
  });
}

/** "You have no grant", with the command an admin would run. */
export function noGrant(cluster: string, email: string | undefined): NoGrantError {
  const who = email ? shellWord(email) : 'YOUR-EMAIL';
  return new NoGrantError(`you have no access grant on cluster ${cluster} (none yet, or it was revoked)`, {
    hint: `ask an organisation admin to grant it: \`ankra cluster access grant ${who} --cluster ${shellWord(cluster)}\``,
  });
}

export function accessOff(): AccessUnavailableError {
  return new AccessUnavailableError('Cluster Access is not enabled for this cluster or Ankra deployment', 'gateway-off', {
    hint: 'ask your Ankra administrator to enable the access gateway',
  });
}

export function sandbox(cluster: string): AccessUnavailableError {
  return new AccessUnavailableError(`Cluster Access is not available for sandbox clusters (${cluster} is one)`, 'sandbox', {
    hint: 'use a non-sandbox cluster',
  });
}

/** FastAPI's 422 list → "role: value is not a valid role; namespace: …". */
/** The fields a 422 names (`loc` without its leading "body"). */
function validationFields(body: ErrorBody | undefined): string[] {
  if (!Array.isArray(body?.detail)) return [];
  return body.detail.filter((i) => typeof i === 'object' && i !== null && Array.isArray(i.loc)).map((i) => (i.loc as unknown[]).filter((p) => p !== 'body').join('.'));
}

function validationMessage(body: ErrorBody | undefined): string | undefined {
  if (!Array.isArray(body?.detail)) return undefined;
  const parts = body.detail
    .filter((i) => typeof i === 'object' && i !== null && typeof i.msg === 'string')
    .map((i) => {
      const loc = Array.isArray(i.loc) ? i.loc.filter((p) => p !== 'body').join('.') : '';
      return oneLine(loc ? `${loc}: ${i.msg}` : i.msg);
    });
  return parts.length ? parts.join('; ') : undefined;
}
