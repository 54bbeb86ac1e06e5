/**
 * How a command is declared: one object per leaf command, in the file at the command's path
 * (`commands/cluster/access/grant.ts` is `ankra cluster access grant`). It names its
 * arguments and flags once; the type of the options its `run` receives is derived from them,
 * so a misspelt option does not compile. `cli/program.ts` turns the list of these into the
 * commander tree. Nothing here imports commander: command files stay cheap to load.
 */
import type { Deps } from '../deps';

/** How a flag or argument value is read; throws `UsageError` for a bad value. */
export type Parse<T> = (raw: string) => T;

interface FlagBase {
  description: string;
  /** A one-letter alias, e.g. '-y'. */
  short?: string;
  hidden?: boolean;
}

/** `--wait`: true when given. */
export interface BoolFlag extends FlagBase {
  kind: 'bool';
}

/** `--role <role>`: a value, parsed; `fallback` when not given. */
export interface ValueFlag<T> extends FlagBase {
  kind: 'value';
  /** The placeholder in help, e.g. 'cluster' for `--cluster <cluster>`. */
  value: string;
  parse: Parse<T>;
  fallback?: T;
  /** How the fallback is shown in help ("5m"), when not the raw value. */
  fallbackText?: string;
  /** Listed in help and offered by completion; anything else is refused. */
  choices?: readonly string[];
  /** Offered by completion, not enforced (e.g. `jsonpath=` beside the fixed formats). */
  suggests?: readonly string[];
  /** What shell completion offers: cluster names, member emails, kubectl contexts, files. */
  completes?: Completes;
}

export type Flag = BoolFlag | ValueFlag<unknown>;

export type Completes = 'cluster' | 'member' | 'context' | 'file';

export interface ArgSpec<T> {
  name: string;
  description: string;
  required: boolean;
  /** Takes every remaining word (the value is then the list of them). */
  variadic?: boolean;
  parse: Parse<T>;
  choices?: readonly string[];
  completes?: Completes;
}

type FlagValue<F> = F extends BoolFlag ? boolean : F extends ValueFlag<infer T> ? (F extends { fallback: T } ? T : T | undefined) : never;
type ArgValue<A> = A extends ArgSpec<infer T> ? (A extends { required: true } ? T : T | undefined) : never;

/** The options `run` receives: every flag and argument by its key. */
export type OptionsOf<F extends Record<string, Flag>, A extends Record<string, ArgSpec<unknown>>> = { [K in keyof F]: FlagValue<F[K]> } & {
  [K in keyof A]: ArgValue<A[K]>;
};

export interface CommandSpec<F extends Record<string, Flag> = Record<string, Flag>, A extends Record<string, ArgSpec<unknown>> = Record<string, ArgSpec<unknown>>> {
  /** Words from the root: ['cluster', 'access', 'grant']. */
  path: readonly string[];
  aliases?: readonly (readonly string[])[];
  summary: string;
  /** More text after the summary in `--help`. */
  details?: string;
  /** Positional arguments, in order. */
  args: A;
  flags: F;
  /** Each a command line, without the `$ `. */
  examples: readonly string[];
  hidden?: boolean;
  /**
   * Checks across options that one flag or argument cannot express (e.g. "not both"); runs
   * before anything is sent. Throw `UsageError`.
   */
  check?(opts: OptionsOf<F, A>): void;
  run(opts: OptionsOf<F, A>, deps: Deps): Promise<number>;
}

/** Declares a command; the identity function, there for the types. */
export function defineCommand<const F extends Record<string, Flag>, const A extends Record<string, ArgSpec<unknown>>>(spec: CommandSpec<F, A>): CommandSpec<F, A> {
  return spec;
}

/** A group (`ankra cluster access`): no action of its own, help lists its commands. */
export interface GroupSpec {
  path: readonly string[];
  summary: string;
  examples: readonly string[];
}

// ------------------------------------------------------------------ builders

type ValueExtra<T> = Partial<Omit<ValueFlag<T>, 'kind' | 'value' | 'description' | 'parse'>>;

export const flag = {
  bool(description: string, extra: Partial<Omit<BoolFlag, 'kind' | 'description'>> = {}): BoolFlag {
    return { kind: 'bool', description, ...extra };
  },
  /** `extra.fallback` given: the option is never undefined. */
  string<const E extends ValueExtra<string> = Record<never, never>>(value: string, description: string, extra?: E): ValueFlag<string> & E {
    return { kind: 'value', value, description, parse: (s: string) => s, ...(extra as E) };
  },
  parsed<T, const E extends ValueExtra<T> = Record<never, never>>(value: string, description: string, parse: Parse<T>, extra?: E): ValueFlag<T> & E {
    return { kind: 'value', value, description, parse, ...(extra as E) };
  },
};

type ArgExtra<T> = { parse?: Parse<T>; choices?: readonly string[]; completes?: Completes };

export const arg = {
  required<T = string>(name: string, description: string, extra: ArgExtra<T> = {}): ArgSpec<NoInfer<T>> & { required: true } {
    return { name, description, parse: extra.parse ?? ((s) => s as T), ...extra, required: true } as ArgSpec<T> & { required: true };
  },
  optional<T = string>(name: string, description: string, extra: ArgExtra<T> = {}): ArgSpec<NoInfer<T>> & { required: false } {
    return { name, description, parse: extra.parse ?? ((s) => s as T), ...extra, required: false } as ArgSpec<T> & { required: false };
  },
  /** Every remaining word, e.g. `ankra help cluster access grant`. */
  rest(name: string, description: string): ArgSpec<string[]> & { required: true } {
    return { name, description, parse: (s: string) => [s], variadic: true, required: true };
  },
};

/** `--exec-command` for the key `execCommand`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

// ------------------------------------------------------------------ the tree, as commands see it

/** One command of the tree, described for help topics, completion scripts and the man page. */
export interface TreeNode {
  /** Words from the root: [] for `ankra`. */
  path: string[];
  summary: string;
  hidden: boolean;
  /** Visible subcommands. */
  subcommands: Array<{ name: string; summary: string }>;
  /** The command's own flags and the global ones, as typed: `--output`, `-o`. */
  flags: Array<{ names: string[]; description: string; value?: { choices?: readonly string[]; completes?: Completes } }>;

  args: Array<{ name: string; required: boolean; description: string; choices?: readonly string[]; completes?: Completes }>;
  examples: readonly string[];
}

/** The command tree, for commands that describe it (help, completion, man page). */
export interface CommandTree {
  /** The help text of the command at `path`, or undefined when there is none. */
  help(path: readonly string[]): string | undefined;
  nodes(): TreeNode[];
}
