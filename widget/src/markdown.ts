// A small markdown subset for bot replies: paragraphs, **bold**, *italic*, `code`, ``` blocks,
// lists and links. Text is parsed into a tiny tree and built with createElement/textContent only,
// so nothing in a reply is ever interpreted as HTML: there is no innerHTML anywhere.

export type Inline =
  | { t: "text"; v: string }
  | { t: "br" }
  | { t: "code"; v: string }
  | { t: "strong" | "em"; c: Inline[] }
  | { t: "link"; href: string; c: Inline[] };

export type Block =
  | { t: "p"; c: Inline[] }
  | { t: "pre"; v: string }
  | { t: "ul" | "ol"; items: Inline[][] };

const LIST_ITEM = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/;
const FENCE = /^\s{0,3}```/;
const MAX_DEPTH = 4;

/** Only http, https and mailto links survive; anything else (javascript:, data:, …) is dropped. */
export function safeHref(raw: string): string | null {
  const url = raw.trim();
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"), so
  // decide on the URL with those removed.
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(compact);
  if (!scheme) return null;
  const name = scheme[1].toLowerCase();
  if (name !== "http" && name !== "https" && name !== "mailto") return null;
  if (name !== "mailto" && !/^https?:\/\/[^/\s]/i.test(compact)) return null;
  return compact;
}

export function parse(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length) blocks.push({ t: "p", c: parseParagraph(paragraph) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !FENCE.test(lines[i]); i++) code.push(lines[i]);
      blocks.push({ t: "pre", v: code.join("\n") });
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const items: Inline[][] = [];
      for (; i < lines.length; i++) {
        const next = LIST_ITEM.exec(lines[i]);
        if (!next || /\d/.test(next[1]) !== ordered) break;
        items.push(parseInline(next[2], 0));
      }
      i--;
      blocks.push({ t: ordered ? "ol" : "ul", items });
      continue;
    }
    if (line.trim() === "") flush();
    else paragraph.push(line.trim());
  }
  flush();
  return blocks;
}

function parseParagraph(lines: string[]): Inline[] {
  const out: Inline[] = [];
  lines.forEach((line, index) => {
    if (index) out.push({ t: "br" });
    out.push(...parseInline(line, 0));
  });
  return out;
}

export function parseInline(text: string, depth: number): Inline[] {
  const out: Inline[] = [];
  let plain = "";
  const pushText = (): void => {
    if (plain) out.push({ t: "text", v: plain });
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const ch = text[i];
    if (ch === "\\" && i + 1 < text.length && /[\\`*_[\]()]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === "`") {
      const end = text.indexOf("`", i + 1);
      if (end > i + 1) {
        pushText();
        out.push({ t: "code", v: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    if (depth < MAX_DEPTH && (rest.startsWith("**") || rest.startsWith("__"))) {
      const marker = rest.slice(0, 2);
      const end = text.indexOf(marker, i + 2);
      if (end > i + 2) {
        pushText();
        out.push({ t: "strong", c: parseInline(text.slice(i + 2, end), depth + 1) });
        i = end + 2;
        continue;
      }
    }
    if (depth < MAX_DEPTH && (ch === "*" || ch === "_") && text[i + 1] !== " " && text[i + 1] !== ch) {
      const end = findClosing(text, ch, i + 1);
      // "_" inside words (snake_case) is not emphasis.
      const wordy = ch === "_" && (/\w/.test(text[i - 1] ?? "") || /\w/.test(text[end + 1] ?? ""));
      if (end > i + 1 && !wordy) {
        pushText();
        out.push({ t: "em", c: parseInline(text.slice(i + 1, end), depth + 1) });
        i = end + 1;
        continue;
      }
    }
    if (ch === "[" && depth < MAX_DEPTH) {
      const link = /^\[([^\]\n]{1,500})\]\(((?:[^()\s]|\([^()\s]*\)){1,2000})\)/.exec(rest);
      if (link) {
        pushText();
        const href = safeHref(link[2]);
        const label = parseInline(link[1], depth + 1);
        if (href) out.push({ t: "link", href, c: label });
        else out.push(...label);
        i += link[0].length;
        continue;
      }
    }
    const bare = /^https?:\/\/[^\s<>()"']+[^\s<>()"'.,;:!?]/.exec(rest);
    if (bare && !/\w/.test(text[i - 1] ?? "")) {
      const href = safeHref(bare[0]);
      if (href) {
        pushText();
        out.push({ t: "link", href, c: [{ t: "text", v: bare[0] }] });
        i += bare[0].length;
        continue;
      }
    }
    plain += ch;
    i++;
  }
  pushText();
  return out;
}

function findClosing(text: string, marker: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === marker && text[j - 1] !== " " && text[j + 1] !== marker) return j;
  }
  return -1;
}

/** Builds the DOM for a reply: only p, pre, code, strong, em, ul, ol, li, a and br elements. */
export function render(source: string, doc: Document): DocumentFragment {
  const fragment = doc.createDocumentFragment();
  for (const block of parse(source)) {
    if (block.t === "pre") {
      const pre = doc.createElement("pre");
      const code = doc.createElement("code");
      code.textContent = block.v;
      pre.appendChild(code);
      fragment.appendChild(pre);
    } else if (block.t === "p") {
      const p = doc.createElement("p");
      appendInline(p, block.c, doc);
      fragment.appendChild(p);
    } else {
      const list = doc.createElement(block.t);
      for (const item of block.items) {
        const li = doc.createElement("li");
        appendInline(li, item, doc);
        list.appendChild(li);
      }
      fragment.appendChild(list);
    }
  }
  return fragment;
}

function appendInline(parent: Node, nodes: Inline[], doc: Document): void {
  for (const node of nodes) {
    if (node.t === "text") parent.appendChild(doc.createTextNode(node.v));
    else if (node.t === "br") parent.appendChild(doc.createElement("br"));
    else if (node.t === "code") {
      const code = doc.createElement("code");
      code.textContent = node.v;
      parent.appendChild(code);
    } else if (node.t === "link") {
      const a = doc.createElement("a");
      a.href = node.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      appendInline(a, node.c, doc);
      parent.appendChild(a);
    } else {
      const el = doc.createElement(node.t);
      appendInline(el, node.c, doc);
      parent.appendChild(el);
    }
  }
}
