/**
 * The commander tree, built from the command list (`commands/index.ts`): the only owner of
 * commander. Commander collects raw strings only; every value is read by the command's own
 * parsers (`cli/spec.ts`) so a bad value is reported in ankra's words, and the options a
 * command's `run` receives are typed by its declaration.
 */
import { Argument, Command, Option } from 'commander';
import { UsageError } from '../errors';
import { GLOBAL_FLAGS } from './globals';
import { flagName, type ArgSpec, type CommandSpec, type CommandTree, type Flag, type GroupSpec, type TreeNode } from './spec';

/** What the runner does with a parsed command: its spec, typed options, and the raw global flags. */
export type Invoke = (spec: CommandSpec, opts: Record<string, unknown>, globals: Record<string, unknown>) => Promise<void>;

const POINTER = 'Global options (--org, --output, --base-url, …): `ankra help options`.';

export function describeFlag(key: string, f: Flag): string {
  const choices = f.kind === 'value' && f.choices ? ` (${f.choices.join(', ')})` : '';
  const fallback = f.kind === 'value' && f.fallback !== undefined ? ` (default: ${f.fallbackText ?? String(f.fallback)})` : '';
  void key;
  return `${f.description}${choices}${fallback}`;
}

function optionFor(key: string, f: Flag): Option {
  const long = flagName(key);
  const flags = `${f.short ? `${f.short}, ` : ''}${long}${f.kind === 'value' ? ` <${f.value}>` : ''}`;
  const o = new Option(flags, describeFlag(key, f));
  if (f.hidden) o.hideHelp();
  return o;
}

function examplesText(lines: readonly string[]): string {
  return lines.length ? `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n` : '';
}

/** Finds or creates the command at `path` under `root`. */
function at(root: Command, path: readonly string[]): Command {
  let cmd = root;
  for (const word of path) {
    const next = cmd.commands.find((c) => c.name() === word);
    cmd = next ?? cmd.command(word);
  }
  return cmd;
}

/** The value of every flag and argument of `spec`, read from what commander collected. */
export function readOptions(spec: CommandSpec, rawArgs: unknown[], rawOpts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec.flags)) {
    const raw = rawOpts[key];
    if (f.kind === 'bool') {
      // commander reads `--no-browser` as `browser: false`
      const negated = /^no[A-Z]/.test(key) ? rawOpts[key.charAt(2).toLowerCase() + key.slice(3)] === false : false;
      out[key] = raw === true || negated;
      continue;
    }
    out[key] = raw === undefined ? f.fallback : readValue(`${flagName(key)}`, raw as string, f.parse, f.choices);
  }
  Object.entries(spec.args).forEach(([key, a], i) => {
    if (a.variadic) {
      out[key] = (rawArgs[i] as string[] | undefined) ?? [];
      return;
    }
    const raw = rawArgs[i] as string | undefined;
    const value = raw === undefined ? undefined : readValue(a.name.toUpperCase(), raw, a.parse, a.choices);
    if (key in spec.flags && out[key] !== undefined) {
      if (value !== undefined && value !== out[key]) throw new UsageError(`${a.name} given twice (${JSON.stringify(raw)} and ${flagName(key)} ${JSON.stringify(out[key])})`, { hint: 'give it once' });
      return;
    }
    out[key] = value;
  });
  return out;
}

function readValue<T>(what: string, raw: string, parse: (s: string) => T, choices: readonly string[] | undefined): T {
  if (choices && !choices.includes(raw)) {
    throw new UsageError(`invalid ${what} ${JSON.stringify(raw)}: choose ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices.at(-1) ?? ''}`);
  }
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`invalid ${what} ${JSON.stringify(raw)}: ${err.message}`, { hint: err.hint });
    throw err;
  }
}

/** The spec behind each command of a built tree, and the groups' examples. */
const SPECS = new WeakMap<Command, CommandSpec | GroupSpec>();

/**
 * The commander tree. With `argv`, only the commands whose every word is in argv are built in
 * full (the one commander dispatches to is among them); the others are stubs that list the
 * same way in a parent's help (name, summary, arguments, whether they take options), which
 * spares building ~100 options on every run. Without `argv`, the whole tree (completion
 * scripts, the man page).
 */
