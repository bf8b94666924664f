/**
 * A small scanner over MJML's output HTML that reports where text runs and attribute values
 * are, so each merge slot gets the escaping of the place it lands in (HTML text, attribute,
 * URL). MJML's output is machine-written and well-formed; comments, conditional comments and
 * <style>/<script> contents are reported as opaque so nothing is ever inserted there.
 */

export type Region =
  | { kind: 'text'; start: number; end: number }
  | { kind: 'attr'; tag: string; name: string; start: number; end: number; quoted: boolean }
  | { kind: 'opaque'; start: number; end: number };

const RAW_TEXT = new Set(['style', 'script', 'textarea', 'title']);

export function scanHtml(html: string): Region[] {
  const regions: Region[] = [];
  let i = 0;
  let textStart = 0;
  const n = html.length;
  const flushText = (end: number) => {
    if (end > textStart) regions.push({ kind: 'text', start: textStart, end });
  };
  while (i < n) {
    if (html.charCodeAt(i) !== 60 /* < */) {
      i++;
      continue;
    }
    if (html.startsWith('<!--', i)) {
      flushText(i);
      const end = html.indexOf('-->', i + 4);
      const stop = end === -1 ? n : end + 3;
      regions.push({ kind: 'opaque', start: i, end: stop });
      i = textStart = stop;
      continue;
    }
    const next = html.charCodeAt(i + 1);
    const isTag = (next >= 65 && next <= 90) || (next >= 97 && next <= 122) || next === 47 /* / */ || next === 33 /* ! */;
    if (!isTag) {
      i++;
      continue;
    }
    flushText(i);
    let j = i + 1;
    const closing = html[j] === '/';
    if (closing || html[j] === '!') j++;
    const nameStart = j;
    while (j < n && !/[\s/>]/.test(html[j]!)) j++;
    const tag = html.slice(nameStart, j).toLowerCase();
    // Attributes until the end of the tag.
    while (j < n && html[j] !== '>') {
      if (/[\s/]/.test(html[j]!)) {
        j++;
        continue;
      }
      const attrStart = j;
      while (j < n && !/[\s=>/]/.test(html[j]!)) j++;
      const name = html.slice(attrStart, j).toLowerCase();
      while (j < n && /\s/.test(html[j]!)) j++;
      if (html[j] !== '=') continue;
      j++;
      while (j < n && /\s/.test(html[j]!)) j++;
      const quote = html[j];
      if (quote === '"' || quote === "'") {
        const end = html.indexOf(quote, j + 1);
        const stop = end === -1 ? n : end;
        regions.push({ kind: 'attr', tag, name, start: j + 1, end: stop, quoted: true });
        j = stop + 1;
      } else {
        const valueStart = j;
        while (j < n && !/[\s>]/.test(html[j]!)) j++;
        regions.push({ kind: 'attr', tag, name, start: valueStart, end: j, quoted: false });
      }
    }
    i = textStart = Math.min(n, j + 1);
    if (!closing && RAW_TEXT.has(tag)) {
      const end = html.toLowerCase().indexOf(`</${tag}`, i);
      const stop = end === -1 ? n : end;
      // <title> content is text (escaped entities are right there); the others are opaque.
      regions.push(tag === 'title' ? { kind: 'text', start: i, end: stop } : { kind: 'opaque', start: i, end: stop });
      i = textStart = stop;
    }
  }
  flushText(n);
  return regions;
}
