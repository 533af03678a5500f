// One delivery attempt as the console shows it: status, request and response
// (headers and body), the signing secret and signatures redacted.
import { h } from "../dom.js";
import { time } from "../dom.js";
import { DeliveryAttempt_Status, type DeliveryAttempt, type Header } from "../gen/webhooks/v1/delivery_pb.js";

const SENSITIVE = /secret|signature|authorization|api-key|token/i;
const decoder = new TextDecoder();

export function redactHeaders(headers: Header[]): string {
  return headers
    .map((x) => `${x.name}: ${SENSITIVE.test(x.name) ? "[redacted]" : x.value}`)
    .join("\n");
}

function body(bytes: Uint8Array, truncated = false): string {
  if (!bytes.length) return "(empty)";
  return decoder.decode(bytes) + (truncated ? "\n… (truncated)" : "");
}

export function statusName(s: DeliveryAttempt_Status): string {
  return DeliveryAttempt_Status[s] ?? String(s);
}

export function attemptItem(a: DeliveryAttempt, onRedeliver: (deliveryId: string) => void): HTMLElement {
  const status = statusName(a.status);
  const req = a.request;
  const res = a.response;
  return h(
    "li",
    { class: `attempt ${status.toLowerCase()}`, "data-attempt-id": a.id, "data-delivery-id": a.deliveryId },
    h("div", { class: "attempt-head" },
      h("span", { class: `badge ${a.status === DeliveryAttempt_Status.SUCCESSFUL ? "ok" : a.status === DeliveryAttempt_Status.FAILED ? "bad" : ""}` }, status),
      ` #${a.attemptNumber} `,
      h("time", {}, time(a.createTime)),
      ` ${a.message} `,
      h("span", { class: "mono" }, `delivery ${a.deliveryId}`),
      " ",
      h("button", { type: "button", class: "redeliver", onclick: () => onRedeliver(a.deliveryId) }, "Redeliver"),
    ),
    h("details", {},
      h("summary", {}, "Request and response"),
      h("h4", {}, "Request"),
      h("pre", {}, req ? `${req.method} ${req.url}\n${redactHeaders(req.headers)}\n\n${req.bodyForgotten ? "(body forgotten: its event is past the retention)" : body(req.body)}` : "(not sent)"),
      h("h4", {}, "Response"),
      h("pre", {}, res && res.statusCode ? `${res.statusCode} ${res.reason}\n${redactHeaders(res.headers)}\n\n${body(res.body, res.bodyTruncated)}` : "(no response)"),
    ),
  );
}
