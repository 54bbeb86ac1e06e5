/**
 * The expiry of a minted token, read strictly and kept within a sane window, so kubectl is
 * never handed a timestamp it cannot parse, nor a token ankra believes is already dead.
 */

/** The longest lifetime believed; Ankra's tokens live minutes. Later expiries are clamped. */
export const MAX_LIFETIME_MS = 24 * 3600_000;
/** A token must have at least this long left to be worth handing to kubectl. */
export const MIN_LIFETIME_MS = 1_000;

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