export function buildProgram(commands: readonly CommandSpec[], groups: readonly GroupSpec[], invoke: Invoke, argv?: readonly string[]): Command {
  const words = argv ? new Set(argv) : undefined;
  const program = new Command('ankra')
    .description('Ankra Cluster Access from the terminal: grant teammates Kubernetes access, and reach clusters with plain kubectl')
    .usage('[options] <command>')
    .helpCommand(false)
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText('after', `${examplesText(['ankra login', 'ankra cluster kubeconfig add staging --use && kubectl get pods', 'ankra doctor'])}\nMore: \`ankra help COMMAND…\`, \`ankra help options|environment|exit-codes\`.\n${POINTER}`);
  for (const [key, f] of Object.entries(GLOBAL_FLAGS)) program.addOption(optionFor(key, f).hideHelp());
  program.addOption(new Option('-v, --version', 'print the version').hideHelp());
  program.addOption(new Option('--no-color', 'plain output without colour').hideHelp());
  program.addOption(new Option('--no-headers', 'tables without the header line').hideHelp());

  for (const spec of commands) {
    for (const path of [spec.path, ...(spec.aliases ?? [])]) {
      const parent = at(program, path.slice(0, -1));
      const cmd = new Command(path[path.length - 1]).summary(spec.summary).description(spec.summary + (spec.details ? `\n\n${spec.details}` : ''));
      cmd.helpCommand(false).helpOption('-h, --help', 'show help for this command');
      SPECS.set(cmd, spec as CommandSpec);
      if (spec.hidden || path !== spec.path) parent.addCommand(cmd, { hidden: true });
      else parent.addCommand(cmd);
      for (const [key, a] of Object.entries(spec.args) as Array<[string, ArgSpec<unknown>]>) {
        const argument = new Argument(a.variadic ? `[${a.name}...]` : a.required ? `<${a.name}>` : `[${a.name}]`, a.description + (a.choices ? ` (${a.choices.join(', ')})` : ''));
        void key;
        cmd.addArgument(argument);
      }
      const flags = Object.entries(spec.flags);
      if (words && !path.every((w) => words.has(w))) {
        // A stub: one option is enough for "[options]" in the parent's list of commands.
        const [first] = flags;
        if (first) cmd.addOption(optionFor(first[0], first[1]));
        continue;
      }
      for (const [key, f] of flags) {
        // A flag that is also the positional (`--cluster` beside `[cluster]`) works, but help shows one form.
        const o = optionFor(key, f);
        if (key in spec.args) o.hideHelp();
        cmd.addOption(o);
      }
      cmd.addHelpText('after', `${examplesText(spec.examples)}\n${POINTER}`);
      cmd.action(async (...received: unknown[]) => {
        const self = received[received.length - 1] as Command;
        const rawArgs = received.slice(0, Object.keys(spec.args).length);
        const opts = readOptions(spec as CommandSpec, rawArgs, self.opts());
        await invoke(spec as CommandSpec, opts, self.optsWithGlobals());
      });
    }
  }
  // Groups were made where their first command is; now they get their words.
  for (const g of groups) {
    const cmd = at(program, g.path).description(g.summary).helpCommand(false).helpOption('-h, --help', 'show help for this command');
    cmd.addHelpText('after', `${examplesText(g.examples)}\n${POINTER}`);
    SPECS.set(cmd, g);
  }
  return program;
}

/** The tree as commands see it: help texts and a plain description. */
export function treeOf(program: Command): CommandTree {
  const find = (path: readonly string[]): Command | undefined => {
    let cmd: Command | undefined = program;
    for (const w of path) cmd = cmd?.commands.find((c) => c.name() === w);
    return cmd;
  };
  return {
    help(path) {
      const cmd = find(path);
      if (!cmd) return undefined;
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      return text;
    },
    nodes() {
      const helper = program.createHelp();
      const out: TreeNode[] = [];
      const walk = (cmd: Command, path: string[], inherited: TreeNode['flags'], hidden: boolean) => {
        const spec = SPECS.get(cmd);
        const own = cmd.options.map((o) => {
          const key = o.attributeName();
          const f = spec && 'flags' in spec ? spec.flags[key] : cmd === program ? GLOBAL_FLAGS[key as keyof typeof GLOBAL_FLAGS] : undefined;
          const takes = o.required || o.optional;
          return {
            names: [o.long, o.short].filter((n): n is string => Boolean(n)),
            description: o.description ?? '',
            ...(takes ? { value: { choices: f?.kind === 'value' ? (f.choices ?? f.suggests) : undefined, completes: f?.kind === 'value' ? f.completes : undefined } } : {}),
          };
        });
        own.push({ names: ['--help', '-h'], description: 'show help' });
        const ownNames = new Set(own.flatMap((f) => f.names));
        const flags = [...own, ...inherited.filter((f) => !f.names.some((n) => ownNames.has(n)))];
        const visible = helper.visibleCommands(cmd).filter((c) => c.name() !== 'help' || cmd.commands.includes(c));
        const args = spec && 'args' in spec ? Object.values(spec.args) : [];
        out.push({
          path,
          summary: (cmd.description().split('\n')[0] ?? '').trim(),
          hidden,
          subcommands: visible.map((c) => ({ name: c.name(), summary: (c.description().split('\n')[0] ?? '').trim() })),
          flags,
          args: args.map((a) => ({ name: a.name, required: a.required, description: a.description, choices: a.choices, completes: a.completes })),
          examples: spec?.examples ?? [],
        });
        for (const sub of cmd.commands) walk(sub, [...path, sub.name()], path.length === 0 ? own : inherited, hidden || !visible.includes(sub));
      };
      walk(program, [], [], false);
      return out;
    },
  };
}
