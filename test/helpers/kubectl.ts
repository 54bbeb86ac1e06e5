/**
 * The real kubectl for end-to-end tests. It is part of the machine image; in CI its absence
 * is a failure, elsewhere the kubectl tests are skipped.
 */
import { execFile } from 'node:child_process';
import { runProgram, type RunResult } from './cli';

export const HAS_KUBECTL = await new Promise<boolean>((resolve) => execFile('kubectl', ['version', '--client'], (err) => resolve(!err)));
export const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false';
/** For `describe.skipIf(SKIP_KUBECTL)`; in CI a missing kubectl fails in `assertKubectl`. */
export const SKIP_KUBECTL = !HAS_KUBECTL && !IN_CI;

export function assertKubectl(): void {
  if (!HAS_KUBECTL) throw new Error('kubectl must be on PATH (it is part of the machine image) for these tests');
}

/** kubectl with the given environment (HOME decides its discovery cache). */
export function kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runProgram('kubectl', args, { env, timeoutMs: 60_000 });
}
