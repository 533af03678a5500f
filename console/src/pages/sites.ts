// The site tree: every site with subscriptions (and the sites above them),
// each with its subscriptions; and a form to create one.
import { h, show, field, announce, type Child } from "../dom.js";
import { describe, subscriptions } from "../api.js";
import type { Subscription } from "../gen/webhooks/v1/subscription_pb.js";

interface SiteNode {
  name: string;
  path: string;
  children: Map<string, SiteNode>;
  subs: Subscription[];
}

async function listAll(): Promise<Subscription[]> {
  const all: Subscription[] = [];
  let pageToken = "";
  do {
    const page = await subscriptions.listSubscriptions({ pageSize: 500, pageToken });
    all.push(...page.subscriptions);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

function tree(subs: Subscription[]): SiteNode {
  const root: SiteNode = { name: "/", path: "/", children: new Map(), subs: [] };
  for (const s of subs) {
    let node = root;
    for (const part of s.site.split("/").filter(Boolean)) {
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, path: `${node.path === "/" ? "" : node.path}/${part}`, children: new Map(), subs: [] };
        node.children.set(part, child);
      }
      node = child;
    }
    node.subs.push(s);
  }
  return root;
}

export function subscriptionLabel(s: Subscription): string {
  return `${s.resourceType} · ${s.eventType} → ${s.targetUrl}`;
}

function renderNode(node: SiteNode): HTMLElement {
  const subs = node.subs.map((s) =>
    h(
      "li",
      { class: "sub" },
      h("a", { href: `#/subscriptions/${encodeURIComponent(s.id)}` }, subscriptionLabel(s)),
      " ",
      h("span", { class: s.active ? "badge ok" : "badge off" }, s.active ? "active" : "inactive"),
      s.owner ? h("span", { class: "owner" }, ` owner ${s.owner}`) : null,
    ),
  );
  const children = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name)).map(renderNode);
  return h(
    "li",
    { class: "site" },
    h("span", { class: "site-name" }, node.path),
    subs.length ? h("ul", { "aria-label": `Subscriptions in ${node.path}` }, subs) : null,
    children.length ? h("ul", {}, children) : null,
  );
}

function createForm(onCreated: () => void): HTMLElement {
  const site = h("input", { name: "site", required: true, value: "/", spellcheck: "false" });
  const resourceType = h("input", { name: "resourceType", required: true, spellcheck: "false" });
  const eventType = h("input", { name: "eventType", required: true, spellcheck: "false" });
  const targetUrl = h("input", { name: "targetUrl", type: "url", required: true, spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert" });
  const secret = h("output", { class: "secret" });
  const form = h(
    "form",
    {
      "aria-labelledby": "new-sub",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.textContent = "";
        try {
          const created = await subscriptions.createSubscription({
            subscription: { site: site.value, resourceType: resourceType.value, eventType: eventType.value, targetUrl: targetUrl.value },
          });
          announce(`Created subscription ${created.id}.`);
          secret.replaceChildren(
            "Created ",
            h("a", { href: `#/subscriptions/${encodeURIComponent(created.id)}` }, created.id),
            created.secret ? `. Its signing secret, shown this once: ${created.secret}` : ".",
          );
          onCreated();
        } catch (err) {
          error.textContent = describe(err);
        }
      },
    },
    h("h2", { id: "new-sub" }, "New subscription"),
    h("div", { class: "grid" },
      field("Site", site, "Absolute: / or /NOAA/NWS"),
      field("Resource type", resourceType),
      field("Event type", eventType),
      field("Target URL", targetUrl),
    ),
    error,
    h("button", { type: "submit" }, "Create subscription"),
    secret,
  );
  return form;
}

export async function sites(): Promise<void> {
  const list = h("div", { id: "site-tree", "aria-busy": "true" }, "Loading…");
  const reload = async () => {
    try {
      const subs = await listAll();
      const children: Child[] = subs.length
        ? [h("p", {}, `${subs.length} subscription${subs.length === 1 ? "" : "s"}.`), h("ul", { class: "tree" }, renderNode(tree(subs)))]
        : [h("p", {}, "No subscriptions yet.")];
      list.replaceChildren(...(children as Node[]));
    } catch (err) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, describe(err)));
    }
    list.setAttribute("aria-busy", "false");
  };
  show("Sites", list, createForm(reload));
  await reload();
}
