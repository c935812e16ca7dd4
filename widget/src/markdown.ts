// A small markdown subset for bot replies: paragraphs, **bold**, *italic*, `code`, ``` blocks,
// lists and links. Text is parsed into a tiny tree and built with createElement/textContent only,
// so nothing in a reply is ever interpreted as HTML: there is no innerHTML anywhere.
//
// Replies come from a model and are replayed from history on every page load, so parsing must be
// linear in the reply whatever it holds: the page's main thread is ours only on loan. Hence no
// regex that can backtrack over unbounded text, no search that restarts at every delimiter (see
// `seek`), and plain text is sliced out of the source rather than built a character at a time.

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

// Only the marker and the whitespace after it: the item's text is the rest of the line. (Matching
// it with `\s+(.*)$` backtracked quadratically on a long run of spaces in a line holding a U+2028,
// which `.` does not match.)
const LIST_ITEM = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+/;
const FENCE = /^\s{0,3}```/;
const MAX_DEPTH = 4;
// A bare URL. The lookahead refuses what safeHref would (a "/" or control character where the host
// starts), so a match is always linked and consumed: a refused one would be rescanned from every
// "http" inside it. A failed match has only scanned punctuation that holds no other "http".
const BARE = /https?:\/\/(?![/\u0000-\u001f\u007f-\u009f])[^\s<>()"']+[^\s<>()"'.,;:!?]/y;

/**
 * How much of a reply is rendered as markdown. A long answer is a few KB; the backend allows 256 KB.
 * Past it (at the last line break before it, if any) the reply is shown as plain text with its line
 * breaks: nothing the bot sent is hidden, it just stops being formatted.
 */
export const MARKDOWN_LIMIT = 32 * 1024;

/** Work done so far: one per character a loop or a match of the parser looks at, so that tests can
 * bound the work without clocks. Native calls on whole lines (split, trim, anchored regexes) are not
 * counted: each looks at a line once. */
export let steps = 0;

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
  for (let i = 0; i < lines.length; i++, steps++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !FENCE.test(lines[i]); i++, steps++) code.push(lines[i]);
      blocks.push({ t: "pre", v: code.join("\n") });
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const items: Inline[][] = [];
      for (; i < lines.length; i++, steps++) {
        const next = LIST_ITEM.exec(lines[i]);
        if (!next || /\d/.test(next[1]) !== ordered) break;
        items.push(parseInline(lines[i].slice(next[0].length), 0));
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
    // Not push(...nodes): a long line has more nodes than a call can take arguments.
    for (const node of parseInline(line, 0)) out.push(node);
  });
  return out;
}

export function parseInline(text: string, depth: number): Inline[] {
  const out: Inline[] = [];
  const n = text.length;
  // The first j >= from where is(j) holds, or -1. `from` only grows between calls with one key
  // (i only moves forward), so an answer still ahead of `from` is reused and each key looks at each
  // position once: a thousand unclosed "*" cost one scan of the text, not a thousand.
  const found: Record<string, number> = {};
  const seek = (key: string, from: number, is: (j: number) => boolean): number => {
    let j = found[key];
    if (!(j >= from)) for (j = from; j < n && !is(j); j++) steps++;
    return (found[key] = j) < n ? j : -1;
  };
  let targetFrom = -1; // up to 500 "[" can share one "](": scan that link target once
  let targetEnd = -1;
  let i = 0;
  let from = 0; // where the plain text since the last node starts
  // Ends the plain text before i, adds nodes, and carries on at `to`.
  const emit = (to: number, ...nodes: Inline[]): void => {
    const v = text.slice(from, i);
    if (v) out.push({ t: "text", v });
    for (const node of nodes) out.push(node);
    i = from = to;
  };
  while (i < n) {
    steps++;
    const ch = text[i];
    const after = text[i + 1];
    if (ch === "\\" && /[\\`*_[\]()]/.test(after)) {
      emit(i + 2, { t: "text", v: after });
      continue;
    }
    if (ch === "`") {
      const end = seek(ch, i + 1, (j) => text[j] === ch);
      if (end > i + 1) {
        emit(end + 1, { t: "code", v: text.slice(i + 1, end) });
        continue;
      }
    }
    if (depth < MAX_DEPTH && (ch === "*" || ch === "_")) {
      if (after === ch) {
        const end = seek(ch + ch, i + 2, (j) => text[j] === ch && text[j + 1] === ch);
        if (end > i + 2) {
          emit(end + 2, { t: "strong", c: parseInline(text.slice(i + 2, end), depth + 1) });
          continue;
        }
      } else if (after !== " ") {
        const end = seek(ch, i + 1, (j) => text[j] === ch && text[j - 1] !== " " && text[j + 1] !== ch);
        // "_" inside words (snake_case) is not emphasis.
        const wordy = ch === "_" && (/\w/.test(text[i - 1] ?? "") || /\w/.test(text[end + 1] ?? ""));
        if (end > i + 1 && !wordy) {
          emit(end + 1, { t: "em", c: parseInline(text.slice(i + 1, end), depth + 1) });
          continue;
        }
      }
    }
    if (ch === "[" && depth < MAX_DEPTH) {
      // [label](target): a label of 1–500 characters without "]" or a line break, then a target of
      // up to 2000 characters or (…) groups, without whitespace.
      const close = seek("]", i + 1, (j) => /[\]\n]/.test(text[j]));
      if (close > i + 1 && close - i <= 501 && text[close] === "]" && text[close + 1] === "(") {
        if (targetFrom !== close + 2) targetEnd = linkTargetEnd(text, (targetFrom = close + 2));
        if (targetEnd > 0) {
          const href = safeHref(text.slice(targetFrom, targetEnd));
          const label = parseInline(text.slice(i + 1, close), depth + 1);
          if (href) emit(targetEnd + 1, { t: "link", href, c: label });
          else emit(targetEnd + 1, ...label);
          continue;
        }
      }
    }
    if (ch === "h" && !/\w/.test(text[i - 1] ?? "")) {
      BARE.lastIndex = i;
      const bare = BARE.exec(text)?.[0];
      const href = bare && safeHref(bare);
      if (href) {
        steps += bare.length;
        emit(i + bare.length, { t: "link", href, c: [{ t: "text", v: bare }] });
        continue;
      }
    }
    i++;
  }
  emit(n);
  return out;
}

