import { describe, expect, it } from "vitest";
import { parse, render, safeHref } from "../src/markdown";
import { type FakeNode, fakeDocument, textOf, walk } from "./fake-dom";

const ALLOWED_TAGS = new Set(["#fragment", "#text", "p", "pre", "code", "strong", "em", "ul", "ol", "li", "a", "br"]);
const ALLOWED_ATTRS = new Set(["href", "target", "rel"]);

function build(source: string): FakeNode {
  return render(source, fakeDocument) as unknown as FakeNode;
}

const XSS_CORPUS = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "<svg onload=alert(1)>",
  '<a href="javascript:alert(1)">click</a>',
  "[click](javascript:alert(1))",
  "[click](JaVaScRiPt:alert(1))",
  "[click](java\tscript:alert(1))",
  "[click]( javascript:alert(1))",
  "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[click](vbscript:msgbox(1))",
  "[click](file:///etc/passwd)",
  "[click](//evil.example/x)",
  '[x](https://ok.example" onmouseover="alert(1))',
  "**<b onclick=alert(1)>bold</b>**",
  "`<script>alert(1)</script>`",
  "```\n<script>alert(1)</script>\n```",
  "- <iframe src=javascript:alert(1)>",
  "<div style=\"background:url(javascript:alert(1))\">",
  "*unclosed **bold [link](http://x",
  "<<script>script>alert(1)<</script>/script>",
  "&lt;script&gt;alert(1)&lt;/script&gt;",
  "[**nested [link](javascript:alert(1))**](https://ok.example)",
  "javascript:alert(1)",
  "\u0000<script>alert(1)</script>",
];

describe("markdown rendering is safe", () => {
  it.each(XSS_CORPUS)("renders %j with only allowed elements and safe links", (payload) => {
    const root = build(payload);
    walk(root, (n) => {
      expect(ALLOWED_TAGS.has(n.tag), `tag ${n.tag}`).toBe(true);
      for (const [name, value] of Object.entries(n.attrs)) {
        expect(ALLOWED_ATTRS.has(name), `attribute ${name}`).toBe(true);
        if (name === "href") expect(value).toMatch(/^(https?:\/\/|mailto:)/i);
      }
      if (n.tag === "a") {
        expect(n.attrs.rel).toBe("noopener noreferrer");
        expect(n.attrs.target).toBe("_blank");
      }
    });
  });

  it("keeps markup characters as visible text", () => {
    expect(textOf(build("<script>alert(1)</script>"))).toBe("<script>alert(1)</script>");
    expect(textOf(build("<img src=x onerror=alert(1)>"))).toBe("<img src=x onerror=alert(1)>");
  });

  it("drops unsafe links but keeps their text", () => {
    const root = build("[click me](javascript:alert(1))");
    const tags: string[] = [];
    walk(root, (n) => tags.push(n.tag));
    expect(tags).not.toContain("a");
    expect(textOf(root)).toBe("click me");
  });
});

describe("safeHref", () => {
  it.each([
    ["https://example.com/a?b=1", "https://example.com/a?b=1"],
    ["http://example.com", "http://example.com"],
    ["mailto:hello@example.com", "mailto:hello@example.com"],
    ["javascript:alert(1)", null],
    ["java\nscript:alert(1)", null],
    ["data:text/html,x", null],
    ["https:/broken", null],
    ["/relative", null],
    ["", null],
  ])("%j → %j", (input, expected) => {
    expect(safeHref(input)).toBe(expected);
  });
});

describe("markdown subset", () => {
  it("parses paragraphs, emphasis, code, lists, links and code blocks", () => {
    const blocks = parse("Hello **bold** and *it* with `x<y`\nnext line\n\n- one\n- two\n\n1. first\n\n```\nif (a < b) {}\n```\n\n[site](https://example.com)");
    expect(blocks.map((b) => b.t)).toEqual(["p", "ul", "ol", "pre", "p"]);
    expect(blocks[0]).toEqual({
      t: "p",
      c: [
        { t: "text", v: "Hello " }, { t: "strong", c: [{ t: "text", v: "bold" }] }, { t: "text", v: " and " },
        { t: "em", c: [{ t: "text", v: "it" }] }, { t: "text", v: " with " }, { t: "code", v: "x<y" },
        { t: "br" }, { t: "text", v: "next line" },
      ],
    });
    expect(blocks[3]).toEqual({ t: "pre", v: "if (a < b) {}" });
    expect(blocks[4]).toEqual({ t: "p", c: [{ t: "link", href: "https://example.com", c: [{ t: "text", v: "site" }] }] });
  });

  it("leaves snake_case and lone markers alone", () => {
    expect(textOf(build("use snake_case_name and 2 * 3 * 4"))).toBe("use snake_case_name and 2 * 3 * 4");
  });

  it("links bare URLs without trailing punctuation", () => {
    expect(parse("See https://example.com/docs.")[0]).toEqual({
      t: "p",
      c: [
        { t: "text", v: "See " },
        { t: "link", href: "https://example.com/docs", c: [{ t: "text", v: "https://example.com/docs" }] },
        { t: "text", v: "." },
      ],
    });
  });

  it("survives broken and deeply nested markup", () => {
    expect(() => build("**".repeat(500) + "[".repeat(500) + "`")).not.toThrow();
    expect(textOf(build("**unclosed"))).toBe("**unclosed");
  });
});
