/** The emulator's browser pages (the OIDC verification page, the CLI login approval page), read as a browser would submit them. */

export interface ParsedForm {
  /** The form's action, HTML-decoded (relative to the page). */
  action: string;
  /** Named inputs (hidden ones included) and selects, with the value a browser would submit untouched; buttons excluded. */
  fields: URLSearchParams;
  /** The option values of each select, by name, in page order. */
  options: Record<string, string[]>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** HTML character references, decoded in one pass (so `&#38;lt;` stays `&lt;`). */
const decode = (s: string): string =>
  s.replace(/&(#\d+|[a-z]+);/g, (whole, ref: string) =>
    ref.startsWith('#') ? String.fromCharCode(Number(ref.slice(1))) : (ENTITIES[ref] ?? whole),
  );

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/** The page's form: its action, named input and select fields (buttons excluded), HTML-decoded. */
export function parseForm(html: string): ParsedForm {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/.exec(html);
  const action = form && attr(form[1] ?? '', 'action');
  if (!form || action === undefined || action === null) throw new Error('no form on the page');
  const body = form[2] ?? '';
  const fields = new URLSearchParams();
  const options: Record<string, string[]> = {};
  for (const [, tag = ''] of body.matchAll(/<input\b([^>]*)>/g)) {
    const name = attr(tag, 'name');
    if (name) fields.set(name, decode(attr(tag, 'value') ?? ''));
  }
  for (const [, tag = '', inner = ''] of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
    const name = attr(tag, 'name');
    if (!name) continue;
    const opts = [...inner.matchAll(/<option\b([^>]*)>/g)].map(([, o = '']) => ({ value: decode(attr(o, 'value') ?? ''), selected: /\bselected\b/.test(o) }));
    options[name] = opts.map((o) => o.value);
    // A browser submits the selected option, else the first.
    const chosen = opts.find((o) => o.selected) ?? opts[0];
    if (chosen) fields.set(name, chosen.value);
  }
  return { action: decode(action), fields, options };
}
