/**
 * What the kubeconfig's exec entry should run: plain `ankra` when `ankra` on PATH is this
 * very program (so the entry survives upgrades and moves), else this program's absolute
 * path, so kubectl never runs some other ankra.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { findOnPath } from '../core/fsutil';

function realpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

export function execCommand(env: NodeJS.ProcessEnv, self: string | undefined = process.argv[1]): string {
  const me = self ? realpath(resolve(self)) : undefined;
  const onPath = findOnPath('ankra', env);
  if (me && onPath && realpath(onPath) === me) return 'ankra';
  return me ?? 'ankra';
}
