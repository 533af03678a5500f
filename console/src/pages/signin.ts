import { h, show, field, announce } from "../dom.js";
import { describe, setApiKey, subscriptions } from "../api.js";

export function signIn(next: string): void {
  const key = h("input", { type: "password", name: "key", autocomplete: "off", required: true, spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        setApiKey(key.value.trim());
        try {
          // Any call proves the key; a subscriber's sees only its own.
          await subscriptions.listSubscriptions({ pageSize: 1 });
          announce("Signed in.");
          const target = next && next !== "#/signin" ? next : "#/sites";
          if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
          else location.hash = target;
        } catch (err) {
          setApiKey(null);
          error.textContent = describe(err);
          key.focus();
        }
      },
    },
    field("API key", key, "A bearer token from the server's config or an API key. Kept in this tab only (sessionStorage), sent in the Authorization header, never in a cookie."),
    error,
    h("button", { type: "submit" }, "Sign in"),
  );
  show("Sign in", form);
}
