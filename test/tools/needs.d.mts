// Types for needs.mjs (the project type-checks TypeScript only).
export declare const IN_CI: boolean;
export declare function onPath(cmd: string, path?: string): string | undefined;
export interface Need {
  /** The programs that are not on PATH. */
  readonly missing: string[];
  /** True when the tests should be skipped: something is missing, outside CI. */
  readonly skip: boolean;
  /** Throws the "what to install" line when something is missing (in CI: always run). */
  assert(): void;
}
export declare function need(what: string, programs: string[], install: string): Need;
