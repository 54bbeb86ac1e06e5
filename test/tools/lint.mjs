// Lint, over the TypeScript AST of every file under src/:
//  1. only the output modules (src/ui/) write to the terminal: no `console.*`,
//     `process.stdout` or `process.stderr` anywhere else;
//  2. one owner per outside package: each library is imported only by the module(s) that
//     own it (undici by the transport, commander by the command tree, …), whether through
//     `import`, `import()`, `require()` or `importPackage()`;
//  3. no import circles: the modules form a tree of layers (static and dynamic imports;
//     `import type` carries nothing at run time and is left out).
// Exit 1 with file:line for each problem.
import ts from 'typescript';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const src = join(root, 'src');
const posix = (p) => p.split(sep).join('/');

/** Who may import each outside package (paths under src/, a trailing / for a folder). */
export const OWNERS = {
  undici: ['net/transport.ts'],
  commander: ['cli/program.ts', 'cli/run.ts'],
  yaml: ['kube/', 'formats/yaml.ts'],
  ora: ['ui/spinner.ts'],
  uqr: ['ui/output.ts'],
  'openid-client': ['auth/oidc.ts'],
  '@napi-rs/keyring': ['auth/store.ts'],
  '@kubernetes/client-node': ['kube/client.ts'],
};
const mayWrite = (rel) => rel.startsWith('ui/');
/** The loaders themselves, which take the name they are given. */
const LOADERS = ['core/esm.ts', 'core/vendor.ts'];

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function resolveLocal(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  return undefined;
}

const problems = [];
/** src-relative module → the src-relative modules it imports (values, not types). */
const graph = new Map();

for (const file of files(src)) {
  const rel = posix(relative(src, file));
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const at = (node) => `src/${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
  const edges = new Set();
  const imported = (node, spec, typeOnly) => {
    if (spec.startsWith('.')) {
      const target = resolveLocal(file, spec);
      if (target && !typeOnly) edges.add(posix(relative(src, target)));
      return;
    }
    if (spec.startsWith('node:')) return;
    const pkg = packageOf(spec);
    const owners = OWNERS[pkg];
    if (!owners) {
      problems.push(`${at(node)}: imports ${spec}, which has no owner in test/tools/lint.mjs (add one: one module per outside package)`);
    } else if (!owners.some((o) => (o.endsWith('/') ? rel.startsWith(o) : rel === o))) {
      problems.push(`${at(node)}: imports ${spec}, which only ${owners.map((o) => `src/${o}`).join(' and ')} may import (go through it)`);
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = Boolean(clause?.isTypeOnly) || Boolean(clause && !clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.every((e) => e.isTypeOnly));
      imported(node, node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      imported(node, node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      imported(node, node.arguments[0].text, false);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && (node.expression.text === 'require' || node.expression.text === 'importPackage')) {
      // require('x') and importPackage('x') (src/core/esm.ts) load a package as surely as import does
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) imported(node, arg.text, false);
      else if (!LOADERS.includes(rel)) problems.push(`${at(node)}: ${node.expression.text}() of a computed name hides which package it loads (name it with a string)`);
    } else if (ts.isImportTypeNode(node)) {
      // typeof import('x'): a type only
    } else if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const obj = node.expression.getText(sf);
      const name = ts.isPropertyAccessExpression(node) ? node.name.getText(sf) : node.argumentExpression.getText(sf).replace(/['"`]/g, '');
      if (!mayWrite(rel) && (obj === 'console' || (obj === 'process' && (name === 'stdout' || name === 'stderr')))) {
        problems.push(`${at(node)}: ${obj}.${name} outside src/ui/ (write through src/ui/output.ts or src/ui/stdio.ts)`);
      }
    } else if (ts.isIdentifier(node) && node.text === 'console' && !ts.isPropertyAccessExpression(node.parent) && !mayWrite(rel)) {
      problems.push(`${at(node)}: console outside src/ui/`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  graph.set(rel, edges);
}

// Import circles: a depth-first search; each circle is reported once, from its smallest module.
const seen = new Set();
const circles = new Set();
const stack = [];
const onStack = new Set();
const dfs = (node) => {
  seen.add(node);
  stack.push(node);
  onStack.add(node);
  for (const next of graph.get(node) ?? []) {
    if (onStack.has(next)) {
      const cycle = stack.slice(stack.indexOf(next));
      const start = cycle.indexOf([...cycle].sort()[0]);
      circles.add([...cycle.slice(start), ...cycle.slice(0, start)].join(' → '));
    } else if (!seen.has(next)) dfs(next);
  }
  stack.pop();
  onStack.delete(node);
};
for (const node of [...graph.keys()].sort()) if (!seen.has(node)) dfs(node);
for (const c of circles) problems.push(`import circle: ${c} → ${c.split(' → ')[0]}`);

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\nlint: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`lint: ok (${graph.size} modules, no import circle, every outside package through its owner)\n`);
