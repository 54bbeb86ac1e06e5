/**
 * Logging out of Ankra's Go CLI's login: blank the keys its own `logout` blanks (token,
 * base-url, token_id, token_name, machine_id) in `~/.ankra.yaml`, and leave every other
 * byte of the file as it was (its comments, indentation and other keys), with its mode.
 * The values are replaced in the text; the result is checked by parsing it again (the
 * blanked keys empty, every other value the same), and otherwise re-rendered. Written
 * atomically.
 */
import { readFileSync, statSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../core/fsutil';

export const GO_CLI_LOGOUT_KEYS = ['token', 'base-url', 'token_id', 'token_name', 'machine_id'] as const;

export async function blankGoCliLogin(path: string): Promise<void> {
  let text: string;
  let mode = 0o600;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode & 0o777;
  } catch {
    return;
  }
  const { parseDocument, isMap, isScalar } = await import('../formats/yaml');
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return;

  // Each key's value, replaced where it is in the text (from the end, so offsets hold).
  const edits: Array<{ from: number; to: number; put: string }> = [];
  const missing: string[] = [];
  for (const key of GO_CLI_LOGOUT_KEYS) {
    const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (!pair) missing.push(key);
    else if (isScalar(pair.value) && pair.value.range) {
      const [from, to] = pair.value.range;
      // an empty value (`token:`) right after its colon needs the space YAML wants
      edits.push({ from, to, put: text[from - 1] === ':' ? ' ""' : '""' });
    }
    else if (pair.value === null && isScalar(pair.key) && pair.key.range) {
      const colon = text.indexOf(':', pair.key.range[1]);
      if (colon >= 0) edits.push({ from: colon + 1, to: colon + 1, put: ' ""' });
    } else missing.push(key); // a non-scalar value: let the re-render below handle it
  }
  let spliced = text;
  for (const e of edits.sort((a, b) => b.from - a.from)) spliced = spliced.slice(0, e.from) + e.put + spliced.slice(e.to);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (missing.length) spliced += `${spliced.endsWith('\n') || spliced === '' ? '' : eol}${missing.map((k) => `${k}: ""`).join(eol)}${eol}`;

  const want = { ...(doc.toJS() as Record<string, unknown>), ...Object.fromEntries(GO_CLI_LOGOUT_KEYS.map((k) => [k, ''])) };
  const check = parseDocument(spliced);
  const out = check.errors.length === 0 && isDeepStrictEqual(check.toJS(), want) ? spliced : rendered(doc);
  writeFileAtomic(path, out, mode & 0o077 ? 0o600 : mode);

  function rendered(d: typeof doc): string {
    for (const key of GO_CLI_LOGOUT_KEYS) d.set(key, '');
    return d.toString({ lineWidth: 0 });
  }
}
