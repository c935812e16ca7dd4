// A recording stand-in for the few Document methods the renderer uses, so the renderer's output
// can be inspected without a browser: every element, attribute and text node it creates.

export interface FakeNode {
  tag: string; // "#text" for text nodes, "#fragment" for fragments
  attrs: Record<string, string>;
  children: FakeNode[];
  text: string;
}

// A class, so the accessors live on one prototype: defining them on every node made building the
// DOM of a long reply take seconds.
class FakeElement implements FakeNode {
  attrs: Record<string, string> = {};
  children: FakeNode[] = [];
  text = "";
  constructor(public tag: string) {}
  appendChild(child: FakeNode): FakeNode { this.children.push(child); return child; }
  set textContent(v: string) { this.children = [{ tag: "#text", attrs: {}, children: [], text: String(v) }]; }
  get href(): string { return this.attrs.href; }
  set href(v: string) { this.attrs.href = String(v); }
  get target(): string { return this.attrs.target; }
  set target(v: string) { this.attrs.target = String(v); }
  get rel(): string { return this.attrs.rel; }
  set rel(v: string) { this.attrs.rel = String(v); }
}

export const fakeDocument = {
  createElement: (tag: string) => new FakeElement(tag.toLowerCase()),
  createTextNode: (text: string) => ({ tag: "#text", attrs: {}, children: [], text }),
  createDocumentFragment: () => new FakeElement("#fragment"),
} as unknown as Document;

export function walk(root: FakeNode, visit: (n: FakeNode) => void): void {
  visit(root);
  for (const child of root.children) walk(child, visit);
}

export function textOf(root: FakeNode): string {
  if (root.tag === "#text") return root.text;
  return root.children.map(textOf).join("");
}
