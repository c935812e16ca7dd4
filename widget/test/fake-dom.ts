// A recording stand-in for the few Document methods the renderer uses, so the renderer's output
// can be inspected without a browser: every element, attribute and text node it creates.

export interface FakeNode {
  tag: string; // "#text" for text nodes, "#fragment" for fragments
  attrs: Record<string, string>;
  children: FakeNode[];
  text: string;
}

function node(tag: string): FakeNode & Record<string, unknown> {
  const n: FakeNode & Record<string, unknown> = {
    tag, attrs: {}, children: [], text: "",
    appendChild(child: FakeNode) { n.children.push(child); return child; },
  };
  for (const prop of ["href", "target", "rel"]) {
    Object.defineProperty(n, prop, { set(v: string) { n.attrs[prop] = String(v); }, get() { return n.attrs[prop]; } });
  }
  Object.defineProperty(n, "textContent", {
    set(v: string) { n.children = [{ tag: "#text", attrs: {}, children: [], text: String(v) }]; },
  });
  return n;
}

export const fakeDocument = {
  createElement: (tag: string) => node(tag.toLowerCase()),
  createTextNode: (text: string) => ({ tag: "#text", attrs: {}, children: [], text }),
  createDocumentFragment: () => node("#fragment"),
} as unknown as Document;

export function walk(root: FakeNode, visit: (n: FakeNode) => void): void {
  visit(root);
  for (const child of root.children) walk(child, visit);
}

export function textOf(root: FakeNode): string {
  if (root.tag === "#text") return root.text;
  return root.children.map(textOf).join("");
}
