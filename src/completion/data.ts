/**
 * `ankra __complete cluster|member|context`: the candidates the completion scripts ask
 * for, one per line, from local files only (the last listings, the saved default clusters):
 * TAB never waits on the network. Never fails: nothing to offer prints nothing. Node
 * built-ins only, so TAB costs little more than starting Node.
 */
import { resolvePaths } from '../core/paths';
import { readConfig } from '../core/config';
import { writeStdout } from '../ui/stdio';
import { COMPLETION_TTL_MS, readCompletionCache } from './cache';

// A name a terminal or a completion list cannot show as one plain word is not offered.
// eslint-disable-next-line no-control-regex
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function candidates(what: string, env: NodeJS.ProcessEnv, now = Date.now()): string[] {
  const paths = resolvePaths(env);
  const names: string[] = [];
  if (what === 'cluster') {
    for (const server of Object.values(readConfig(paths.configDir).servers)) {
      for (const ref of Object.values(server?.clusters ?? {})) if (typeof ref?.name === 'string') names.push(ref.name);
    }
  }
  const key = what === 'cluster' ? 'clusters' : what === 'member' ? 'members' : what === 'context' ? 'contexts' : undefined;
  if (key) {
    for (const entry of Object.values(readCompletionCache(paths.cacheDir).entries)) {
      if (now - Number(entry.at) > COMPLETION_TTL_MS) continue;
      const list = entry[key];
      if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') names.push(n);
    }
  }
  return [...new Set(names)].filter((n) => n !== '' && !UNSHOWABLE.test(n));
}

export async function complete(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const list = candidates(args[0] ?? '', env);
    if (list.length) writeStdout(`${list.join('\n')}\n`);
  } catch {
    // completion never fails loudly
  }
  return 0;
}
