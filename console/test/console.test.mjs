// The console in a real browser (Debian's chromium, driven by
// playwright-core; no browser download) against a real webhookd and a real
// receiver: sign in, create a subscription, publish an event through the
// API, see the attempt appear live, redeliver it, ask who would receive an
// event, and check that a subscriber's key sees only its own subscriptions.
// Screenshots of the main pages go to $SCREENSHOT_DIR (the README shows them).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { TOKENS, call, startReceiver, startWebhookd, waitFor } from "./harness.mjs";

const binary = path.resolve(process.env.WEBHOOKD_BINARY ?? "../build/server/webhookd");
const consoleDir = path.resolve(process.env.CONSOLE_DIR ?? "dist");
const shots = path.resolve(process.env.SCREENSHOT_DIR ?? "screenshots");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

let server, receiver, browser;
const problems = [];  // console errors and CSP violations in the page

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  server = await startWebhookd(binary, consoleDir);
  receiver = await startReceiver();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  await receiver?.close();
  await server?.stop();
});

async function newPage(width = 1280, height = 860) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  return page;
}

async function signIn(page, token) {
  await page.goto(`${server.base}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  // Keyboard only: focus is on the heading, Tab reaches the key field.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "f-api-key");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Sites" }).waitFor();
  // The key is in sessionStorage, never in a cookie.
  assert.deepEqual(await page.context().cookies(), []);
}

test("an admin creates, watches, redelivers and asks who would receive", async () => {
  // Other principals' subscriptions, made through the API.
  const alice = await call(server.base, TOKENS.alice, "webhooks.v1.SubscriptionService/CreateSubscription",
    { subscription: { site: "/NOAA/NWS/OUN", resourceType: "user", eventType: "added", targetUrl: receiver.url("/alice") } });
  const bob = await call(server.base, TOKENS.bob, "webhooks.v1.SubscriptionService/CreateSubscription",
    { subscription: { site: "/NOAA/NESDIS", resourceType: "user", eventType: "added", targetUrl: receiver.url("/bob") } });

  const page = await newPage();
  await page.goto(`${server.base}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.screenshot({ path: path.join(shots, "signin.png") });
  // A wrong key is refused, precisely.
  await page.getByLabel("API key").fill("not-a-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(/Not signed in/).waitFor();
  problems.length = 0;  // the browser logs that refused call's 401
  await signIn(page, TOKENS.admin);

  // Create a subscription in the form.
  await page.getByLabel("Site", { exact: true }).fill("/NOAA/NWS");
  await page.getByLabel("Resource type").fill("user");
  await page.getByLabel("Event type").fill("added");
  await page.getByLabel("Target URL").fill(receiver.url("/ops"));
  await page.getByRole("button", { name: "Create subscription" }).click();
  const created = page.locator("output.secret a");
  await created.waitFor();
  const id = await created.textContent();
  assert.match(id, /^sub_/);
  // The tree shows every site with its subscriptions.
  await waitFor("the tree to list three", async () => (await page.locator("#site-tree .sub").count()) === 3);
  for (const s of [alice, bob]) await page.locator(`a[href="#/subscriptions/${s.id}"]`).waitFor();
  await page.screenshot({ path: path.join(shots, "sites.png"), fullPage: true });

  // Its page, live.
  await created.click();
  await page.getByRole("heading", { name: `Subscription ${id}` }).waitFor();
  await page.locator('#attempts-live[data-live="on"]').waitFor();
  assert.equal(await page.locator("#attempts .attempt").count(), 0);

  // Publish through the API; the attempt appears without a reload.
  const body = Buffer.from(JSON.stringify({ user: "ada" })).toString("base64");
  await call(server.base, TOKENS.publisher, "webhooks.v1.EventService/Publish", {
    events: [{ site: "/NOAA/NWS/OUN", resourceTypes: ["user"], eventTypes: ["added"],
      acl: [{ action: "ALLOW", principal: "system.Everyone", permission: "view" }],
      representations: { "webhook-delivery": { body } } }],
  });
  await waitFor("the receiver to get the event", () => receiver.requests.some((r) => r.url === "/ops"));
  const first = page.locator("#attempts .attempt.successful");
  await first.first().waitFor();
  assert.equal(await page.locator("#attempts .attempt").count(), 1);
  await page.getByText(/of the last 1 finished attempt succeeded/).waitFor();
  // Request and response are there, the signature redacted.
  await first.first().locator("summary").click();
  const request = await first.first().locator("pre").first().textContent();
  assert.match(request, /"user":"ada"/);
  assert.match(request, /webhook-signature: \[redacted\]/i);
  assert.doesNotMatch(request, /v1,[A-Za-z0-9+/=]{20,}/);

  // Redeliver: a second attempt of the same delivery, live, newest first.
  await first.first().getByRole("button", { name: "Redeliver" }).click();
  await waitFor("the redelivery to arrive", () => receiver.requests.filter((r) => r.url === "/ops").length === 2);
  await waitFor("two attempts", async () => (await page.locator("#attempts .attempt.successful").count()) === 2);
  const [a, b] = await page.locator("#attempts .attempt").evaluateAll((els) => els.map((e) => e.dataset.deliveryId));
  assert.equal(a, b);
  const ids = receiver.requests.filter((r) => r.url === "/ops").map((r) => r.headers["webhook-id"]);
  assert.equal(ids[0], ids[1]);
  await page.screenshot({ path: path.join(shots, "subscription.png"), fullPage: true });

  // Deactivate and activate again; recover failed deliveries (there are none).
  await page.getByRole("button", { name: "Deactivate", exact: true }).click();
  await page.getByText("Active", { exact: true }).locator("xpath=following-sibling::dd[1]").filter({ hasText: "no" }).waitFor();
  await page.getByRole("button", { name: "Activate", exact: true }).click();
  await page.getByText("Active", { exact: true }).locator("xpath=following-sibling::dd[1]").filter({ hasText: "yes" }).waitFor();
  await page.getByRole("button", { name: "Deactivate", exact: true }).waitFor();
  await page.getByLabel("Failed since").fill("2020-01-01T00:00");
  await page.getByRole("button", { name: "Recover failed deliveries" }).click();
  await page.getByText("Recovering 0 failed deliveries.").waitFor();

  // The live view of every outcome: a redelivery's shows. This step failed
  // twice in CI runs (never in a local run): the subscription page's live
  // mark had the same id as the live page's, so the wait below could see
  // the old page's, still shown just after the click, and redeliver before
  // the live page's stream was open. Each page's mark now has its own id,
  // set by that page's own stream's headers. Should it fail again, what the
  // receiver got, the rows and the server's log are printed and the
  // delivery is redelivered, at most three times in all.
  await page.getByRole("link", { name: "Live outcomes" }).click();
  await page.locator('#live-state[data-live="on"]').waitFor();
  const succeeded = page.locator("#outcomes tr", { hasText: "ATTEMPT_SUCCEEDED" }).first();
  for (let round = 1; ; ++round) {
    const sent = receiver.requests.filter((r) => r.url === "/ops").length;
    try {
      await call(server.base, TOKENS.admin, "webhooks.v1.DeliveryService/Redeliver", { deliveryId: a });
    } catch (err) {
      if (round === 1) throw err;
      console.log(`live view: redelivery ${round} refused: ${err.message}`);
    }
    try {
      await succeeded.waitFor({ timeout: 10_000 });
      break;
    } catch (err) {
      const got = receiver.requests.filter((r) => r.url === "/ops").length - sent;
      const rows = await page.locator("#outcomes").textContent();
      const state = await page.locator("#live-state").textContent();
      console.log(`live view: no ATTEMPT_SUCCEEDED 10 s after redelivery ${round}; ` +
        `the receiver got ${got} request(s); state ${JSON.stringify(state)}; ` +
        `rows ${JSON.stringify(rows)}; server log:\n${server.log().slice(-4000)}`);
      if (round === 3) throw err;
    }
  }
  await page.screenshot({ path: path.join(shots, "live.png") });

  // Who would receive an event allowed to alice only, and why not.
  await page.getByRole("link", { name: "Who would receive?" }).click();
  await page.getByLabel("Site", { exact: true }).fill("/NOAA/NWS/OUN");
  await page.getByLabel("Resource types").fill("user");
  await page.getByLabel("Event types").fill("added");
  await page.getByLabel("ACL: allow principals").fill("alice");
  await page.getByRole("button", { name: "Who would receive it?" }).click();
  await page.locator("#matches tbody tr").first().waitFor();
  const rows = await page.locator("#matches tbody tr").evaluateAll((trs) => trs.map((tr) => tr.textContent));
  assert.equal(rows.length, 2);  // bob's site is elsewhere
  assert.ok(rows.some((r) => r.includes(alice.id) && r.includes("DELIVERED")), rows.join("\n"));
  assert.ok(rows.some((r) => r.includes(id) && r.includes("DELIVERED")), rows.join("\n"));
  await page.getByLabel("ACL: allow principals").fill("carol");
  await page.getByRole("button", { name: "Who would receive it?" }).click();
  await page.locator("#matches tr.not-delivered", { hasText: alice.id }).getByText("NO_GRANT").waitFor();
  await page.screenshot({ path: path.join(shots, "match.png"), fullPage: true });
  await page.close();
  assert.deepEqual(problems, []);
});

test("a subscriber's key sees only its own subscriptions, also at phone width", async () => {
  const list = await call(server.base, TOKENS.admin, "webhooks.v1.SubscriptionService/ListSubscriptions", {});
  const bob = list.subscriptions.find((s) => s.owner === "bob");
  const alice = list.subscriptions.find((s) => s.owner === "alice");
  assert.ok(bob && alice);
  const page = await newPage(390, 844);
  await signIn(page, TOKENS.alice);
  await page.locator(`a[href="#/subscriptions/${alice.id}"]`).waitFor();
  assert.equal(await page.locator("#site-tree .sub").count(), 1);
  assert.equal(await page.locator(`a[href="#/subscriptions/${bob.id}"]`).count(), 0);
  await page.screenshot({ path: path.join(shots, "phone-subscriber.png"), fullPage: true });
  assert.deepEqual(problems, []);
  // Not by its address either (the browser logs the API's 404s).
  await page.goto(`${server.base}/#/subscriptions/${bob.id}`);
  await page.getByRole("alert").filter({ hasText: "NotFound" }).waitFor();
  problems.length = 0;
  // Nothing is wider than the phone's screen.
  await page.goto(`${server.base}/#/sites`);
  await page.locator(`a[href="#/subscriptions/${alice.id}"]`).waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  // The page cannot reach another origin at all: the CSP's connect-src.
  const status = await page.evaluate(async (key) => {
    const res = await fetch("http://localhost:1/", { method: "POST" }).catch(() => null);
    return res === null ? "blocked" : String(res.status);
  }, TOKENS.alice);
  assert.equal(status, "blocked");
  assert.ok(problems.some((p) => /Content Security Policy/.test(p)), problems.join("\n"));
  await page.close();
});

test("an admin makes a subscriber's API key in the console: it signs in, and once revoked it does not", async () => {
  const page = await newPage();
  await signIn(page, TOKENS.admin);
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
  await page.getByLabel("Name").fill("alice's portal");
  await page.getByLabel("Principal").fill("alice");
  await page.getByLabel("subscriber").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = await page.locator("#new-key").filter({ hasText: "shown this once" }).textContent();
  const secret = shown.split("shown this once: ")[1].trim();
  assert.ok(secret.length >= 16, shown);
  await page.locator("#keys tr", { hasText: "alice's portal" }).getByText("ACTIVE").waitFor();
  // The list never shows the secret again.
  assert.ok(!(await page.locator("#keys").textContent()).includes(secret));
  await page.screenshot({ path: path.join(shots, "keys.png"), fullPage: true });

  // The new key signs in and sees alice's subscriptions only.
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, secret);
  await waitFor("alice's tree", async () => (await page.locator("#site-tree .sub").count()) === 1);
  assert.match(await page.locator("#site-tree").textContent(), /owner alice/);

  // Revoked by an admin in another tab, it is refused at once: the next
  // call sends its tab back to sign-in, saying why.
  const admin = await newPage();
  await signIn(admin, TOKENS.admin);
  await admin.getByRole("link", { name: "API keys" }).click();
  await admin.getByRole("button", { name: "Revoke alice's portal" }).click();
  await admin.locator("#keys tr", { hasText: "alice's portal" }).getByText("REVOKED").waitFor();
  await admin.close();
  await page.getByRole("link", { name: "API keys" }).click();  // one unary call
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "Signed out" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.getByLabel("API key").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("form p.error", { hasText: "Not signed in" }).waitFor();
  await page.close();
});
