// Every outcome the key may see, as it happens (WatchOutcomes).
import { h, show, announce, time } from "../dom.js";
import { deliveries, describe } from "../api.js";
import { Outcome_Kind } from "../gen/webhooks/v1/delivery_pb.js";

const MAX_ROWS = 200;

export async function livePage(signal: AbortSignal): Promise<void> {
  const body = h("tbody", { id: "outcomes" });
  const state = h("p", { id: "live-state" }, "Connecting…");
  show("Live outcomes", state,
    h("div", { class: "scroll" },
      h("table", {},
        h("caption", {}, "Newest first; at most the last 200."),
        h("thead", {}, h("tr", {}, ["Time", "Outcome", "Subscription", "Attempt", "Message"].map((c) => h("th", { scope: "col" }, c)))),
        body)));
  // Live once this stream's response has begun (its own headers: another
  // page's stream, closing, must not say so).
  const onHeader = () => {
    state.textContent = "Live: outcomes appear here as they happen.";
    state.dataset.live = "on";
  };
  try {
    for await (const o of deliveries.watchOutcomes({}, { signal, onHeader })) {
      const a = o.attempt;
      body.prepend(h("tr", {},
        h("td", {}, time(o.time)),
        h("td", {}, Outcome_Kind[o.kind] ?? String(o.kind)),
        h("td", {}, h("a", { href: `#/subscriptions/${encodeURIComponent(o.subscriptionId)}` }, o.subscriptionId)),
        h("td", {}, a ? `#${a.attemptNumber} of ${a.deliveryId}` : "—"),
        h("td", {}, o.dropped ? `${o.dropped} outcomes dropped (too slow)` : o.message || a?.message || ""),
      ));
      while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
    }
  } catch (err) {
    if (!signal.aborted) announce(`Live updates stopped: ${describe(err)}`, true);
  }
}
