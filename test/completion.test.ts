/**
 * `ankra completion bash|zsh|fish`: the scripts are generated from the command tree, pass
 * each shell's syntax check, and complete in the real shells: subcommands at every depth,
 * flags with the global ones, flag values (roles, output formats, files), and cluster names
 * and member emails from local files only (the last listings, the saved default clusters),
 * through the hidden `ankra __complete`. Names from Ankra are data: hostile ones complete as
 * literal words in bash, zsh and fish sessions on a pseudo-terminal, and run nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { buildProgram, treeOf } from '../src/cli/program';
import { COMMANDS, GROUPS } from '../src/commands/index';
import { completionNodes, SHELLS, type Node, type Shell } from '../src/completion/rules';
import { candidates } from '../src/completion/data';
import { ANKRA_BIN, ankra, runProgram, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, startEmulator, type InProcessEmulator } from './helpers/emulator';

import { need } from './tools/needs.mjs';

// zsh, fish and a pty (util-linux `script`): skipped with a line saying what to install when
// missing, required in CI.
const ZSH = need('the zsh completion tests', ['zsh'], 'apt-get install -y zsh');
const FISH = need('the fish completion tests', ['fish'], 'apt-get install -y fish');
const PTY = need('the interactive shell tests', ['script'], 'apt-get install -y util-linux');

/** The tree the binary builds, as the completion scripts see it. */
const tree = (): Node[] => completionNodes(treeOf(buildProgram(COMMANDS, GROUPS, async () => undefined)).nodes());

/** Long flags and the fixed values of each visible command. */
function flagsOf(n: Node): { longFlags: string[]; choices: Array<{ flag: string; values: string[] }> } {
  const longFlags = n.flags.flatMap((f) => f.names.filter((x) => x.startsWith('--')));
  const choices = n.flags.flatMap((f) => (f.value?.kind === 'choices' ? f.names.filter((x) => x.startsWith('--')).map((flag) => ({ flag, values: (f.value as { values: string[] }).values })) : []));
  return { longFlags, choices };
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

/** The last listings, as `ankra cluster list` / `access members` / `kubeconfig list` leave them. */
const COMPLETION = {
  v: 1,
  entries: {
    'https://ankra.example.test a0000000-0000-4000-8000-000000000001': {
      at: Date.now(),
      clusters: ['staging', 'prod-eu'],
      members: ['alice@acme.test', 'bob@acme.test'],
      contexts: ['ankra-staging', 'ankra-globex-staging'],
    },
    // older than a day: forgotten
    'https://ankra.example.test stale': { at: Date.now() - 2 * 86_400_000, clusters: ['old-cluster'] },
  },
};

const SETTINGS = {
  version: 1,
  servers: { 'https://ankra.example.test': { clusters: { 'org-1': { id: '9a9a9a9a-3333-4a4a-9b9b-000000000003', name: 'sandbox-1' } } } },
};

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const scripts = {} as Record<Shell, string>;
let nodes: Node[];

/** `ankra` on PATH is this checkout's binary, as after `npm install -g`. */
function ankraOnPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ankra'), `#!/bin/sh\nexec ${sq(process.execPath)} ${sq(ANKRA_BIN)} "$@"\n`);
  chmodSync(join(bin, 'ankra'), 0o755);
  return bin;
}

beforeAll(async () => {
  sb = sandbox();
  mkdirSync(join(sb.home, '.cache', 'ankra'), { recursive: true, mode: 0o700 });
  writeFileSync(join(sb.home, '.cache', 'ankra', 'completion.json'), JSON.stringify(COMPLETION), { mode: 0o600 });
  mkdirSync(join(sb.home, '.config', 'ankra'), { recursive: true, mode: 0o700 });
  writeFileSync(join(sb.home, '.config', 'ankra', 'config.json'), JSON.stringify(SETTINGS), { mode: 0o600 });
  env = { ...sb.env, PATH: `${ankraOnPath(sb.dir)}${delimiter}${sb.env.PATH ?? ''}` };
  nodes = tree();
  for (const shell of SHELLS) {
    scripts[shell] = join(sb.dir, `ankra.${shell}`);
    const r = await ankra(['completion', shell], { env });
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(scripts[shell], r.stdout);
  }
});

afterAll(() => sb?.cleanup());

// ------------------------------------------------------------------ the tests

