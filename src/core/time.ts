/** Times as the API and people write them, and the one sleep. Node built-ins only. */
import { CancelledError } from '../errors';

/**
 * Waits `ms`. With a signal (ankra's Ctrl-C, a deadline), stops early when it aborts and
 * rejects with `CancelledError`, also when it was aborted already.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Milliseconds since the epoch of an RFC 3339 time; a value without a zone is read as UTC
 * (the contract says so; JavaScript would read it as local time). NaN when unreadable.
 */
export function parseTime(s: string): number {
  const t = s.trim();
  const zoned = /(?:[zZ]|[+-]\d\d:?\d\d)$/.test(t) || !/\d{2}:\d{2}/.test(t);
  return Date.parse(zoned ? t : `${t}Z`);
}

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

/** Seconds (or an HTTP date) from Retry-After, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** "2026-12-24" for people; '' when unreadable. */
export function day(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : '';
}

/** "in 12 days", "in 5 hours", "in 3 minutes", "2 days ago". */
export function relative(ms: number, now: number): string {
  const d = ms - now;
  const abs = Math.abs(d);
  const [n, unit] =
    abs >= 2 * 86_400_000 ? [Math.round(abs / 86_400_000), 'day'] : abs >= 2 * 3_600_000 ? [Math.round(abs / 3_600_000), 'hour'] : [Math.max(1, Math.round(abs / 60_000)), 'minute'];
  const words = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return d >= 0 ? `in ${words}` : `${words} ago`;
}

/** "5m", "90s": how people pass durations. */
export function seconds(ms: number): string {
  return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}
