import { describe, expect, it } from "vitest";
import { MARKDOWN_LIMIT, parse, render, steps } from "../src/markdown";
import { type FakeNode, fakeDocument, textOf, walk } from "./fake-dom";

// Bot replies are untrusted and replayed on every page load, so rendering the longest reply the
// backend lets through (256 KB) must take work in proportion to its length whatever it holds. The
// renderer counts the steps of its loops; these tests bound that count, not the time taken, so they
// neither flake on a slow machine nor miss a blow-up on a fast one.
const REPLY = 256 * 1024;
// The variants below take at most ~3.2 steps a character, and a search for worse inputs peaked
// near 10 (nesting re-reads text once per level); a quadratic parser needs thousands.
const STEPS_PER_CHAR = 20;

const nested = (levels: number): string => (levels ? `**_${nested(levels - 1)}_**` : "*a [a](x `h");

const PATHOLOGICAL: Record<string, string> = {
  "unclosed emphasis (the report)": "*a ",
  "unclosed underscores": "_a ",
  "unclosed strong": "**a ",
  "unclosed strong underscores": "__a ",
  "asterisks": "*",
  "underscores": "_",
  "brackets": "[",
  "open link targets": "[a](",
  "unclosed link targets": "[a](x",
  "link targets with groups": "[a](b(c)",
  "empty labels": "[](",
  "label ends": "](",
  "backticks": "`",
  "backticks mid-line": "x`",
  "double backticks": "``a",
  "escapes": "\\*",
  "bare URLs": "http://",
  "refused bare URLs": "http:///",
  "bare URLs in words": "ahttp://x",
  "bare URLs of punctuation": "http://a.",
  "fences": "```\n",
  "list markers": "- ",
  "nested list markers": "- 1. * + ",
  "list lines": "- *a [b](\n",
  "indented list lines": "   1) **_`a\n",
  "spaces before a line separator": `- ${" ".repeat(5000)}a\u2028\n`,
  "mixed": "**_*`[(http://",
  "nested": `${nested(4)} `,
  "found by search": "*h_*[` *[ *- _[http://http://http://http://http://http://http://http://**",
};

const fill = (unit: string): string => unit.repeat(Math.ceil(REPLY / unit.length)).slice(0, REPLY);

function work(run: () => void): number {
  const before = steps;
  run();
  return steps - before;
}

describe("rendering work is linear in the reply", () => {
  it("counts the parser's steps", () => {
    expect(work(() => parse("plain text ".repeat(100)))).toBeGreaterThanOrEqual(1100);
  });

  it.each(Object.entries(PATHOLOGICAL))("%s", (_name, unit) => {
    const source = fill(unit);
    // The whole reply through the parser, so the markdown limit cannot hide a blow-up.
    expect(work(() => parse(source))).toBeLessThanOrEqual(STEPS_PER_CHAR * source.length);
    let root: FakeNode | undefined;
    expect(work(() => (root = render(source, fakeDocument) as unknown as FakeNode))).toBeLessThanOrEqual(
      STEPS_PER_CHAR * source.length,
    );
    walk(root!, (n) => {
      if (n.tag === "a") expect(n.attrs.href).toMatch(/^(https?:\/\/|mailto:)/);
    });
  });
});

describe("long replies", () => {
  it("render markdown up to the limit and the rest as plain text with its line breaks", () => {
    const line = "**b** [x](https://x.example)\n";
    const source = line.repeat(Math.ceil((2 * MARKDOWN_LIMIT) / line.length));
    const root = build(source);
    const head = root.children[0];
    const tail = root.children[root.children.length - 1];
    expect(root.children).toHaveLength(2);
    const formatted = Math.floor(MARKDOWN_LIMIT / line.length);
    expect(head.children.filter((n) => n.tag === "strong")).toHaveLength(formatted);
    expect(tail.children.slice(0, 3).map((n) => [n.tag, n.text])).toEqual([
      ["#text", "**b** [x](https://x.example)"], ["br", ""], ["#text", "**b** [x](https://x.example)"],
    ]);
    // Nothing is dropped: every line's text is there, formatted or not.
    expect(textOf(root).split("b").length - 1).toBe(source.split("b").length - 1);
  });

  it("cut a reply without line breaks at the limit, not inside a character", () => {
    const source = `a${"😀".repeat(MARKDOWN_LIMIT)}`;
    const root = build(source);
    expect(textOf(root)).toBe(source);
    walk(root, (n) => {
      expect(n.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    });
  });

  it("are rendered whole as markdown up to the limit", () => {
    const source = "*a* ".repeat(MARKDOWN_LIMIT / 4);
    const root = build(source);
    expect(root.children).toHaveLength(1);
    expect(root.children[0].children.filter((n) => n.tag === "em")).toHaveLength(MARKDOWN_LIMIT / 4);
  });
});

function build(source: string): FakeNode {
  return render(source, fakeDocument) as unknown as FakeNode;
}