describe('the generated scripts', () => {
  it('name every visible command and every flag of the tree, in every shell, and no hidden command', () => {
    expect(nodes.length).toBeGreaterThan(15);
    for (const shell of SHELLS) {
      const text = readFileSync(scripts[shell], 'utf8');
      for (const n of nodes) {
        if (n.path.length > 0) expect(text, `${shell}: ${n.path.join(' ')}`).toContain(`'${n.path.join(' ')}'`);
        for (const f of flagsOf(n).longFlags) expect(text, `${shell}: ${f}`).toContain(f);
      }
      expect(text).not.toMatch(/'__complete[ ')]/);
      expect(text).not.toContain("'cluster kube-token'");
    }
  });

  it('carry install instructions at the top', () => {
    expect(readFileSync(scripts.bash, 'utf8')).toMatch(/^# bash completion for ankra[\s\S]*source <\(ankra completion bash\)[\s\S]*\.local\/share\/bash-completion\/completions\/ankra/);
    expect(readFileSync(scripts.zsh, 'utf8')).toMatch(/^#compdef ankra\n# zsh completion[\s\S]*fpath[\s\S]*_ankra/);
    expect(readFileSync(scripts.fish, 'utf8')).toMatch(/^# fish completion for ankra[\s\S]*~\/\.config\/fish\/completions\/ankra\.fish/);
  });

  it('never hand names from Ankra to compgen -W (it expands them)', () => {
    const bash = readFileSync(scripts.bash, 'utf8');
    expect(bash).toMatch(/mapfile -t names < <\("\$cmd" __complete/);
    for (const line of bash.split('\n').filter((l) => l.includes('compgen -W'))) expect(line).toMatch(/_ankra_(flags|subs)/);
  });

  it('pass `bash -n`', async () => {
    const r = await runProgram('bash', ['-n', scripts.bash], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.skipIf(ZSH.skip)('pass `zsh -n` (zsh is required in CI)', async () => {
    ZSH.assert();
    const r = await runProgram('zsh', ['-n', scripts.zsh], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.skipIf(FISH.skip)('pass `fish --no-execute` (fish is required in CI)', async () => {
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
      [['ankra', '-o', ''], ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath=']],
      [['ankra', 'cluster', 'list', '--output', 'y'], ['yaml']],
      // global flags before the command, and values skipped while walking
      [['ankra', '-o', 'json', '--org', 'acme', 'cluster', 'kubeconfig', 'l'], ['list']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--ro'], ['--role']],
      [['ankra', 'cluster', 'list', '--no-'], ['--no-color', '--no-headers']],
      [['ankra', 'completion', ''], ['bash', 'zsh', 'fish']],
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
      ...flagsOf(n).choices.map((c) => ['ankra', ...n.path, c.flag, '']),
    ]);
    const got = await bashComplete(scripts.bash, cases, env);
    let i = 0;
    for (const n of nodes) {
      const name = `ankra ${n.path.join(' ')}`;
      if (n.subcommands.length > 0) expect(got[i++], name).toEqual(n.subcommands.map((x) => x.name));
      const flags = got[i++] ?? [];
      for (const f of flagsOf(n).longFlags) expect(flags, `${name} --<TAB>`).toContain(f);
      expect(flags, `${name} --<TAB>`).toContain('--help');
      for (const c of flagsOf(n).choices) expect(got[i++], `${name} ${c.flag} <TAB>`).toEqual(c.values);
    }
  });

  it('completes cluster names, member emails and contexts offline, from the last listings and the saved default cluster', async () => {
    const cases: Array<[string[], string[]]> = [
      [['ankra', 'cluster', 'kubeconfig', 'add', ''], ['sandbox-1', 'staging', 'prod-eu']],
      [['ankra', 'cluster', 'select', 's'], ['sandbox-1', 'staging']],
      [['ankra', 'cluster', 'access', 'grant', 'x', '--cluster', 'p'], ['prod-eu']],
      [['ankra', 'cluster', 'access', 'list', '--cluster', '=', ''], ['sandbox-1', 'staging', 'prod-eu']],
      [['ankra', 'cluster', 'access', 'grant', 'a'], ['alice@acme.test']],
      [['ankra', 'cluster', 'access', 'list', '--user', ''], ['alice@acme.test', 'bob@acme.test']],
      [['ankra', 'cluster', 'kubeconfig', 'remove', 'ankra-g'], ['ankra-globex-staging']],
    ];
    const got = await bashComplete(scripts.bash, cases.map(([w]) => w), { ...env, ANKRA_BASE_URL: 'https://127.0.0.1:9' });
    cases.forEach(([words, want], i) => expect(got[i], words.join(' ')).toEqual(want));
  });
});

describe('zsh and fish', () => {
  const cases: Array<[string[], string[]]> = [
    [['ankra', 'cluster', 'access', 'grant', 'x', '--role', ''], ['view', 'edit', 'admin', 'cluster-admin']],
    [['ankra', '-o', ''], ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath=']],
    [['ankra', 'completion', ''], ['bash', 'zsh', 'fish']],
  ];

  it.skipIf(ZSH.skip)('zsh offers the subcommands, flags and values of the command being typed', async () => {
    ZSH.assert();
    const got = await zshComplete(
      scripts.zsh,
      [['ankra', 'cl'], ['ankra', 'cluster', 'ac'], ['ankra', 'cluster', 'access', 'grant', 'x', '--r'], ['ankra', '--ca-file', ''], ...cases.map(([w]) => w)],
      env,
    );
    expect(got[0]).toEqual(nodes.find((n) => n.path.length === 0)?.subcommands.map((x) => x.name));
    expect(got[1]).toEqual(nodes.find((n) => n.path.join(' ') === 'cluster')?.subcommands.map((x) => x.name));
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
    expect(got.slice(0, 5)).toEqual([['cluster'], ['access'], ['--role'], ['--output=json', '--output=jsonpath='], ['prod-eu', 'sandbox-1', 'staging']]);
  });

  it.skipIf(FISH.skip)('fish completes role, output and shell values', async () => {
    FISH.assert();
    const got = await fishComplete(scripts.fish, cases.map(([w]) => [...w.slice(0, -1), '']), env);
    // fish sorts candidates
    cases.forEach(([words, want], i) => expect(got[i], words.join(' ')).toEqual([...want].sort()));
  });
});

describe('the names ankra __complete offers', () => {
  it('come from the last listings (a day at most) and the saved default clusters, without a network call', async () => {
    const offline = { ...env, ANKRA_BASE_URL: 'https://127.0.0.1:9' };
    expect(candidates('cluster', offline)).toEqual(['sandbox-1', 'staging', 'prod-eu']);
    expect(candidates('member', offline)).toEqual(['alice@acme.test', 'bob@acme.test']);
    expect(candidates('nonsense', offline)).toEqual([]);
    const r = await ankra(['__complete', 'cluster'], { env: offline });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['sandbox-1', 'staging', 'prod-eu']);
    const help = await ankra(['--help'], { env });
    expect(help.stdout).not.toContain('__complete');
  });

  it('include clusters and members the user never selected, once any command listed them', async () => {
    const emu = await startEmulator();
    const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] });
    try {
      expect(candidates('cluster', b.env)).toEqual([]);
      expect((await ankra(['cluster', 'list'], { env: b.env })).code).toBe(0);
      expect((await ankra(['cluster', 'access', 'members'], { env: b.env })).code).toBe(0);
      expect(candidates('cluster', b.env)).toEqual(['staging', 'prod-eu', 'sandbox-1']);
      expect(candidates('member', b.env)).toEqual([EMAIL.admin, EMAIL.alice, EMAIL.bob]);
    } finally {
      await emu.stop();
      b.cleanup();
    }
  });

  it('a damaged or missing cache offers nothing, and never fails', async () => {
    const b = sandbox();
    mkdirSync(join(b.home, '.cache', 'ankra'), { recursive: true });
    writeFileSync(join(b.home, '.cache', 'ankra', 'completion.json'), '{not json');
    const r = await ankra(['__complete', 'cluster'], { env: b.env });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    b.cleanup();
  });
});

describe('`ankra completion`', () => {
  it('`ankra completion tcsh` is a usage error in ankra\'s words', async () => {
    const r = await ankra(['completion', 'tcsh'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ankra: invalid SHELL "tcsh": choose bash, zsh or fish\n');
  });
});

// ------------------------------------------------------------------ hostile names

/**
 * Names an organisation member could give a cluster, aimed at whoever completes them: a
 * command substitution, backticks, ${IFS}, quotes, a newline and escape sequences.
 */
const HOSTILE = (canary: string) => [
  `x$(touch${'${IFS}'}${canary}-1)`,
  `y\`touch ${canary}-2\``,
  `z;touch ${canary}-3`,
  `q'"uote`,
  `nl\ntouch ${canary}-4`,
  `esc\u001b]0;PWNED\u0007\u001b[2J`,
];

/** Types `keys` into an interactive shell on a pty, then exits it; returns what the terminal showed. */
async function interactive(shell: 'bash' | 'zsh' | 'fish', rc: string, keys: string[], shellEnv: NodeJS.ProcessEnv): Promise<string> {
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : shell === 'zsh' ? ['zsh', '-i'] : ['fish', '--no-config', '-i', '-C', `source ${rc}`];
  const quoted = argv.map(sq).join(' ');
  const child = spawn('script', ['-qfec', `stty cols 200 rows 50; exec ${quoted}`, '/dev/null'], { env: { TERM: 'xterm', ...shellEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await sleep(800);
  for (const k of keys) {
    child.stdin.write(k);
    await sleep(600);
  }
  child.stdin.write('\u0003');
  await sleep(200);
  child.stdin.write(shell === 'fish' ? 'exit\r' : 'exit\n');
  await new Promise((r) => {
    const t = setTimeout(() => (child.kill('SIGKILL'), r(undefined)), 5000);
    child.on('close', () => (clearTimeout(t), r(undefined)));
  });
  return out;
}

describe.skipIf(PTY.skip)('hostile cluster names in real shells', () => {
  let emu: InProcessEmulator;
  let b: Sandbox;
  let shellEnv: NodeJS.ProcessEnv;
  const canary = () => join(b.dir, 'pwned');

  beforeAll(async () => {
    PTY.assert();
    emu = await startEmulator();
    b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] });
    for (const name of HOSTILE(canary())) await emu.hook('POST', 'clusters', { name });
    // the names reach the completion cache the way they would: a listing
    expect((await ankra(['cluster', 'list'], { env: b.env })).code).toBe(0);
    shellEnv = { ...b.env, PATH: `${ankraOnPath(b.dir)}${delimiter}${b.env.PATH ?? ''}`, HISTFILE: '/dev/null' };
    for (const shell of SHELLS) writeFileSync(join(b.dir, `ankra.${shell}`), (await ankra(['completion', shell], { env: b.env })).stdout);
    writeFileSync(join(b.dir, 'bashrc'), `PS1='$ '\nsource ${sq(join(b.dir, 'ankra.bash'))}\n`);
    mkdirSync(join(b.dir, 'zdot'), { recursive: true });
    writeFileSync(join(b.dir, 'zdot', '.zshrc'), `PS1='$ '\nautoload -Uz compinit && compinit -u\nsource ${sq(join(b.dir, 'ankra.zsh'))}\n`);
  });
  afterAll(async () => {
    await emu?.stop();
    b?.cleanup();
  });

  it('__complete offers each showable name as it is, one per line; a newline or escape sequence is not offered', () => {
    const names = candidates('cluster', b.env);
    const [sub, tick, semi, quote] = HOSTILE(canary());
    expect(names).toEqual(expect.arrayContaining([sub, tick, semi, quote]));
    expect(names.some((n) => n.includes('\n') || n.includes('\u001b'))).toBe(false);
  });

  /**
   * Each of the $(…), backtick and `;` names, completed from its first letter and the line
   * then run: nothing ran (no canary file), and ankra got the literal name, which it echoes
   * in its "no grants on NAME" line.
   */
  const TYPED = ['x', 'y', 'z'].flatMap((first) => [`ankra cluster access list --cluster ${first}\t`, '\r']);
  function expectCompletedLiterally(out: string): void {
    const [sub, tick, semi] = HOSTILE(canary());
    for (const i of [1, 2, 3]) expect(existsSync(`${canary()}-${i}`), out).toBe(false);
    for (const name of [sub, tick, semi]) expect(out).toContain(`no grants on ${name}\r\n`);
  }

  it('bash: completing them runs nothing, and inserts them quoted', async () => {
    const out = await interactive('bash', join(b.dir, 'bashrc'), TYPED, shellEnv);
    expectCompletedLiterally(out);
    expect(out).toContain('x\\$\\(touch\\$\\{IFS\\}');
    // and the candidates bash inserted, run for real, pass the literal name
    const got = await bashComplete(scripts.bash.replace(sb.dir, sb.dir), [['ankra', 'cluster', 'access', 'list', '--cluster', 'x']], shellEnv);
    expect(got[0]).toHaveLength(1);
    const echoed = await runProgram('bash', ['--norc', '-c', `printf '%s' ${got[0]?.[0]}`], { env: shellEnv });
    expect(echoed.stdout).toBe(HOSTILE(canary())[0]);
    expect(existsSync(`${canary()}-1`)).toBe(false);
  });

  it.skipIf(ZSH.skip)('zsh: completing them runs nothing, and inserts them quoted', async () => {
    ZSH.assert();
    const out = await interactive('zsh', '', TYPED, { ...shellEnv, ZDOTDIR: join(b.dir, 'zdot') });
    expectCompletedLiterally(out);
  });

  it.skipIf(FISH.skip)('fish: completing them runs nothing, and inserts them quoted', async () => {
    FISH.assert();
    const out = await interactive('fish', join(b.dir, 'ankra.fish'), TYPED, shellEnv);
    expectCompletedLiterally(out);
  });
});
