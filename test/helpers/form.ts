/** The emulator's verification page, read as a browser would submit it. */

/** The page's form: its action and named input fields (buttons excluded), HTML-decoded. */
export function parseForm(html: string): { action: string; fields: URLSearchParams } {
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
  const action = /<form[^>]*\baction="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error('no form on the page');
  const fields = new URLSearchParams();
  for (const [, tag = ''] of html.matchAll(/<input\b([^>]*)>/g)) {
    const name = /\bname="([^"]*)"/.exec(tag)?.[1];
    if (name) fields.set(name, decode(/\bvalue="([^"]*)"/.exec(tag)?.[1] ?? ''));
  }
  return { action: decode(action), fields };
}
