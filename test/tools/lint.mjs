// Lint: only the output modules (src/ui/) may write to the terminal. Walks the TypeScript
// AST of every file under src/ and reports `console.*`, `process.stdout` and
// `process.stderr` anywhere else. Exit 1 with file:line for each hit.
import ts from 'typescript';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const allowed = (rel) => rel.startsWith(`src${sep}ui${sep}`);

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

const problems = [];
for (const file of files(join(root, 'src'))) {
  const rel = relative(root, file);
  if (allowed(rel)) continue;
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const obj = node.expression.getText(sf);
      const name = ts.isPropertyAccessExpression(node) ? node.name.getText(sf) : node.argumentExpression.getText(sf).replace(/['"`]/g, '');
      if (obj === 'console' || (obj === 'process' && (name === 'stdout' || name === 'stderr'))) {
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
        problems.push(`${rel}:${line + 1}: ${obj}.${name} outside src/ui/ (write through src/ui/output.ts or src/ui/stdio.ts)`);
      }
    } else if (ts.isIdentifier(node) && node.text === 'console' && !ts.isPropertyAccessExpression(node.parent)) {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      problems.push(`${rel}:${line + 1}: console outside src/ui/`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\nlint: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write('lint: ok\n');
