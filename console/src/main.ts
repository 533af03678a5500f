// The webhookd console: a hash-routed single-page app on the JSON API.
import "./style.css";
import { apiKey, describe, setApiKey, REFUSED_EVENT } from "./api.js";
import { announce } from "./dom.js";
import { signIn } from "./pages/signin.js";
import { sites } from "./pages/sites.js";
import { subscriptionPage } from "./pages/subscription.js";
import { livePage } from "./pages/live.js";
import { matchPage } from "./pages/match.js";
import { keysPage } from "./pages/keys.js";

let pageAbort = new AbortController();

function route(): void {
  pageAbort.abort();  // ends the last page's streams
  pageAbort = new AbortController();
  const hash = location.hash || "#/sites";
  const signedIn = apiKey() !== null;
  document.getElementById("nav")!.hidden = !signedIn;
  if (!signedIn) {
    signIn(hash);
    return;
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    if (hash.startsWith(a.getAttribute("href")!)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const sub = /^#\/subscriptions\/(.+)$/.exec(hash);
  if (sub) void subscriptionPage(decodeURIComponent(sub[1]!), pageAbort.signal);
  else if (hash === "#/live") void livePage(pageAbort.signal);
  else if (hash === "#/match") matchPage();
  else if (hash === "#/keys") void keysPage();
  else void sites();
}

document.getElementById("signout")!.addEventListener("click", () => {
  setApiKey(null);
  location.hash = "#/signin";
  route();
});
// A key revoked or expired while in use: back to sign-in, saying why (the
// sign-in page handles its own refusals).
document.addEventListener(REFUSED_EVENT, (e) => {
  if (apiKey() === null || document.querySelector("#main h1")?.textContent === "Sign in") return;
  setApiKey(null);
  route();
  announce(`Signed out: ${describe((e as CustomEvent).detail)}`, true);
});
window.addEventListener("hashchange", route);
route();
