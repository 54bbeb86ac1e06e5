/**
 * `ankra completion bash|zsh|fish`: the scripts are generated from the commander tree, pass
 * each shell's syntax check, and complete in the real shells: subcommands at every depth,
 * flags with the global ones, flag values (roles, output formats, files) and cluster names
 * from the kubeconfig's Ankra contexts, offline, through the hidden `ankra __complete`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Argument, type Command } from 'commander';
import { buildProgram } from '../src/cli';
import { clusterNames, completionScript, run, SHELLS, type Shell } from '../src/commands/completion';
import { Context } from '../src/context';
import { ANKRA_BIN, ankra, runProgram, sandbox, type Sandbox } from './helpers/cli';
import { need } from './tools/needs.mjs';

// zsh and fish: skipped with a line saying what to install when missing, required in CI.
const ZSH = need('the zsh completion tests', ['zsh'], 'apt-get install -y zsh');
const FISH = need('the fish completion tests', ['fish'], 'apt-get install -y fish');

/**
 * The command tree as the binary builds it. Until src/cli.ts registers `completion` and
 * the hidden `__complete`, the same definitions are added here so the generator is tested
 * against the tree it will see.
 */
function program(): Command {
  const p = buildProgram(process.env, async () => undefined);
  if (!p.commands.some((c) => c.name() === 'completion')) {
    p.command('completion')
      .description('print a shell completion script for bash, zsh or fish')
      .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
      .action(() => undefined);
  }
  if (!p.commands.some((c) => c.name() === '__complete')) {
    p.command('__complete', { hidden: true }).argument('<what>').option('--kubeconfig <path>').action(() => undefined);
  }
  return p;
}

interface Node {
  path: string[];
  subcommands: string[];
  /** Long names of the command's own visible options and its ancestors'. */
  longFlags: string[];
  /** Flags with a fixed set of values (e.g. --role), own or inherited. */
  choices: Array<{ flag: string; values: string[] }>;
}

/** Every visible command, found by walking commander's tree independently of the generator. */
function walk(root: Command): Node[] {
  const help = root.createHelp();
  const nodes: Node[] = [];
  const visit = (cmd: Command, path: string[], inherited: Command[]) => {
    const chain = [cmd, ...inherited];
    const opts = chain.flatMap((c) => c.options.filter((o) => !o.hidden));
    nodes.push({
      path,
      subcommands: help.visibleCommands(cmd).map((c) => c.name()),
      longFlags: [...new Set(opts.flatMap((o) => (o.long ? [o.long] : [])))],
      choices: opts.filter((o) => o.argChoices && o.long).map((o) => ({ flag: o.long!, values: o.argChoices! })),
    });
    for (const sub of cmd.commands) {
      if (help.visibleCommands(cmd).includes(sub)) visit(sub, [...path, sub.name()], chain);
    }
  };
  visit(root, [], []);
  return nodes;
}

// ------------------------------------------------------------------ driving real shells

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const END = '<<end-of-case>>';

function splitCases(stdout: string, n: number): string[][] {
  const parts = stdout.split(`${END}\n`).slice(0, n);
  expect(parts).toHaveLength(n);
  return parts.map((p) => p.split('\n').filter((l) => l !== ''));
}

