// A tiny DOM builder: h("a", {href: "#/x"}, "text", child). No framework.
type Attrs = Record<string, string | boolean | number | undefined | ((e: Event) => void)>;
export type Child = Node | string | number | null | undefined | false | Child[];

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(key.replace(/^on/, ""), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the main region's content and moves focus to its heading. */
export function show(title: string, ...children: Child[]): HTMLElement {
  const main = document.getElementById("main")!;
  main.replaceChildren();
  const heading = h("h1", { tabindex: "-1" }, title);
  append(main, [heading, ...children]);
  document.title = `${title} · webhookd console`;
  heading.focus();
  return main;
}

/** Announces a message in the polite live region (errors in role=alert). */
export function announce(message: string, error = false): void {
  const status = document.getElementById("status")!;
  status.className = error ? "error" : "";
  status.setAttribute("role", error ? "alert" : "status");
  status.textContent = message;
}

/** A labelled form field. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = input.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  input.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("p", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

export function time(ts: { seconds: bigint; nanos: number } | undefined): string {
  if (!ts) return "—";
  const d = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
