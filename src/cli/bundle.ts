/**
 * The entry of `dist/cli/cli.cjs`, everything but the exec plugin's cache hit: the CLI's
 * runner, and the plugin's slow path (a cache miss) and its detached token check, which
 * `src/main.ts` requires from here.
 */
export { main } from './run';
export { runPlugin } from '../exec/mint';
export { runCheck } from '../exec/check';
