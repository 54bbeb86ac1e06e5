// scan.ts, the line reader for kubeconfig files as kubectl writes them, against the yaml
// package it stands in for: on every text it accepts, the data must be the yaml package's
// (YAML 1.1), and edits spliced through its outline must give the same text as through the
// yaml package's Document. Texts outside its subset go to the yaml package, as before.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { applyEdits } from '../src/kube/edit';
import type { Edit } from '../src/kube/edit';
import { parseKubeconfig, scanText } from '../src/kube/parse';
import type { ParsedKubeconfig } from '../src/kube/parse';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'kubeconfig');

/** What the yaml package makes of a text: its data, or its first error. */
function yamlData(text: string): unknown {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) return `error: ${doc.errors[0]!.code}`;
  return doc.toJS() ?? {};
}

function readBoth(text: string): { scan: ParsedKubeconfig | string; yaml: ParsedKubeconfig | string } {
  const read = (reader: 'auto' | 'yaml') => {
    try {
      return parseKubeconfig('f', text, reader);
    } catch (err) {
      return (err as Error).message;
    }
  };
  return { scan: read('auto'), yaml: read('yaml') };
}

// A seeded generator of kubeconfig-like files: both sequence styles, 2 to 4 spaces, CRLF,
// comments at odd depths, YAML 1.1 words, numbers and timestamps, quoted scalars, empty
// values, nested lists, and (when `wild`) constructs outside the subset or invalid YAML.
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const WORDS = ['v1', 'Config', 'a', 'kind-1', 'arn:aws:eks:eu-west-1:1:cluster/p', 'https://x.example:6443', '/etc/ca.pem', 'team-a', 'LS0tLS1CRUdJTg==', '_x', 'Ünï', 'a#b', 'x y z', '--cluster', '-x', '+x', '.foo', 'a,b', 'a]', 'a}', "it's", 'e5', 'E-3', 'e', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', 'null', 'NULL', '~', '12', '0x1F', '0o7', '1_000', '1:20', '3.14', '.inf', '-.5', '.NaN', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '1e5', '012', '0b101', '6f1c2a9e-4b1d', '192.168.0.1', '10.0.0.1:6443', '--', '+', '.', 'a:b', 'http://a#frag', 'a\u00a0b'];
const QUOTED = ['"a"', '"a b # c"', '"a\\"b"', '"a\\\\b"', '"a\\/b\\n"', "'a'", "'it''s'", "''", '""', '"on"', "'12'", '"a\\tb"'];
const KEYS = ['name', 'server', 'namespace', 'certificate-authority-data', 'client.authentication.k8s.io/exec', 'x_y', 'Z', 'proxy-url', 'a1', 'extension', 'extensions', 'user', 'token', 'cluster', 'args', 'env', 'value'];
const ODD = ['"\\u0041"', '"\\x41"', '"a\\eb"', '&a x', '*a', '!!str x', '|', '>', '[a, b]', '{a: 1}', 'a: b', '- x', '"open', "'open", '@x', '`x', '%x', '? x', 'x\ty', '<<'];
const ODD_KEYS = ['on', 'y', 'e5', 'null', '1a', 'a b', '"q"', '__proto__', 'k :', '<<'];

function generate(seed: number, { wild = false, comments = true } = {}): string {
  const r = random(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const step = pick([2, 2, 2, 3, 4]);
  const indentSeq = chance(0.3);
  const eol = chance(0.1) ? '\r\n' : '\n';
  const odd = wild && chance(0.3);
  const lines: string[] = [];
  const sp = (n: number) => ' '.repeat(Math.max(0, n));
  const comment = (ind: number) => {
    if (comments && chance(0.08)) lines.push(`${sp(ind + pick([-4, -2, -1, 0, 1, 2, 4]))}# c${Math.floor(r() * 100)}`);
    if (chance(0.05)) lines.push(sp(chance(0.5) ? 0 : Math.floor(r() * 6)));
  };
  const scalar = (): string => {
    const x = r();
    let v = x < 0.6 ? pick(WORDS) : x < 0.85 ? pick(QUOTED) : x < 0.9 ? pick(['{}', '[]']) : x < 0.95 || !comments ? '' : `${pick(WORDS)} # trailing`;
    if (chance(0.05)) v += '  ';
    if (odd && chance(0.03)) v = pick(ODD);
    return v;
  };
  const map = (ind: number, depth: number, prefix?: string) => {
    const used = new Set<string>();
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) {
      const k = odd && chance(0.02) ? pick(ODD_KEYS) : pick(KEYS);
      if (used.has(k) && !(odd && chance(0.1))) continue;
      used.add(k);
      const head = i === 0 && prefix !== undefined ? prefix : sp(ind);
      if (i > 0 || prefix === undefined) comment(ind);
      const kind = depth > 3 ? 0 : r();
      if (kind < 0.6) {
        const v = scalar();
        lines.push(`${head}${k}:${v === '' ? '' : ` ${v}`}`);
        if (odd && chance(0.02)) lines.push(`${sp(ind + pick([1, 2, 4]))}continued`);
      } else if (kind < 0.8) {
        lines.push(`${head}${k}:${comments && chance(0.1) ? ' # c' : ''}`);
        map(ind + step + (odd && chance(0.02) ? 1 : 0), depth + 1);
      } else {
        lines.push(`${head}${k}:`);
        seq(ind + (indentSeq ? step : 0), depth + 1);
      }
      if (odd && chance(0.02)) lines.push(`${sp(ind + 1)}bad: indent`);
    }
  };
  const seq = (ind: number, depth: number) => {
    for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) {
      comment(ind);
      const kind = depth > 3 ? 0 : r();
      const gap = chance(0.9) ? 1 : pick([2, 3]);
      if (kind < 0.3) {
        const v = scalar();
        lines.push(`${sp(ind)}-${v === '' ? '' : sp(gap) + v}`);
      } else if (kind < 0.85) {
        map(ind + 1 + gap, depth + 1, `${sp(ind)}-${sp(gap)}`);
      } else if (kind < 0.95) {
        lines.push(`${sp(ind)}-${comments && chance(0.2) ? ' # c' : ''}`);
        if (chance(0.7)) map(ind + step, depth + 1);
      } else {
        lines.push(`${sp(ind)}- - x`);
      }
    }
  };
  if (comments && chance(0.2)) lines.push('# header');
  const top: Array<() => void> = [
    () => lines.push('apiVersion: v1'),
    () => lines.push('kind: Config'),
    () => lines.push(pick(['preferences: {}', 'preferences:', `current-context: ${pick(['a', '"b"', '', "'c'", comments ? 'kind-1 # c' : 'kind-1'])}`])),
  ];
  for (const kind of ['clusters', 'users', 'contexts']) {
    top.push(() => {
      if (chance(0.1)) {
        lines.push(`${kind}: ${pick(['null', '[]', '~', '', comments ? '[] # none' : '[]'])}`.trimEnd());
        return;
      }
      lines.push(`${kind}:${comments && chance(0.1) ? ' # list' : ''}`);
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) {
        comment(indentSeq ? step : 0);
        const d = indentSeq ? step : 0;
        lines.push(`${sp(d)}- name: ${kind}-${i}`);
        map(d + 2, 1);
      }
    });
  }
  if (chance(0.3)) {
    top.push(() => {
      lines.push('extra:');
      map(step, 1);
    });
  }
  for (let i = top.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [top[i], top[j]] = [top[j]!, top[i]!];
  }
  for (const add of top) {
    add();
    comment(0);
  }
  if (comments && chance(0.2)) lines.push(pick(['# end', '  # deep end', '', '    # deeper']));
  let text = lines.join(eol);
  if (!chance(0.1)) text += eol;
  if (odd && chance(0.05)) text = text.replace('\n', '\n\t');
  return text;
}

