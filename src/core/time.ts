/** Times as the API and people write them. Node built-ins only. */

/**
 * Milliseconds since the epoch of an RFC 3339 time; a value without a zone is read as UTC
 * (the contract says so; JavaScript would read it as local time). NaN when unreadable.
 */
export function parseTime(s: string): number {
  const t = s.trim();
  const zoned = /(?:[zZ]|[+-]\d\d:?\d\d)$/.test(t) || !/\d{2}:\d{2}/.test(t);
  return Date.parse(zoned ? t : `${t}Z`);
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
