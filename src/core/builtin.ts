/**
 * Node built-ins only some commands use, loaded on first use. dist/cli/cli.cjs holds every
 * command, so a built-in imported at the top of any of them (child_process, net, crypto)
 * would be loaded by all, `--help` and TAB completion included: ~4 ms together.
 *
 *   const childProcess = builtin<typeof import('node:child_process')>('node:child_process');
 *   childProcess().spawn(…);
 */
import { createRequire } from 'node:module';

export function builtin<T>(name: `node:${string}`): () => T {
  let mod: T | undefined;
  // Any absolute path will do as the base: built-ins resolve the same from everywhere.
  return () => (mod ??= createRequire(process.execPath)(name) as T);
}
