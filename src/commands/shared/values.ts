/**
 * Readers of flag and argument values shared by commands: bad input fails before any
 * request, with one line naming the value and what is allowed (exit 2; the runner adds
 * which flag it was).
 */
import { looksLikeId } from '../../api/types';
import { UsageError } from '../../errors';

const EMAIL = /^[^\s@"<>,;]+@[^\s@"<>,;]+\.[^\s@"<>,;.]+$/;

export function parseEmail(v: string): string {
  if (v.length > 254 || !EMAIL.test(v)) throw new UsageError('expected an email address such as alice@example.com');
  return v;
}

/** Kubernetes namespace names are DNS-1123 labels. */
export function namespaceProblem(v: string): string | undefined {
  if (v.length === 0) return 'it is empty';
  if (v.length > 63) return `it is ${v.length} characters long (at most 63)`;
  if (/[A-Z]/.test(v)) return 'it has upper-case letters (use lower case)';
  if (!/^[a-z0-9-]+$/.test(v)) return 'only a-z, 0-9 and "-" are allowed';
  if (!/^[a-z0-9]/.test(v) || !/[a-z0-9]$/.test(v)) return 'it must start and end with a letter or digit';
  return undefined;
}

export function parseNamespace(v: string): string {
  const problem = namespaceProblem(v);
  if (problem) throw new UsageError(`not a valid namespace: ${problem} (a DNS-1123 label such as team-a)`);
  return v;
}

/** "5m", "90s", "1h30m", "45" (seconds) → ms. */
export function parseDuration(v: string): number {
  const s = v.trim();
  if (/^\d+$/.test(s) && Number(s) > 0) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  if (matched !== s.length || s.length === 0 || total <= 0) throw new UsageError('expected a duration such as 90s, 5m or 1h');
  return total;
}

/** `revoke` takes a grant id or an email. */
export function parseGrantTarget(v: string): string {
  if (looksLikeId(v)) return v;
  if (v.includes('@')) return parseEmail(v);
  throw new UsageError('expected an email address or a grant id (a UUID, see `ankra cluster access list`)');
}
