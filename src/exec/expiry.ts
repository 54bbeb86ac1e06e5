/**
 * The expiry of a minted token, read strictly and kept within a sane window, so kubectl is
 * never handed a timestamp it cannot parse, nor a token ankra believes is already dead.
 */

/** The longest lifetime believed; Ankra's tokens live minutes. Later expiries are clamped. */
export const MAX_LIFETIME_MS = 24 * 3600_000;
/** A token must have at least this long left to be worth handing to kubectl. */
export const MIN_LIFETIME_MS = 1_000;

const RFC3339 = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/;

/**
 * Milliseconds since the epoch of an RFC 3339 date-time; a value without a zone is UTC (the
 * API contract says so; JavaScript's Date.parse would read it as local time). Extended
 * six-digit years are read too (and then clamped by `saneExpiry`). undefined when unreadable.
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1) return undefined; // 31 February and such
  let ms = date.setUTCHours(hour, minute, Math.min(second, 59), frac ? Math.floor(Number(`0${frac}`) * 1000) : 0);
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    ms -= sign * offset;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

export type SaneExpiry = { ms: number; clamped: boolean } | { problem: string };

/**
 * The expiry to use for a token that expires at `expiresMs` on the local clock: refused when
 * it is in the past (or within MIN_LIFETIME_MS), clamped to MAX_LIFETIME_MS ahead when
 * further (a date kubectl can always parse, and a token re-checked at least daily).
 */
export function saneExpiry(expiresMs: number | undefined, nowMs: number): SaneExpiry {
  if (expiresMs === undefined || !Number.isFinite(expiresMs)) return { problem: 'an expiry ankra cannot read' };
  if (expiresMs - nowMs < MIN_LIFETIME_MS) return { problem: 'an expiry in the past (check this machine\'s clock)' };
  if (expiresMs - nowMs > MAX_LIFETIME_MS) return { ms: nowMs + MAX_LIFETIME_MS, clamped: true };
  return { ms: expiresMs, clamped: false };
}
