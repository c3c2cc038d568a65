/**
 * A strict, tiny XML well-formedness parser for tests of the SVG plots (the workspace has no
 * XML library): one root element, matched tags, quoted and unique attributes, only the five
 * predefined entities and numeric references, comments and a leading `<?xml …?>`.
 * Returns the element tree so tests can count series and points.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, unescaped text directly inside this element. */
  text: string;
}

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    const line = src.slice(0, i).split('\n').length;
    throw new Error(`XML: ${msg} at line ${line} (offset ${i})`);
  };
  const unescape = (s: string): string =>
    s.replace(/&([^;]*);|&/g, (m, ent: string | undefined) => {
      if (ent === undefined) return fail(`bare '&'`);
      if (ENTITIES[ent]) return ENTITIES[ent];
      const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ent);
      if (num) return String.fromCodePoint(num[1][0] === 'x' ? parseInt(num[1].slice(1), 16) : Number(num[1]));
      return fail(`unknown entity '${m}'`);
    });
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i])) i++;
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else return;
    }
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const element = (): XmlElement => {
    if (src[i] !== '<') fail(`expected '<'`);
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = i;
      while (/\s/.test(src[i] ?? '')) i++;
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (i === ws) fail(`expected whitespace, '>' or '/>' in <${el.name}>`);
      const key = name();
      if (key in el.attrs) fail(`duplicate attribute '${key}' on <${el.name}>`);
      while (/\s/.test(src[i] ?? '')) i++;
      if (src[i] !== '=') fail(`expected '=' after attribute '${key}'`);
      i++;
      while (/\s/.test(src[i] ?? '')) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") fail(`expected a quoted value for '${key}'`);
      const end = src.indexOf(q, i + 1);
      if (end < 0) fail(`unterminated value for '${key}'`);
      const raw = src.slice(i + 1, end);
      if (raw.includes('<')) fail(`'<' in the value of '${key}'`);
      el.attrs[key] = unescape(raw);
      i = end + 1;
    }
    for (;;) {
      if (i >= src.length) fail(`unclosed <${el.name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const close = name();
        if (close !== el.name) fail(`</${close}> closes <${el.name}>`);
        while (/\s/.test(src[i] ?? '')) i++;
        if (src[i] !== '>') fail(`expected '>'`);
        i++;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
        continue;
      }
      if (src[i] === '<') {
        el.children.push(element());
        continue;
      }
      const next = src.indexOf('<', i);
      const stop = next < 0 ? src.length : next;
      const raw = src.slice(i, stop);
      if (raw.includes('>') && raw.includes(']]>')) fail(`']]>' in text`);
      el.text += unescape(raw);
      i = stop;
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < src.length) fail('content after the root element');
  return root;
}

/** Every element below `root` (depth first) for which `pred` holds. */
export function findAll(root: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (pred(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** Elements whose class list contains `cls`. */
export function byClass(root: XmlElement, cls: string): XmlElement[] {
  return findAll(root, (e) => (e.attrs.class ?? '').split(/\s+/).includes(cls));
}

/** All text inside an element, children included. */
export function textOf(e: XmlElement): string {
  return e.text + e.children.map(textOf).join('');
}
