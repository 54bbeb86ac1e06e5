/**
 * The command tree (commander). Each action builds a Context from the global options and
 * lazily imports its command module, so start-up loads only what runs. Errors become one
 * line on stderr and an exit code here, in one place.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { ROLES, type Role } from './api/types';
import { Context, type GlobalOptions } from './context';
import { CancelledError, Exit, exitCodeOf, messageOf, oneLine } from './errors';
import { FORMATS, Output, type Format } from './ui/output';
import { writeStderr, writeStdout } from './ui/stdio';
import { VERSION } from './version';
import { parseDuration, parseEmail, parseGrantTarget, parseNamespace } from './commands/validate';

type Opts = Record<string, unknown>;

function globals(cmd: Command, env: NodeJS.ProcessEnv): GlobalOptions {
  const o = cmd.optsWithGlobals<Opts>();
  return {
    baseUrl: o.baseUrl as string | undefined,
    org: o.org as string | undefined,
    token: o.token as string | undefined,
    output: (o.output as Format | undefined) ?? 'table',
    caFile: o.caFile as string | undefined,
    debug: o.debug === true,
    color: o.color !== false && !env.NO_COLOR,
  };
}

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export function buildProgram(env: NodeJS.ProcessEnv, run: (cmd: Command, fn: (ctx: Context) => Promise<number>) => Promise<void>): Command {
  const program = new Command('ankra')
    .description("Ankra Cluster Access from the terminal: grant teammates Kubernetes access, and reach clusters with plain kubectl")
    .version(VERSION, '-v, --version', 'print the version')
    .option('--base-url <url>', 'Ankra API base URL (env ANKRA_BASE_URL)')
    .option('--org <org>', 'organisation name or id (env ANKRA_ORG)')
    .option('--token <token>', 'Ankra API token (env ANKRA_API_TOKEN; prefer `ankra login`)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS as string[]).default('table'))
    .option('--ca-file <path>', 'extra CA bundle (PEM) to trust (env ANKRA_CA_FILE)')
    .option('--debug', 'log each request (credentials redacted) and show stack traces')
    .option('--no-color', 'plain output without colour (also NO_COLOR)')
    .showSuggestionAfterError(true)
    // Every command's --help lists the global options (-o, --org, …) too, not only the root's.
    .configureHelp({ showGlobalOptions: true });

  example(program, 'ankra login', 'ankra cluster kubeconfig add staging --use && kubectl get pods', 'ankra doctor');

  // ---- login, logout, auth
  example(
    program
      .command('login')
      .description('log in with your browser (OIDC device flow), or store an API token with --with-token')
      .option('--issuer <url>', 'OIDC issuer (default: what the Ankra API advertises)')
      .option('--client-id <id>', 'OIDC client id (with --issuer)')
      .option('--no-browser', 'do not open a browser; print the link and code only')
      .option('--with-token', 'read an API token from stdin (for CI)')
      .action((o: Opts, cmd: Command) =>
        run(cmd, async (ctx) => (await import('./commands/auth/login')).run(ctx, { issuer: o.issuer as string | undefined, clientId: o.clientId as string | undefined, browser: o.browser !== false, withToken: o.withToken === true })),
      ),
    'ankra login',
    'echo "$ANKRA_TOKEN" | ankra login --with-token',
  );
  example(
    program
      .command('logout')
      .description('forget the saved login and the cached Kubernetes tokens, and revoke the session')
      .option('--local-only', 'do not revoke the session at the identity provider')
      .action((o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/auth/logout')).run(ctx, { localOnly: o.localOnly === true }))),
    'ankra logout',
  );
  const auth = example(program.command('auth').description('inspect how ankra authenticates'), 'ankra auth status');
  example(
    auth
      .command('status')
      .description('show the server, organisation, who you are, how you are authenticated and when it expires')
      .action((_o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/auth/status')).run(ctx))),
    'ankra auth status',
    'ankra auth status -o json',
  );

  // ---- org
  const org = example(program.command('org').description('organisations'), 'ankra org list');
  example(
    org
      .command('list')
      .description('list the organisations you belong to')
      .action((_o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/org/list')).run(ctx))),
    'ankra org list',
  );

  // ---- cluster
  const cluster = example(
    program.command('cluster').description('clusters, access grants, kubeconfig and the kubectl credential plugin'),
    'ankra cluster list',
    'ankra cluster access grant alice@example.com --cluster staging --wait',
    'ankra cluster kubeconfig add staging --use',
  );
  example(
    cluster
      .command('list')
      .description('list the clusters of the organisation')
      .action((_o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/cluster/list')).run(ctx))),
    'ankra cluster list',
    'ankra cluster list -o json | jq -r ".[].name"',
  );
  example(
    cluster
      .command('select')
      .description('make a cluster the default for --cluster (ANKRA_CLUSTER overrides it)')
      .argument('<cluster>', 'cluster name or id')
      .action((name: string, _o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/cluster/select')).run(ctx, { cluster: name }))),
    'ankra cluster select staging',
  );

  const access = example(
    cluster.command('access').description('who may reach a cluster with kubectl, and how'),
    'ankra cluster access list --cluster staging',
    'ankra cluster access grant alice@example.com --cluster staging --role edit --namespace team-a --wait',
  );
  const clusterOpt = () => new Option('--cluster <cluster>', 'cluster name or id (default: ANKRA_CLUSTER, or `ankra cluster select`)');
  example(
    access
      .command('list')
      .description('list the access grants on a cluster (members see their own)')
      .addOption(clusterOpt())
      .action((o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/access/list')).run(ctx, { cluster: o.cluster as string | undefined }))),
    'ankra cluster access list --cluster staging',
    'ankra cluster access list --cluster staging -o json | jq ".[] | {user_email, role, reconcile_status}"',
  );
  example(
    access
      .command('grant')
      .description('grant a member a role on a cluster, or on one namespace with --namespace')
      .argument('<email>', "the member's email", parseEmail)
      .addOption(clusterOpt())
      .addOption(new Option('--role <role>', 'what they may do').choices(ROLES as unknown as string[]).default('view'))
      .option('--namespace <namespace>', 'limit the grant to this namespace', parseNamespace)
      .option('--wait', 'wait until Ankra has applied the grant to the cluster')
      .addOption(new Option('--timeout <duration>', 'how long --wait waits (e.g. 90s, 5m)').argParser(parseDuration).default(300_000, '5m'))
      .action((email: string, o: Opts, cmd: Command) =>
        run(cmd, async (ctx) =>
          (await import('./commands/access/grant')).run(ctx, {
            email,
            cluster: o.cluster as string | undefined,
            role: o.role as Role,
            namespace: o.namespace as string | undefined,
            wait: o.wait === true,
            timeout: o.timeout as number,
          }),
        ),
      ),
    'ankra cluster access grant alice@example.com --cluster staging --role edit --namespace team-a --wait',
  );
  example(
    access
      .command('revoke')
      .description("revoke a grant by id, every grant of an email, or --all grants on the cluster")
      .argument('[email-or-grant-id]', 'an email (all their grants) or a grant id', parseGrantTarget)
      .addOption(clusterOpt())
      .option('--all', 'revoke every grant on the cluster (asks first on a terminal)')
      .option('-y, --yes', 'do not ask for confirmation')
      .action((target: string | undefined, o: Opts, cmd: Command) =>
        run(cmd, async (ctx) =>
          (await import('./commands/access/revoke')).run(ctx, { target, cluster: o.cluster as string | undefined, all: o.all === true, yes: o.yes === true }),
        ),
      ),
    'ankra cluster access revoke alice@example.com --cluster staging',
    'ankra cluster access revoke --all --cluster staging --yes',
  );
  example(
    access
      .command('members')
      .description('list the organisation members who can be granted access')
      .addOption(clusterOpt())
      .action((o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/access/members')).run(ctx, { cluster: o.cluster as string | undefined }))),
    'ankra cluster access members --cluster staging',
  );

  const kubeconfig = example(
    cluster.command('kubeconfig').description('kubectl contexts that reach clusters through Ankra'),
    'ankra cluster kubeconfig add staging --namespace team-a --use',
    'ankra cluster kubeconfig list',
  );
  const kubeconfigOpt = () => new Option('--kubeconfig <path>', 'the kubeconfig file (default: KUBECONFIG, else ~/.kube/config)');
  example(
    kubeconfig
      .command('add')
      .description('add a kubectl context for a cluster (or --all you can reach); kubectl then gets tokens from ankra')
      .argument('[cluster]', 'cluster name or id (default: ANKRA_CLUSTER, or `ankra cluster select`)')
      .option('--all', 'add every cluster you have a grant on')
      .option('--use', 'make it the current context')
      .option('--namespace <namespace>', "the context's default namespace", parseNamespace)
      .option('--print', 'print a standalone kubeconfig instead of editing a file')
      .addOption(kubeconfigOpt())
      .option('--exec-command <command>', 'what kubectl should run (default: ankra, or this binary\'s path)')
      .action((name: string | undefined, o: Opts, cmd: Command) =>
        run(cmd, async (ctx) =>
          (await import('./commands/kubeconfig/add')).run(ctx, {
            cluster: name,
            all: o.all === true,
            use: o.use === true,
            namespace: o.namespace as string | undefined,
            print: o.print === true,
            kubeconfig: o.kubeconfig as string | undefined,
            execCommand: o.execCommand as string | undefined,
          }),
        ),
      ),
    'ankra cluster kubeconfig add staging --namespace team-a --use && kubectl get pods',
    'ankra cluster kubeconfig add --all',
  );
  example(
    kubeconfig
      .command('remove')
      .description('remove Ankra contexts (also those written by the Go CLI)')
      .argument('[cluster]', 'cluster name, id or context name')
      .option('--all', 'remove every Ankra context')
      .addOption(kubeconfigOpt())
      .action((name: string | undefined, o: Opts, cmd: Command) =>
        run(cmd, async (ctx) => (await import('./commands/kubeconfig/remove')).run(ctx, { cluster: name, all: o.all === true, kubeconfig: o.kubeconfig as string | undefined })),
      ),
    'ankra cluster kubeconfig remove staging',
  );
  example(
    kubeconfig
      .command('list')
      .description('list the Ankra contexts in your kubeconfig')
      .addOption(kubeconfigOpt())
      .action((o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/kubeconfig/list')).run(ctx, { kubeconfig: o.kubeconfig as string | undefined }))),
    'ankra cluster kubeconfig list',
  );

  example(
    cluster
      .command('kube-token')
      .description("print a short-lived Kubernetes token as an ExecCredential (run by kubectl, not by you)")
      .requiredOption('--cluster <cluster>', 'cluster id (or name)')
      .action((o: Opts, cmd: Command) =>
        run(cmd, async (ctx) => {
          const { mintWithArgs } = await import('./exec/mint');
          const g = ctx.global;
          return mintWithArgs({ baseUrl: g.baseUrl, org: g.org, token: g.token, caFile: g.caFile, debug: g.debug, cluster: o.cluster as string }, env);
        }),
      ),
    'ankra cluster kube-token --cluster 5f0c…   # normally written into kubeconfig by `ankra cluster kubeconfig add`',
  );

  example(
    program
      .command('doctor')
      .description('check every link from Ankra to kubectl and say how to fix the first broken one')
      .option('--cluster <cluster>', 'cluster name or id (default: ANKRA_CLUSTER, `ankra cluster select`, or the current kubectl context)')
      .option('--kubeconfig <path>', 'the kubeconfig file (default: KUBECONFIG, else ~/.kube/config)')
      .action((o: Opts, cmd: Command) =>
        run(cmd, async (ctx) => (await import('./commands/doctor')).run(ctx, { cluster: o.cluster as string | undefined, kubeconfig: o.kubeconfig as string | undefined })),
      ),
    'ankra doctor --cluster staging',
    'ankra doctor -o json | jq ".checks[] | select(.status == \\"fail\\")"',
  );

  // ---- shell completion
  example(
    program
      .command('completion')
      .description('print a shell completion script for bash, zsh or fish')
      .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
      .action((shell: string, _o: Opts, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/completion')).run(ctx, { shell, program }))),
    'source <(ankra completion bash)',
    'ankra completion zsh > "${fpath[1]}/_ankra"',
    'ankra completion fish > ~/.config/fish/completions/ankra.fish',
  );
  // Hidden helper of the completion scripts: cluster names from local files only, no network.
  program
    .command('__complete', { hidden: true })
    .description('completion candidates for the shell scripts (offline)')
    .argument('<what>', 'what to list: clusters')
    .option('--kubeconfig <path>', 'the kubeconfig file')
    .action((what: string, o: Opts, cmd: Command) =>
      run(cmd, async (ctx) => (await import('./commands/completion')).complete(ctx, { what, kubeconfig: o.kubeconfig as string | undefined })),
    );

  return program;
}

/** Usage errors from commander: one line, the command's help pointer, exit 2. */
function usageLine(message: string, cmd: Command): string {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  return `ankra: ${oneLine(message.replace(/^error: /, '')).replace(/\.$/, '')}; see \`${path.join(' ')} --help\`\n`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode: number = Exit.OK;
  let debug = argv.includes('--debug');
  const run = async (cmd: Command, fn: (ctx: Context) => Promise<number>): Promise<void> => {
    const g = globals(cmd, env);
    debug = g.debug;
    const ctx = new Context(g, env);
    try {
      exitCode = await fn(ctx);
    } finally {
      await ctx.close();
    }
  };
  const program = buildProgram(env, run);
  const configure = (c: Command) => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => writeStdout(s),
      writeErr: (s) => writeStderr(s),
      outputError: (s) => writeStderr(usageLine(s, c)),
    });
    c.commands.forEach(configure);
  };
  configure(program);

  // `ankra` alone: the help, on stdout, as a successful answer (commander would treat it as an error).
  if (argv.length === 0) {
    program.outputHelp();
    return Exit.OK;
  }

  const onSigint = () => {
    writeStderr('\nankra: cancelled\n');
    process.exit(Exit.CANCELLED);
  };
  process.once('SIGINT', onSigint);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return Exit.OK;
      if (err.code === 'commander.executeSubCommandAsync') return Exit.USAGE;
      return Exit.USAGE;
    }
    const out = new Output({ color: !argv.includes('--no-color') && !env.NO_COLOR });
    out.error(messageOf(err));
    if (debug && err instanceof Error && err.stack) writeStderr(`${err.stack}\n`);
    return err instanceof CancelledError ? Exit.CANCELLED : exitCodeOf(err);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
