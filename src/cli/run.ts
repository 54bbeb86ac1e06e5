/**
 * The runner: argv in, exit code out. Answers `--version` and TAB completion without
 * loading the command tree; otherwise builds the commander tree from the command list,
 * reads the global options into a `Deps`, runs the command, and turns any failure into one
 * line and an exit code (`ui/report.ts`). Ctrl-C aborts `deps.signal`; a second Ctrl-C ends
 * the process at once.
 */
import { CommanderError, type Command } from 'commander';
import { Deps, type GlobalFlags } from '../deps';
import { CancelledError, Exit, UsageError, oneLine } from '../errors';
import { parseFormat } from '../ui/output';
import { reportError } from '../ui/report';
import { stderrColumns, stderrIsTTY, stdoutColumns, writeStderr, writeStdout } from '../ui/stdio';
import { COMMANDS, GROUPS } from '../commands/index';
import { buildProgram, treeOf } from './program';
import { versionLine } from '../version';
import type { CommandSpec } from './spec';

function globalsOf(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): GlobalFlags {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    baseUrl: str(raw.baseUrl),
    org: str(raw.org),
    token: str(raw.token),
    output: typeof raw.output === 'string' ? parseFormat(raw.output) : 'table',
    caFile: str(raw.caFile),
    debug: raw.debug === true,
    color: raw.color !== false && !env.NO_COLOR,
    headers: raw.headers !== false,
  };
}

/** Commander's words for a usage error, in ankra's: one line, and where to read more. */
function usageLine(err: CommanderError, cmd: Command): string {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  const [first = '', ...rest] = err.message.replace(/^error: /, '').split('\n');
  const suggestion = rest.join(' ').match(/Did you mean (.+)\?/)?.[1];
  // Decided by commander's error code; the message only supplies the word it quotes.
  const quoted = /'([^']+)'/.exec(first)?.[1] ?? '';
  const cause =
    err.code === 'commander.unknownOption' ? `unknown option ${quoted}`
    : err.code === 'commander.unknownCommand' ? `unknown command ${JSON.stringify(quoted)}`
    : err.code === 'commander.missingArgument' ? `${quoted.toUpperCase()} is missing`
    : err.code === 'commander.optionMissingArgument' ? `${quoted.split(/[ ,]/).find((w) => w.startsWith('--')) ?? quoted} needs a value`
    : err.code === 'commander.excessArguments' ? 'too many arguments'
    : first.replace(/\.$/, '');
  return `ankra: ${oneLine(cause)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; see \`${path.join(' ')} --help\`\n`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    writeStdout(`${versionLine()}\n`);
    return Exit.OK;
  }
  if (argv[0] === '__complete') {
    const { complete } = await import('../completion/data');
    return complete(argv.slice(1), env);
  }
  if (argv[0] === '__manpage') {
    const { manPage } = await import('./manpage');
    writeStdout(manPage(treeOf(buildProgram(COMMANDS, GROUPS, async () => undefined)).nodes()));
    return Exit.OK;
  }

  let debug = argv.includes('--debug');
  let exitCode: number = Exit.OK;
  const abort = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    if (++interrupted > 1) process.exit(Exit.CANCELLED);
    abort.abort(new CancelledError());
  };
  process.on('SIGINT', onSigint);

  let program: Command | undefined;
  const invoke = async (spec: CommandSpec, opts: Record<string, unknown>, raw: Record<string, unknown>): Promise<void> => {
    if (raw.version === true) {
      writeStdout(`${versionLine()}\n`);
      return;
    }
    const flags = globalsOf(raw, env);
    debug = flags.debug;
    spec.check?.(opts as never);
    const deps = new Deps(flags, env, { signal: abort.signal, tree: () => treeOf(wholeTree()) });
    try {
      exitCode = await spec.run(opts as never, deps);
    } finally {
      await deps.close();
    }
  };

  const configure = (c: Command) => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => writeStdout(s),
      writeErr: (s) => writeStderr(s),
      outputError: () => undefined,
      // Not commander's defaults, which touch process.stdout (loading streams) even for a pipe.
      getOutHelpWidth: () => stdoutColumns() ?? 80,
      getErrHelpWidth: () => stderrColumns() ?? 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
    c.commands.forEach(configure);
  };
  // The whole tree, for commands that walk it (completion scripts, `ankra help …`).
  let whole: Command | undefined;
  const wholeTree = (): Command => {
    if (!whole) {
      whole = buildProgram(COMMANDS, GROUPS, invoke);
      configure(whole);
    }
    return whole;
  };

  try {
    // Built in full only along argv's words: the rest are stubs (see buildProgram).
    program = buildProgram(COMMANDS, GROUPS, invoke, argv);
    configure(program);
    // `ankra` alone, or a group alone (`ankra cluster`): its help, on stdout, as an answer.
    const group = groupAt(program, argv);
    if (group) {
      group.outputHelp();
      return Exit.OK;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return Exit.OK;
      writeStderr(usageLine(err, commandOf(program, argv)));
      return Exit.USAGE;
    }
    if (abort.signal.aborted && !(err instanceof CancelledError) && !(err instanceof UsageError)) {
      return reportError(new CancelledError(), { debug });
    }
    return reportError(err, { debug, color: !argv.includes('--no-color') && !env.NO_COLOR && stderrIsTTY() });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The words of argv that name commands (options and their values skipped). */
function commandWords(program: Command | undefined, argv: string[]): string[] {
  const words: string[] = [];
  let cmd = program;
  for (let i = 0; i < argv.length && cmd; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    if (a.startsWith('-')) {
      // an option of this command or an ancestor that takes a value swallows the next word
      if (!a.includes('=') && takesValue(cmd, a)) i++;
      continue;
    }
    const sub: Command | undefined = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    words.push(a);
    cmd = sub;
  }
  return words;
}

function takesValue(cmd: Command, flag: string): boolean {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((opt) => opt.long === flag || opt.short === flag);
    if (o) return o.required || o.optional;
  }
  return false;
}

function commandOf(program: Command | undefined, argv: string[]): Command {
  let cmd = program as Command;
  for (const w of commandWords(program, argv)) cmd = cmd.commands.find((c) => c.name() === w) ?? cmd;
  return cmd;
}

/** The group to show help for: argv names only a group (no subcommand, no --help). */
function groupAt(program: Command, argv: string[]): Command | undefined {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  const cmd = commandOf(program, argv);
  const rest = argv.filter((a) => !a.startsWith('-'));
  const words = commandWords(program, argv);
  if (cmd.commands.length === 0 || rest.length > words.length + countOptionValues(program, argv)) return undefined;
  return cmd;
}

function countOptionValues(program: Command, argv: string[]): number {
  let n = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('-') && !a.includes('=') && takesValue(program, a)) {
      n++;
      i++;
    }
  }
  return n;
}
