// API keys (admins): create one for a principal with roles and an optional
// expiry (its secret shown once), list them without secrets, revoke.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { h, show, field, announce, time } from "../dom.js";
import { apiKeys, describe } from "../api.js";
import { ApiKey_State, type ApiKey } from "../gen/webhooks/v1/api_key_pb.js";
import { Role } from "../gen/webhooks/v1/config_pb.js";

const ROLES = [Role.ADMIN, Role.PUBLISHER, Role.SUBSCRIBER];

function row(key: ApiKey, reload: () => void): HTMLElement {
  const state = ApiKey_State[key.state] ?? String(key.state);
  return h("tr", { "data-key-id": key.id },
    h("td", {}, key.displayName || "—"),
    h("td", {}, key.principal),
    h("td", {}, key.roles.map((r) => Role[r]).join(", ")),
    h("td", { class: "mono" }, `${key.prefix}…`),
    h("td", {}, h("span", { class: `badge ${key.state === ApiKey_State.ACTIVE ? "ok" : "off"}` }, state)),
    h("td", {}, time(key.expireTime)),
    h("td", {}, key.state === ApiKey_State.ACTIVE
      ? h("button", {
          type: "button", class: "redeliver", "aria-label": `Revoke ${key.displayName || key.id}`,
          onclick: async () => {
            try {
              await apiKeys.revokeApiKey({ id: key.id });
              announce(`Revoked ${key.displayName || key.id}.`);
              reload();
            } catch (err) { announce(describe(err), true); }
          },
        }, "Revoke")
      : ""));
}

export async function keysPage(): Promise<void> {
  const body = h("tbody", { id: "keys" });
  const listError = h("p", { class: "error", role: "alert" });
  const reload = async () => {
    try {
      const all: ApiKey[] = [];
      let pageToken = "";
      do {
        const page = await apiKeys.listApiKeys({ pageSize: 500, pageToken });
        all.push(...page.apiKeys);
        pageToken = page.nextPageToken;
      } while (pageToken);
      body.replaceChildren(...all.map((k) => row(k, reload)));
      listError.textContent = all.length ? "" : "No API keys yet (config-file tokens are not listed).";
    } catch (err) {
      listError.textContent = describe(err);
    }
  };
  const name = h("input", { name: "displayName", spellcheck: "false" });
  const principal = h("input", { name: "principal", required: true, spellcheck: "false" });
  const roleBoxes = ROLES.map((r) => h("input", { type: "checkbox", name: "role", value: String(r), id: `role-${Role[r]}` }));
  const expires = h("input", { type: "datetime-local", name: "expires" });
  const secret = h("output", { class: "secret", id: "new-key" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", {
    "aria-labelledby": "new-key-h",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const created = await apiKeys.createApiKey({
          apiKey: {
            displayName: name.value, principal: principal.value,
            roles: roleBoxes.filter((b) => b.checked).map((b) => Number(b.value) as Role),
            expireTime: expires.value ? timestampFromDate(new Date(expires.value)) : undefined,
          },
        });
        secret.textContent = `Key for ${created.apiKey?.principal}, shown this once: ${created.secret}`;
        await reload();
      } catch (err) {
        error.textContent = describe(err);
      }
    },
  },
    h("h2", { id: "new-key-h" }, "New API key"),
    h("div", { class: "grid" },
      field("Name", name, "What the key is for"),
      field("Principal", principal, "Whose key it is: a subscriber sees only this principal's subscriptions"),
      field("Expires (optional)", expires)),
    h("fieldset", {}, h("legend", {}, "Roles"),
      ROLES.map((r, i) => h("label", { class: "check" }, roleBoxes[i], ` ${Role[r]!.toLowerCase()}`))),
    error,
    h("button", { type: "submit" }, "Create key"),
    secret);
  show("API keys",
    h("div", { class: "scroll" }, h("table", {},
      h("caption", {}, "Secrets are stored hashed and never shown again; the prefix tells keys apart."),
      h("thead", {}, h("tr", {}, ["Name", "Principal", "Roles", "Prefix", "State", "Expires", ""].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    listError, form);
  await reload();
}