/** A file of n Ankra contexts as kubectl lays them out, each cluster with a CA blob. */
function kubectlFile(n: number): string {
  const ca = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'MIIDBTCCAe2gAwIBAgIIbq0Fh5y8P1AwDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE\n'.repeat(17)}-----END CERTIFICATE-----\n`).toString('base64');
  const id = (i: number) => `${String(i).padStart(8, '0')}-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`;
  const clusters = ['# by hand\n- cluster:\n    certificate-authority-data: ' + ca + '\n    insecure-skip-tls-verify: false\n    server: https://10.0.0.1:6443\n  name: kind-kind\n'];
  const users = ['- name: kind-kind\n  user:\n    client-certificate-data: ' + ca + '\n'];
  const contexts = ['- context:\n    cluster: kind-kind\n    user: kind-kind\n  name: kind-kind\n'];
  for (let i = 0; i < n; i++) {
    const name = `ankra-cluster-${i}`;
    clusters.push(`- cluster:\n    certificate-authority-data: ${ca}\n    server: https://platform.ankra.app/api/v1/clusters/${id(i)}/k8s\n  name: ${name}\n`);
    users.push(
      `- name: ${name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      args:\n      - cluster\n      - kube-token\n      - --cluster\n      - ${id(i)}\n` +
        '      - --org\n      - 0b9d8c7a-1e2f-4a3b-8c4d-5e6f7a8b9c0d\n      command: ankra\n      installHint: "ankra is needed to reach this cluster: install the ankra CLI, then run `ankra login`"\n' +
        '      interactiveMode: Never\n      provideClusterInfo: false\n',
    );
    contexts.push(`- context:\n    cluster: ${name}\n    namespace: team-${i % 3}\n    user: ${name}\n  name: ${name}\n`);
  }
  return `apiVersion: v1\nclusters:\n${clusters.join('')}contexts:\n${contexts.join('')}current-context: kind-kind\nkind: Config\npreferences: {}\nusers:\n${users.join('')}`;
}

