// A subscription: details, health, actions, and its attempts (newest first)
// with outcomes streamed in as they happen.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { h, show, field, announce, time } from "../dom.js";
import { deliveries, describe, subscriptions } from "../api.js";
import { attemptItem } from "./attempts.js";
import { DeliveryAttempt_Status, type DeliveryAttempt } from "../gen/webhooks/v1/delivery_pb.js";
import type { Subscription } from "../gen/webhooks/v1/subscription_pb.js";

function health(sub: Subscription, attempts: DeliveryAttempt[]): HTMLElement {
  const done = attempts.filter((a) => a.status !== DeliveryAttempt_Status.PENDING).slice(0, 20);
  const ok = done.filter((a) => a.status === DeliveryAttempt_Status.SUCCESSFUL).length;
  const rate = done.length ? Math.round((100 * ok) / done.length) : null;
  const state = !sub.active ? "inactive" : rate === null ? "no attempts yet" : rate >= 90 ? "healthy" : rate >= 50 ? "degraded" : "failing";
  return h("section", { "aria-labelledby": "health", id: "health-box" },
    h("h2", { id: "health" }, "Health"),
    h("p", {}, h("strong", { class: `health ${state.replace(/ /g, "-")}` }, state),
      rate === null ? "" : ` — ${ok} of the last ${done.length} finished attempt${done.length === 1 ? "" : "s"} succeeded (${rate}%).`),
    sub.statusMessage ? h("p", {}, `Status: ${sub.statusMessage}`) : null,
  );
}

function details(sub: Subscription): HTMLElement {
  const row = (k: string, v: string) => [h("dt", {}, k), h("dd", {}, v)];
  return h("dl", { class: "details" },
    row("ID", sub.id), row("Site", sub.site), row("Resource type", sub.resourceType), row("Event type", sub.eventType),
    row("Target URL", sub.targetUrl), row("Owner", sub.owner || "—"), row("Permission", sub.permission || "—"),
    row("Dialect", sub.dialect || "default"), row("Filter", sub.filter || "—"), row("Active", sub.active ? "yes" : "no"),
    row("Signing secret", "[redacted] — rotate to get a new one"), row("Created", time(sub.createTime)), row("Updated", time(sub.updateTime)),
  );
}

export async function subscriptionPage(id: string, signal: AbortSignal): Promise<void> {
  let sub: Subscription;
  let attempts: DeliveryAttempt[];
  try {
    [sub, { attempts }] = await Promise.all([
      subscriptions.getSubscription({ id }),
      deliveries.listAttempts({ subscriptionId: id, pageSize: 50 }),
    ]);
  } catch (err) {
    show("Subscription", h("p", { class: "error", role: "alert" }, describe(err)));
    return;
  }
  const list = h("ol", { id: "attempts", class: "attempts", "aria-live": "polite" });
  const healthSlot = h("div", {});
  const secretOut = h("output", { class: "secret" });
  const redeliver = async (deliveryId: string) => {
    try {
      const d = await deliveries.redeliver({ deliveryId });
      announce(`Redelivering ${d.id}; its next attempt will appear here.`);
    } catch (err) {
      announce(describe(err), true);
    }
  };
  const render = () => {
    list.replaceChildren(...attempts.map((a) => attemptItem(a, redeliver)));
    healthSlot.replaceChildren(health(sub, attempts));
  };
  const refreshSub = (s: Subscription) => {
    sub = s;
    detailsSlot.replaceChildren(details(sub));
    toggle.textContent = sub.active ? "Deactivate" : "Activate";
    render();
  };
  const detailsSlot = h("div", {}, details(sub));
  const toggle = h("button", {
    type: "button",
    onclick: async () => {
      try {
        refreshSub(sub.active
          ? await subscriptions.deactivateSubscription({ id, statusMessage: "deactivated in the console" })
          : await subscriptions.activateSubscription({ id }));
        announce(sub.active ? "Activated." : "Deactivated.");
      } catch (err) { announce(describe(err), true); }
    },
  }, sub.active ? "Deactivate" : "Activate");
  const rotate = h("button", {
    type: "button",
    onclick: async () => {
      try {
        const s = await subscriptions.rotateSubscriptionSecret({ id });
        secretOut.textContent = `New signing secret, shown this once: ${s.secret}`;
        refreshSub(s);
      } catch (err) { announce(describe(err), true); }
    },
  }, "Rotate secret");
  const since = h("input", { type: "datetime-local", name: "since", required: true });
  const recover = h("form", {
    class: "inline",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const r = await deliveries.recoverFailedDeliveries({ subscriptionId: id, since: timestampFromDate(new Date(since.value)) });
        announce(`Recovering ${r.redeliveries} failed deliveries.`);
      } catch (err) { announce(describe(err), true); }
    },
  }, field("Failed since", since), h("button", { type: "submit" }, "Recover failed deliveries"));

  show(`Subscription ${sub.id}`,
    h("p", {}, h("a", { href: "#/sites" }, "← All sites")),
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "det" }, h("h2", { id: "det" }, "Details"), detailsSlot),
      h("div", {}, healthSlot,
        h("section", { "aria-labelledby": "act" }, h("h2", { id: "act" }, "Actions"),
          h("p", { class: "actions" }, toggle, " ", rotate), secretOut, recover)),
    ),
    h("section", { "aria-labelledby": "att" },
      h("h2", { id: "att" }, "Attempts ", h("small", {}, "newest first; new ones appear live")),
      list),
  );
  render();

  // Outcomes as they happen: each new attempt goes on top. Once the stream
  // is open, the list is read again so that nothing falls between the two.
  const live = h("span", { class: "live", id: "attempts-live" }, "connecting…");
  list.before(live);
  const catchUp = async () => {
    if (signal.aborted) return;
    try {
      const fresh = await deliveries.listAttempts({ subscriptionId: id, pageSize: 50 });
      const seen = new Set(attempts.map((a) => a.id));
      attempts = [...fresh.attempts.filter((a) => !seen.has(a.id)), ...attempts];
      render();
    } catch { /* the stream reports its own errors */ }
    live.textContent = "live";
    live.dataset.live = "on";
  };
  try {
    for await (const outcome of deliveries.watchOutcomes({ subscriptionId: id }, { signal, onHeader: () => void catchUp() })) {
      if (outcome.attempt) {
        attempts = [outcome.attempt, ...attempts.filter((a) => a.id !== outcome.attempt!.id)];
        render();
      } else if (outcome.message) {
        announce(outcome.message);
      }
    }
  } catch (err) {
    if (!signal.aborted) announce(`Live updates stopped: ${describe(err)}`, true);
  }
}