/** Completes each case (the words of a command line, the last one being completed) in one bash. */
async function bashComplete(scriptFile: string, cases: string[][], env: NodeJS.ProcessEnv): Promise<string[][]> {
  const driver = [
    `source ${sq(scriptFile)}`,
    ...cases.map((words) => `COMP_WORDS=(${words.map(sq).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _ankra; printf '%s\\n' "\${COMPREPLY[@]}" ${sq(END)}`),
  ].join('\n');
  const r = await runProgram('bash', ['--norc', '--noprofile', '-c', driver], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return splitCases(r.stdout, cases.length);
}

/**
 * zsh's completion system needs a terminal; its builtins are replaced by functions that print
 * what the script offers (zsh itself would then filter by the typed prefix).
 */
async function zshComplete(scriptFile: string, cases: string[][], env: NodeJS.ProcessEnv): Promise<string[][]> {
  const driver = [
    'compdef() { : }',
    'compset() { : }',
    "_files() { print -r -- '<files>' }",
    'compadd() { local a; if [[ $1 == -a ]]; then shift; for a in "$@"; do print -rl -- "${(@P)a}"; done; fi }',
    '_describe() { local n; for n in "${(@P)4}"; do print -r -- "${n%%:*}"; done }',
    `source ${sq(scriptFile)}`,
    ...cases.map((words) => `words=(${words.map(sq).join(' ')}); CURRENT=${words.length}; _ankra; print -r -- ${sq(END)}`),
  ].join('\n');
  const r = await runProgram('zsh', ['-f', '-c', driver], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return splitCases(r.stdout, cases.length);
}

/** fish completes a command line itself with `complete -C`. */
async function fishComplete(scriptFile: string, cases: string[][], env: NodeJS.ProcessEnv): Promise<string[][]> {
  const driver = [`source ${fq(scriptFile)}`, ...cases.map((words) => `complete -C ${fq(words.join(' '))} | string replace -r '\\t.*' ''; echo ${fq(END)}`)].join('\n');
  const r = await runProgram('fish', ['--no-config', '-c', driver], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return splitCases(r.stdout, cases.length);
}


// ------------------------------------------------------------------ fixtures

const CLUSTER_IDS = { staging: '0b6f3c2e-1111-4a4a-9b9b-000000000001', prodEu: '5f0c1a2b-2222-4a4a-9b9b-000000000002' };

function ankraUser(name: string, command: string, clusterId: string): string {
  return [
    `- name: ${name}`,
    '  user:',
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    `      command: ${command}`,
    `      args: [cluster, kube-token, --cluster, ${clusterId}]`,
  ].join('\n');
}

/** Two Ankra contexts (one with the name-clash id suffix) and a foreign one. */
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: ankra-staging
  cluster: {server: 'https://127.0.0.1:1/k8s/staging'}
- name: ankra-prod-eu-5f0c1a2b
  cluster: {server: 'https://127.0.0.1:1/k8s/prod-eu'}
- name: kind-dev
  cluster: {server: 'https://127.0.0.1:2'}
users:
${ankraUser('ankra-staging', 'ankra', CLUSTER_IDS.staging)}
${ankraUser('ankra-prod-eu-5f0c1a2b', '/usr/local/bin/ankra', CLUSTER_IDS.prodEu)}
- name: kind-dev
  user: {token: not-ankra}
contexts:
- name: ankra-staging
  context: {cluster: ankra-staging, user: ankra-staging, namespace: team-a}
- name: ankra-prod-eu-5f0c1a2b
  context: {cluster: ankra-prod-eu-5f0c1a2b, user: ankra-prod-eu-5f0c1a2b}
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev}
current-context: kind-dev
`;

const SETTINGS = {
  version: 1,
  servers: { 'https://ankra.example.test': { clusters: { 'org-1': { id: '9a9a9a9a-3333-4a4a-9b9b-000000000003', name: 'sandbox-1' } } } },
};

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const scripts = {} as Record<Shell, string>;
let nodes: Node[];

beforeAll(() => {
  sb = sandbox();
  mkdirSync(join(sb.home, '.kube'), { recursive: true });
  writeFileSync(sb.kubeconfig, KUBECONFIG, { mode: 0o600 });
  mkdirSync(join(sb.home, '.config', 'ankra'), { recursive: true, mode: 0o700 });
  writeFileSync(join(sb.home, '.config', 'ankra', 'config.json'), JSON.stringify(SETTINGS), { mode: 0o600 });
  // `ankra` on PATH is this checkout's binary, as after `npm install -g`
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ankra'), `#!/bin/sh\nexec ${sq(process.execPath)} ${sq(ANKRA_BIN)} "$@"\n`);
  chmodSync(join(bin, 'ankra'), 0o755);
  env = { ...sb.env, PATH: `${bin}${delimiter}${sb.env.PATH ?? ''}` };

  const p = program();
  nodes = walk(p);
  for (const shell of SHELLS) {
    scripts[shell] = join(sb.dir, `ankra.${shell}`);
    writeFileSync(scripts[shell], completionScript(p, shell));
  }
});

