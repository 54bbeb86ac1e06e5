/**
 * Checks answers at the API boundary: a field ankra relies on that is missing or of the
 * wrong type becomes one `MalformedAnswerError` naming the request and the field, never a
 * JavaScript error later. Fields only shown to people (a cluster's state, say) are tolerated
 * when wrong: they are dropped from the object, as if absent. Unknown fields pass through.
 */
import { MalformedAnswerError } from '../errors';

export type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

export interface Shape {
  /** Must be present and of this kind. */
  required?: Record<string, Kind>;
  /** May be absent or null; of another kind it is dropped. */
  optional?: Record<string, Kind>;
}

function kindOf(v: unknown): Kind | 'null' | 'undefined' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'undefined';
}

const article = (k: string) => (/^[aeiou]/.test(k) ? `an ${k}` : `a ${k}`);

export class Checker {
  constructor(readonly request: string) {}

  fail(path: string, problem: string): never {
    throw new MalformedAnswerError(this.request, path ? `${path} ${problem}` : problem);
  }

  object(v: unknown, path: string, shape: Shape = {}): Record<string, unknown> {
    if (kindOf(v) !== 'object') this.fail(path || 'the answer', `is ${describe(v)}, not an object`);
    const o = v as Record<string, unknown>;
    let out = o;
    for (const [key, kind] of Object.entries(shape.required ?? {})) {
      const k = kindOf(o[key]);
      if (k === 'undefined' || k === 'null') this.fail(join(path, key), 'is missing');
      if (k !== kind) this.fail(join(path, key), `is ${describe(o[key])}, not ${article(kind)}`);
    }
    for (const [key, kind] of Object.entries(shape.optional ?? {})) {
      const k = kindOf(o[key]);
      if (k === 'undefined' || k === 'null' || k === kind) continue;
      if (out === o) out = { ...o };
      delete out[key];
    }
    return out;
  }

  list(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path || 'the answer', `is ${describe(v)}, not a list`);
    return v;
  }

  /** A string field that must be one of `allowed`. */
  oneOf<T extends string>(o: Record<string, unknown>, path: string, key: string, allowed: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(join(path, key), `is ${describe(v)}, not one of ${allowed.join(', ')}`);
    }
    return v as T;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  const k = kindOf(v);
  if (k === 'undefined') return 'missing';
  if (k === 'null') return 'null';
  if (k === 'string') return `the string ${JSON.stringify(String(v).slice(0, 40))}`;
  if (k === 'number' || k === 'boolean') return `${article(k)} (${String(v)})`;
  return article(k);
}