describe('the line reader (scan.ts)', () => {
  it('reads what kubectl writes, and the fixtures in its subset, as the yaml package does', () => {
    const big = kubectlFile(50);
    const { scan, yaml } = readBoth(big);
    expect(typeof scan === 'object' && scan.reader).toBe('scan');
    expect(scan).toMatchObject({ plain: (yaml as ParsedKubeconfig).plain, outline: (yaml as ParsedKubeconfig).outline });

    const scanned: string[] = [];
    for (const name of readdirSync(FIXTURES)) {
      const text = readFileSync(join(FIXTURES, name), 'utf8');
      const both = readBoth(text);
      if (typeof both.scan === 'string' || typeof both.yaml === 'string') {
        // an invalid file is refused with the same words either way
        expect(both.scan, name).toBe(both.yaml);
        continue;
      }
      expect(both.scan.plain, name).toEqual(both.yaml.plain);
      expect(both.scan.outline, name).toEqual(both.yaml.outline);
      if (both.scan.reader === 'scan') scanned.push(name);
    }
    // the others have flow collections, anchors, tabs or a Latin-1 byte
    expect(scanned.sort()).toEqual(['comments-only.yaml', 'crlf.yaml', 'indented.yaml', 'no-trailing-newline.yaml', 'null-lists.yaml']);
  });

  it.each([
    ...['on', 'Off', 'y', 'N', 'yes', 'NO', 'true', 'False', 'null', 'NULL', '~', 'e5', 'E-3', '1e5', '0x1F', '012', '0b101', '1_000', '1:20', '3.14', '.inf', '-.5', '.NaN'],
    ...['2001-12-14', '2001-12-14t21:59:43.10-05:00', '--cluster', '-x', '+x', '.foo', '6f1c2a9e-4b1d', '192.168.0.1', 'a#b', 'a # comment', 'http://a#frag', 'arn:aws:eks:eu-west-1:1:cluster/p'],
    ...['"a\\"b"', "'it''s'", '"a\\/b\\n\\t"', '"on" # quoted', "''", '{}', '[]', ''],
  ])('a value written %s means what YAML 1.1 says', (value) => {
    const text = `current:\n  v: ${value}\nlist:\n- ${value}\n`;
    expect(scanText(text)?.plain).toEqual(yamlData(text));
  });

  it.each([
    ['an anchor', 'a: &x {}\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a block scalar', 'a: |\n  text\n'],
    ['a flow mapping', 'a: {b: 1}\n'],
    ['a plain scalar over two lines', 'a: one\n  two\n'],
    ['a tab', 'a:\tb\n'],
    ['a key YAML 1.1 reads as a boolean', 'on: 1\n'],
    ['a quoted key', '"a": 1\n'],
    ['a \\u escape', 'a: "\\u0041"\n'],
    ['a byte order mark', '\uFEFFa: 1\n'],
    ['a document marker', '---\na: 1\n'],
    ['a merge key', 'a:\n  <<: {}\n'],
    ['nesting past any kubeconfig', `a:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}a:\n`).join('')}`],
  ])('leaves %s to the yaml package', (_, text) => {
    expect(scanText(text)).toBeUndefined();
    const { scan, yaml } = readBoth(text);
    expect(typeof scan === 'object' && scan.reader).toBe('yaml');
    expect(scan).toMatchObject({ plain: (yaml as ParsedKubeconfig).plain, outline: (yaml as ParsedKubeconfig).outline });
  });

  it.each([
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a list where a key belongs', 'a: 1\n- b\n'],
    ['a colon in a value', 'a: b: c\n'],
  ])('refuses %s as the yaml package does', (_, text) => {
    expect(scanText(text)).toBeUndefined();
    expect(yamlData(text)).toMatch(/^error: /);
    const { scan, yaml } = readBoth(text);
    expect(typeof scan).toBe('string');
    expect(scan).toBe(yaml);
  });

  it('agrees with the yaml package on generated files', () => {
    let accepted = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      for (const wild of [false, true]) {
        const text = generate(seed, { wild });
        const scanned = scanText(text);
        if (!scanned) continue;
        accepted++;
        expect(scanned.plain, JSON.stringify(text)).toEqual(yamlData(text));
      }
    }
    expect(accepted).toBeGreaterThan(500);
  });

  it('agrees with the yaml package on files changed at random, whenever it reads them', () => {
    const chars = [' ', ':', '#', '-', "'", '"', '\n', '\n  ', '{', '}', '[', ']', '&', '*', '!', '|', '>', '?', '%', '@', ',', '\\', 'x', '0', '.', '~', '\r\n', ': ', '- ', ' #', 'é'];
    let accepted = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const r = random(seed * 31 + 7);
      let base = seed;
      let text = generate(base);
      while (!scanText(text)) text = generate((base += 7919));
      for (let k = 0, m = 1 + Math.floor(r() * 3); k < m; k++) {
        const at = Math.floor(r() * text.length);
        const how = r();
        if (how < 0.5) text = text.slice(0, at) + chars[Math.floor(r() * chars.length)] + text.slice(at);
        else if (how < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 3));
        else {
          const line = text.lastIndexOf('\n', at) + 1;
          text = text.slice(0, line) + (r() < 0.5 ? ' ' : '') + text.slice(line + (r() < 0.5 ? 1 : 0));
        }
      }
      const scanned = scanText(text);
      if (!scanned) continue;
      accepted++;
      expect(scanned.plain, JSON.stringify(text)).toEqual(yamlData(text));
    }
    expect(accepted).toBeGreaterThan(200);
  });

  it("splices edits as the yaml package's outline does", () => {
    // without comments (whose place between entries is a matter of taste) the two outlines
    // agree, except where the yaml package's ends an entry inside a line (an empty value last)
    let compared = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const text = generate(seed, { comments: false });
      const { scan, yaml } = readBoth(text);
      if (typeof scan === 'string' || scan.reader !== 'scan' || typeof yaml === 'string') continue;
      if (/[:-]$/.test(text.trimEnd())) continue;
      if ([...yaml.outline.pairs.values()].some((p) => p.value.type === 'block-seq' && p.value.items === undefined)) continue;
      expect(scan.outline, JSON.stringify(text)).toEqual(yaml.outline);
      compared++;
      const r = random(seed);
      const edits: Edit[] = [];
      for (const kind of ['clusters', 'users', 'contexts'] as const) {
        for (const e of scan.data[kind]) if (r() < 0.3) edits.push(r() < 0.5 ? { op: 'remove', kind, name: e.name } : { op: 'put', kind, entry: { name: e.name, cluster: { server: 'https://new' } } });
        if (r() < 0.3) edits.push({ op: 'put', kind, entry: { name: 'ankra-new', cluster: { server: 'https://n' } } });
      }
      if (r() < 0.3) edits.push({ op: 'current', value: 'ankra-new' });
      const edit = (parsed: ParsedKubeconfig) => {
        try {
          return applyEdits(parsed, edits);
        } catch (err) {
          return (err as Error).message;
        }
      };
      expect(edit(scan), JSON.stringify(text)).toEqual(edit(yaml));
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('adds to and empties a big kubectl-style file as the yaml package would, checking the edited stretches alone', () => {
    const text = kubectlFile(200);
    const scan = parseKubeconfig('f', text);
    const yaml = parseKubeconfig('f', text, 'yaml');
    expect(scan.reader).toBe('scan');
    const add: Edit[] = (['clusters', 'users', 'contexts'] as const).map((kind) => ({ op: 'put', kind, entry: { name: 'ankra-new', [kind.slice(0, -1)]: { server: 'https://n' } } }));
    const removeAll: Edit[] = (['clusters', 'users', 'contexts'] as const).flatMap((kind) => scan.data[kind].filter((e) => e.name.startsWith('ankra-')).map((e): Edit => ({ op: 'remove', kind, name: e.name })));
    for (const edits of [add, removeAll]) {
      const result = applyEdits(scan, edits);
      expect(result).toMatchObject({ method: 'splice', check: 'windows' });
      expect(result).toEqual(applyEdits(yaml, edits));
    }
  });
});