afterAll(() => sb?.cleanup());

// ------------------------------------------------------------------ the tests

describe('the generated scripts', () => {
  it('name every visible command and every flag of the tree, in every shell, and no hidden command', () => {
    expect(nodes.length).toBeGreaterThan(15);
    for (const shell of SHELLS) {
      const text = completionScript(program(), shell);
      for (const n of nodes) {
        if (n.path.length > 0) expect(text, `${shell}: ${n.path.join(' ')}`).toContain(`'${n.path.join(' ')}'`);
        for (const f of n.longFlags) expect(text, `${shell}: ${f}`).toContain(f);
      }
      expect(text).not.toContain('__complete\'');
      expect(text).not.toMatch(/'__complete[ ')]/);
    }
  });

  it('carry install instructions at the top', () => {
    const p = program();
    expect(completionScript(p, 'bash')).toMatch(/^# bash completion for ankra[\s\S]*source <\(ankra completion bash\)[\s\S]*\.local\/share\/bash-completion\/completions\/ankra/);
    expect(completionScript(p, 'zsh')).toMatch(/^#compdef ankra\n# zsh completion[\s\S]*fpath[\s\S]*_ankra/);
    expect(completionScript(p, 'fish')).toMatch(/^# fish completion for ankra[\s\S]*~\/\.config\/fish\/completions\/ankra\.fish/);
  });

  it('pass `bash -n`', async () => {
    const r = await runProgram('bash', ['-n', scripts.bash], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.skipIf(ZSH.skip)('pass `zsh -n`', async () => {
    ZSH.assert();
    const r = await runProgram('zsh', ['-n', scripts.zsh], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.skipIf(FISH.skip)('pass `fish --no-execute`', async () => {
    FISH.assert();
    const r = await runProgram('fish', ['--no-execute', scripts.fish], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('bash', () => {
  it('registers _ankra for ankra', async () => {
    const r = await runProgram('bash', ['--norc', '--noprofile', '-c', `source ${sq(scripts.bash)}; complete -p ankra`], { env });
    expect(r.stdout.trim()).toBe('complete -F _ankra ankra');
  });

  it('completes commands, flags and values', async () => {
    const cases: Array<[string[], string[]]> = [
      [['ankra', 'cl'], ['cluster']],
      [['ankra', 'cluster', 'ac'], ['access']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--role', ''], ['view', 'edit', 'admin', 'cluster-admin']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--role', 'a'], ['admin']],
      // --role=ad: bash splits the word at '='
      [['ankra', 'cluster', 'access', 'grant', 'x', '--role', '=', 'ad'], ['admin']],
      [['ankra', '-o', ''], ['table', 'json', 'yaml']],
      [['ankra', 'cluster', 'list', '--output', 'y'], ['yaml']],
      // global flags before the command, and values skipped while walking
      [['ankra', '-o', 'json', '--org', 'acme', 'cluster', 'kubeconfig', 'l'], ['list']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--ro'], ['--role']],
      [['ankra', 'cluster', 'list', '--no-'], ['--no-color']],
      [['ankra', 'completion', ''], ['bash', 'zsh', 'fish']],
      [['ankra', 'help', 'cl'], ['cluster']],
      [['ankra', '__'], []],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--namespace', ''], []],
    ];
    const got = await bashComplete(scripts.bash, cases.map(([w]) => w), env);
    cases.forEach(([words, want], i) => expect(got[i], words.join(' ')).toEqual(want));
  });

  it('completes files for --kubeconfig and --ca-file', async () => {
    const dir = join(sb.dir, 'files');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kube.yaml'), '');
    writeFileSync(join(dir, 'ca.pem'), '');
    const got = await bashComplete(
      scripts.bash,
      [
        ['ankra', 'cluster', 'kubeconfig', 'add', '--kubeconfig', join(dir, 'ku')],
        ['ankra', '--ca-file', join(dir, 'c')],
        ['ankra', 'doctor', '--kubeconfig', '=', join(dir, 'k')],
      ],
      env,
    );
    expect(got).toEqual([[join(dir, 'kube.yaml')], [join(dir, 'ca.pem')], [join(dir, 'kube.yaml')]]);
  });

  it('completes every subcommand and flag of every command of the tree', async () => {
    const cases = nodes.flatMap((n) => [
      ...(n.subcommands.length > 0 ? [['ankra', ...n.path, '']] : []),
      ['ankra', ...n.path, '--'],
      ...n.choices.map((c) => ['ankra', ...n.path, c.flag, '']),
    ]);
    const got = await bashComplete(scripts.bash, cases, env);
    let i = 0;
    for (const n of nodes) {
      const name = `ankra ${n.path.join(' ')}`;
      if (n.subcommands.length > 0) expect(got[i++], name).toEqual(n.subcommands);
      const flags = got[i++] ?? [];
      for (const f of n.longFlags) expect(flags, `${name} --<TAB>`).toContain(f);
      expect(flags, `${name} --<TAB>`).toContain('--help');
      for (const c of n.choices) expect(got[i++], `${name} ${c.flag} <TAB>`).toEqual(c.values);
    }
  });

  // Runs the binary's hidden `ankra __complete clusters`: passes once src/cli.ts registers it.
  it('completes cluster names offline from the kubeconfig and the saved default cluster', async () => {
    const cases: Array<[string[], string[]]> = [
      [['ankra', 'cluster', 'kubeconfig', 'add', ''], ['sandbox-1', 'staging', 'prod-eu']],
      [['ankra', 'cluster', 'kubeconfig', 'remove', 'st'], ['staging']],
      [['ankra', 'cluster', 'select', 's'], ['sandbox-1', 'staging']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--cluster', 'p'], ['prod-eu']],
      [['ankra', 'cluster', 'access', 'list', '--cluster', '=', ''], ['sandbox-1', 'staging', 'prod-eu']],
      // --kubeconfig on the line is where the names come from
      [['ankra', 'cluster', 'kubeconfig', 'remove', '--kubeconfig', join(sb.dir, 'missing'), ''], ['sandbox-1']],
    ];
    const got = await bashComplete(scripts.bash, cases.map(([w]) => w), env);
    cases.forEach(([words, want], i) => expect(got[i], words.join(' ')).toEqual(want));
  });
});

describe('zsh and fish', () => {
  const cases: Array<[string[], string[]]> = [
    [['ankra', 'cluster', 'access', 'grant', 'x', '--role', ''], ['view', 'edit', 'admin', 'cluster-admin']],
    [['ankra', '-o', ''], ['table', 'json', 'yaml']],
    [['ankra', 'completion', ''], ['bash', 'zsh', 'fish']],
  ];

  it.skipIf(ZSH.skip)('zsh offers the subcommands, flags and values of the command being typed', async () => {
    ZSH.assert();
    const got = await zshComplete(
      scripts.zsh,
      [['ankra', 'cl'], ['ankra', 'cluster', 'ac'], ['ankra', 'cluster', 'access', 'grant', 'x', '--r'], ['ankra', '--ca-file', ''], ...cases.map(([w]) => w)],
      env,
    );
    expect(got[0]).toEqual(nodes.find((n) => n.path.length === 0)?.subcommands);
    expect(got[1]).toEqual(nodes.find((n) => n.path.join(' ') === 'cluster')?.subcommands);
    expect(got[2]).toEqual(expect.arrayContaining(['--role', '--cluster', '--namespace', '--output', '-o', '--help']));
    expect(got[3]).toEqual(['<files>']);
    cases.forEach(([words, want], i) => expect(got[i + 4], words.join(' ')).toEqual(want));
  });

  it.skipIf(ZSH.skip)('zsh completes cluster names through `ankra __complete`', async () => {
    ZSH.assert();
    const got = await zshComplete(scripts.zsh, [['ankra', 'cluster', 'kubeconfig', 'add', '']], env);
    expect(got[0]).toEqual(['sandbox-1', 'staging', 'prod-eu']);
  });

  it.skipIf(FISH.skip)('fish completes commands, flags, values and cluster names', async () => {
    FISH.assert();
    const got = await fishComplete(
      scripts.fish,
      [
        ['ankra', 'cl'],
        ['ankra', 'cluster', 'ac'],
        ['ankra', 'cluster', 'access', 'grant', 'x', '--ro'],
        ['ankra', '--output=j'],
        ['ankra', 'cluster', 'kubeconfig', 'add', ''],
      ],
      env,
    );
    expect(got.slice(0, 5)).toEqual([['cluster'], ['access'], ['--role'], ['--output=json'], ['prod-eu', 'sandbox-1', 'staging']]);
  });

  it.skipIf(FISH.skip)('fish completes role, output and shell values', async () => {
    FISH.assert();
    const got = await fishComplete(scripts.fish, cases.map(([w]) => [...w.slice(0, -1), '']), env);
    // fish sorts candidates
    cases.forEach(([words, want], i) => expect(got[i], words.join(' ')).toEqual([...want].sort()));
  });
});

describe('cluster names', () => {
  it('come from the Ankra contexts of the kubeconfig and the saved default clusters, without a network call', async () => {
    // ANKRA_BASE_URL points nowhere: any request would fail
    const ctx = new Context({ output: 'table', debug: false, color: false }, { ...env, ANKRA_BASE_URL: 'https://127.0.0.1:9' });
    expect(await clusterNames(ctx)).toEqual(['sandbox-1', 'staging', 'prod-eu']);
    expect(await clusterNames(ctx, { kubeconfig: join(sb.dir, 'missing') })).toEqual(['sandbox-1']);
    const broken = join(sb.dir, 'broken.yaml');
    writeFileSync(broken, 'clusters: [unclosed\n');
    expect(await clusterNames(ctx, { kubeconfig: broken })).toEqual(['sandbox-1']);
  });
});

describe('through the binary (passes once src/cli.ts registers the commands)', () => {
  it('`ankra completion bash|zsh|fish` prints the script of its own tree', async () => {
    for (const shell of SHELLS) {
      const r = await ankra(['completion', shell], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const unversioned = (s: string) => s.replace(/(completion for ankra) \S+,/, '$1 X,');
      expect(unversioned(r.stdout)).toBe(unversioned(`${completionScript(program(), shell)}`));
    }
  });

  it('`ankra completion tcsh` is a usage error', async () => {
    const r = await ankra(['completion', 'tcsh'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/tcsh/);
  });

  it('`ankra __complete clusters` prints names offline and is not in --help', async () => {
    const r = await ankra(['__complete', 'clusters'], { env: { ...env, ANKRA_BASE_URL: 'https://127.0.0.1:9' } });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['sandbox-1', 'staging', 'prod-eu']);
    const help = await ankra(['--help'], { env });
    expect(help.stdout).toContain('completion');
    expect(help.stdout).not.toContain('__complete');
  });

  it('an unknown shell passed to run() directly is a usage error (exit 2)', async () => {
    const ctx = new Context({ output: 'table', debug: false, color: false }, env);
    await expect(run(ctx, { shell: 'tcsh', program: program() })).rejects.toMatchObject({ exitCode: 2 });
  });
});