/** Where a link target starting at `k` ends (the index of its ")"), or -1. */
function linkTargetEnd(text: string, k: number): number {
  let units = 0;
  let group = false; // inside a "(…)" pair, as in Wikipedia URLs; pairs do not nest
  for (let c; units <= 2000 && (c = text[k]) && !/\s/.test(c); k++, steps++) {
    if (c === "(") {
      if (group) break;
      group = true;
    } else if (c === ")") {
      if (!group) return units ? k : -1;
      group = false;
      units++;
    } else if (!group) units++;
  }
  return -1;
}

/** Builds the DOM for a reply: only p, pre, code, strong, em, ul, ol, li, a and br elements. */
export function render(source: string, doc: Document): DocumentFragment {
  // Cut after the last line break before the limit, so no line's markup is split; with none, at
  // the limit itself, but not between the halves of a surrogate pair.
  let cut = source.length;
  if (cut > MARKDOWN_LIMIT) {
    cut = source.lastIndexOf("\n", MARKDOWN_LIMIT) + 1 || MARKDOWN_LIMIT;
    if (/[\ud800-\udbff]/.test(source[cut - 1])) cut--;
  }
  const blocks = parse(source.slice(0, cut));
  if (cut < source.length) {
    const rest: Inline[] = [];
    for (const v of source.slice(cut).split(/\r\n?|\n/)) {
      rest.push({ t: "br" }, { t: "text", v });
      steps++;
    }
    blocks.push({ t: "p", c: rest.slice(1) });
  }
  const fragment = doc.createDocumentFragment();
  for (const block of blocks) {
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
