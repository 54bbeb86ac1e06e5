// The exec plugin's code path is straight: src/main.ts parses argv once and goes to the
// cache hit (a leaf), the slow path or the full CLI; nothing imports back. This reads the
// import graph of src/ with the TypeScript parser: no cycles through the plugin's modules,
// and the statically imported closure of the entry (what every cache hit evaluates) holds
// only small modules and node built-ins.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/cli';

interface Edge {
  to: string;
  dynamic: boolean;
}

const SRC = join(ROOT, 'src');

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = join(dirname(from), spec);
  for (const c of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return undefined;
}

/** Runtime imports of one file: static (not type-only) and dynamic `import()`. */
function importsOf(file: string): { local: Edge[]; packages: string[] } {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const local: Edge[] = [];
  const packages: string[] = [];
  const add = (spec: string, dynamic: boolean) => {
    const to = resolveLocal(file, spec);
    if (to) local.push({ to, dynamic });
    else if (!spec.startsWith('.')) packages.push(spec);
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      const onlyTypes = bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly) && !node.importClause?.name;
      if (!onlyTypes) add(node.moduleSpecifier.text, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      add(node.moduleSpecifier.text, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { local, packages };
}

function graph(entry: string): Map<string, ReturnType<typeof importsOf>> {
  const seen = new Map<string, ReturnType<typeof importsOf>>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    const imps = importsOf(f);
    seen.set(f, imps);
    for (const e of imps.local) todo.push(e.to);
  }
  return seen;
}

const rel = (f: string) => relative(ROOT, f);
const OWNED = /^src\/(main\.ts|main-dispatch\.ts|fastpath\/|exec\/|cache\/|core\/(lock|paths|fsutil)\.ts)/;

describe('the plugin code path', () => {
  const g = graph(join(SRC, 'main.ts'));

  it('has no import cycle through the plugin modules (static or dynamic imports)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const dfs = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const { to } of g.get(f)?.local ?? []) {
        if (state.get(to) === 'open') {
          const cycle = [...stack.slice(stack.indexOf(to)), to].map(rel);
          if (cycle.some((c) => OWNED.test(c))) cycles.push(cycle.join(' → '));
        } else if (!state.has(to)) dfs(to);
      }
      stack.pop();
      state.set(f, 'done');
    };
    dfs(join(SRC, 'main.ts'));
    expect(cycles).toEqual([]);
    // The control: the walk did reach the slow path, the check and the full CLI.
    expect([...g.keys()].map(rel)).toEqual(expect.arrayContaining(['src/exec/mint.ts', 'src/exec/check.ts', 'src/cli/run.ts', 'src/fastpath/kube-token.ts']));
  });

  it('a cache hit evaluates only small project modules and node built-ins', () => {
    const closure = new Set<string>();
    const packages = new Set<string>();
    const walk = (f: string) => {
      if (closure.has(f)) return;
      closure.add(f);
      const imps = g.get(f) ?? importsOf(f);
      for (const p of imps.packages) packages.add(p);
      for (const e of imps.local) if (!e.dynamic) walk(e.to);
    };
    walk(join(SRC, 'main.ts'));
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual([]);
    const files = [...closure].map(rel).sort();
    expect(files.filter((f) => /^src\/(exec|api|commands|kube|deps|cli|net|lookup)/.test(f) || f === 'src/auth/credentials.ts' || f === 'src/auth/store.ts' || f === 'src/auth/oidc.ts')).toEqual([]);
    expect(files).toContain('src/fastpath/kube-token.ts');
    // The slow path, the check and the CLI are reached only through main's dynamic imports.
    const dynamicFromMain = (g.get(join(SRC, 'main.ts'))?.local ?? []).filter((e) => e.dynamic).map((e) => rel(e.to));
    expect(dynamicFromMain.sort()).toEqual(['src/cli/run.ts', 'src/exec/check.ts', 'src/exec/mint.ts']);
  });

  it('the fast path and the slow path never import the entry, each other\'s entry or the CLI', () => {
    const forbidden: Record<string, string[]> = {
      'src/fastpath/': ['src/exec/', 'src/cli/', 'src/main.ts', 'src/deps.ts'],
      'src/exec/': ['src/fastpath/kube-token.ts', 'src/cli/', 'src/commands/', 'src/main.ts'],
      'src/cache/': ['src/exec/', 'src/fastpath/', 'src/cli/', 'src/main.ts'],
    };
    const bad: string[] = [];
    for (const [file, imps] of g) {
      const from = rel(file);
      for (const [dir, nots] of Object.entries(forbidden)) {
        if (!from.startsWith(dir)) continue;
        for (const e of imps.local) if (nots.some((n) => rel(e.to).startsWith(n))) bad.push(`${from} → ${rel(e.to)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
