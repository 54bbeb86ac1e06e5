import { parseAccessFile, renderAccessFile, formatProblem } from '../src/access/file';
const hostile = ['a\nb', 'x\u001b[31my', 'r\u202etl', 'ls\u2028x', '\u0085n', 'c\u009bd', 'plain $(rm) #x', 'del\u007fx', 'tab\tx', 'café'];
const text = renderAccessFile(['exported', 'evil \u001b[2J header'], hostile.map((h, i) => ({ key: h, note: i === 0 ? `name ${h}` : undefined, entries: [{ email: `u${i}@x.io`, role: 'view' as const, namespace: i % 2 ? 'team-a' : null }], commented: i === 1 ? [{ email: 'gone\u001b@x.io', role: 'edit' as const, why: 'not a member \u202e' }] : [] })));
console.log(text);
console.log(JSON.stringify(text).slice(0, 2000));
const r = parseAccessFile(text, 'x.yaml');
console.log(r.problems, r.file.sections.map((s) => s.key));
console.log(JSON.stringify(r.file.sections.map((s) => s.key)) === JSON.stringify(hostile));
const bad = `# c
clusters:
  staging:
    - {email: alice@example.com, role: owner, namespace: team-a}
    - {email: bob@example.com}
    - {email: bob@example.com, role: view, namespce: x}
    - email: carol@example.com
      role: cluster-admin
      namespace: Team_A
    - {email: alice@example.com, role: view, namespace: team-a}
    - {email: 'not an email', role: view}
    - just a string
  prod-eu:
  dev: {a: 1}
  staging: []
extra: 1
`;
for (const p of parseAccessFile(bad, 'a.yaml').problems) console.log(formatProblem('a.yaml', p));
for (const t of ['', 'clusters: [1]', 'a: [', '---\na: 1\n---\nb: 2\n', 'clusters:\n  s: &x []\n  t: *x\n', '[]', 'clusters:\n  s:\n    - {email: a@b.cd, role: view, namespace: 123}\n']) console.log(JSON.stringify(t), parseAccessFile(t, 'f').problems.map((p) => formatProblem('f', p)));
