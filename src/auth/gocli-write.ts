/**
 * Logging out of Ankra's Go CLI's login: blank the keys its own `logout` blanks (token,
 * base-url, token_id, token_name, machine_id) in `~/.ankra.yaml`, keep every other key, the
 * file's mode and owner. Written atomically.
 */
import { readFileSync, statSync } from 'node:fs';
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
  const { parseDocument } = await import('../formats/yaml');
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || doc.contents === null) return;
  for (const key of GO_CLI_LOGOUT_KEYS) doc.set(key, '');
  writeFileAtomic(path, doc.toString({ lineWidth: 0 }), mode & 0o077 ? 0o600 : mode);
}
