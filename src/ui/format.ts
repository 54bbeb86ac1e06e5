/** Small formatters shared by the tables. */
import type { Style } from './output';

/** "42s", "5m", "3h", "12d": like kubectl's AGE column. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function statusStyle(status: string): Style | undefined {
  switch (status) {
    case 'applied':
      return 'green';
    case 'pending':
      return 'yellow';
    case 'failed':
      return 'red';
    case 'cluster_offline':
      return 'magenta';
    default:
      return undefined;
  }
}
