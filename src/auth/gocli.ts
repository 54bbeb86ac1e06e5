/**
 * Read-only access to the login of Ankra's Go CLI, `~/.ankra.yaml` (written by viper: a flat
 * mapping with `token`, `base-url`, …). Only two top-level scalars are needed, on the exec
 * plugin's hot path too, so this reads them with a line scanner instead of loading a YAML
 * parser (28 ms of start-up). Anything it cannot read confidently is treated as absent.
 * Node built-ins only.
 */
import { readFileSync } from 'node:fs';

export interface GoCliLogin {
  token?: string;
  baseUrl?: string;
  tokenId?: string;
  tokenName?: string;
}

function scalar(text: string, key: string): string | undefined {
  const re = new RegExp(`^${key.replace(/[-]/g, '\\-')}[ \\t]*:[ \\t]*(.*?)[ \\t]*$`, 'm');
  const m = re.exec(text);
  if (!m) return undefined;
  let v = (m[1] ?? '').replace(/[ \t]+#.*$/, '');
  if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
  return v === '' || v === '~' || v === 'null' ? undefined : v;
}

export function readGoCliLogin(path: string): GoCliLogin | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const token = scalar(text, 'token');
  const baseUrl = scalar(text, 'base-url');
  if (!token && !baseUrl) return undefined;
  return { token, baseUrl, tokenId: scalar(text, 'token_id'), tokenName: scalar(text, 'token_name') };
}

/**
 * The machine id the Go CLI saved (`machine_id`, 32 hex), which it reuses for every login:
 * ankra sends the same one, so the platform sees one machine, whichever CLI logs in.
 */
export function readGoCliMachineId(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const id = scalar(text, 'machine_id');
  return id && /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}
