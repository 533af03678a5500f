// "Who would receive this event, and why not": MatchSubscriptions, with the
// verdict and reason for every subscription the event reaches by site and
// type.
import { h, show, field } from "../dom.js";
import { describe, events } from "../api.js";
import { AclEntry_Action } from "../gen/webhooks/v1/event_pb.js";
import { SubscriptionMatch_Verdict } from "../gen/webhooks/v1/event_pb.js";

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

export function matchPage(): void {
  const site = h("input", { name: "site", required: true, value: "/", spellcheck: "false" });
  const resourceTypes = h("input", { name: "resourceTypes", required: true, spellcheck: "false" });
  const eventTypes = h("input", { name: "eventTypes", required: true, spellcheck: "false" });
  const allow = h("input", { name: "allow", value: "system.Everyone", spellcheck: "false" });
  const permission = h("input", { name: "permission", value: "view", spellcheck: "false" });
  const payload = h("textarea", { name: "payload", rows: 3, spellcheck: "false" });
  payload.value = "{}";
  const results = h("div", { id: "matches", "aria-live": "polite" });
  const form = h("form", {
    onsubmit: async (e: Event) => {
      e.preventDefault();
      results.replaceChildren("Asking…");
      try {
        const acl = list(allow.value).map((principal) => ({ action: AclEntry_Action.ALLOW, principal, permission: permission.value || "*" }));
        // The payload matters only to subscriptions with a filter.
        const representations = {
          "webhook-delivery": { body: new TextEncoder().encode(payload.value.trim() || "{}"), contentType: "application/json" },
        };
        const r = await events.matchSubscriptions({
          event: { site: site.value, resourceTypes: list(resourceTypes.value), eventTypes: list(eventTypes.value), acl, representations },
        });
        if (!r.matches.length) {
          results.replaceChildren(h("p", {}, "No subscription is in this site (or above it) for these types."));
          return;
        }
        results.replaceChildren(h("div", { class: "scroll" }, h("table", {},
          h("caption", {}, `${r.matches.length} subscription${r.matches.length === 1 ? "" : "s"} considered`),
          h("thead", {}, h("tr", {}, ["Subscription", "Site", "Target", "Owner", "Verdict", "Why"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, r.matches.map((m) => {
            const verdict = SubscriptionMatch_Verdict[m.verdict] ?? String(m.verdict);
            return h("tr", { class: m.verdict === SubscriptionMatch_Verdict.DELIVERED ? "delivered" : "not-delivered" },
              h("td", {}, m.subscription ? h("a", { href: `#/subscriptions/${encodeURIComponent(m.subscription.id)}` }, m.subscription.id) : "—"),
              h("td", {}, m.subscription?.site ?? ""),
              h("td", {}, m.subscription?.targetUrl ?? ""),
              h("td", {}, m.subscription?.owner || "—"),
              h("td", {}, h("span", { class: `badge ${m.verdict === SubscriptionMatch_Verdict.DELIVERED ? "ok" : "bad"}` }, verdict)),
              h("td", {}, m.reason));
          })))));
      } catch (err) {
        results.replaceChildren(h("p", { class: "error", role: "alert" }, describe(err)));
      }
    },
  },
    h("div", { class: "grid" },
      field("Site", site, "The resource's site"),
      field("Resource types", resourceTypes, "Comma-separated, most specific first: employee, user"),
      field("Event types", eventTypes, "Comma-separated: added"),
      field("ACL: allow principals", allow, "Comma-separated principals or groups granted the permission"),
      field("ACL permission", permission),
    ),
    field("Payload (JSON)", payload, "What the event would deliver; subscription filters look at it"),
    h("button", { type: "submit" }, "Who would receive it?"));
  show("Who would receive this event, and why not", h("p", {}, "Nothing is published: the server only says which subscriptions would get a delivery, and for each one that would not, why."), form, results);
}
