// The SDK against a real webhookd process and a local HTTP receiver.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { after, before, describe, test } from "node:test";
import { ApiError, WebhookdClient, WebhookVerificationError, errorCode, newTransactionId, status, verify, v1 } from "../src";
import {
  Receiver,
  ServerProcess,
  adminToken,
  publisherToken,
  sleep,
  subscriberName,
  subscriberToken,
  tempDir,
  tokensConfig,
  uniqueSite,
} from "./server";

let server: ServerProcess;
let dir: string;
const clients: WebhookdClient[] = [];
const receivers: Receiver[] = [];

before(async () => {
  dir = tempDir("webhookd-ts-test-");
  server = await ServerProcess.start(dir, tokensConfig);
});

after(async () => {
  for (const c of clients) c.close();
  for (const r of receivers) await r.close();
  try {
    await server.stop();
  } catch (err) {
    process.stderr.write(`---- webhookd log ----\n${server.log()}---- end of webhookd log ----\n`);
    throw err;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A plaintext client of the shared server with token (none if undefined). */
function dial(token?: string): WebhookdClient {
  const c = new WebhookdClient({ address: server.address, token, tls: "insecure" });
  clients.push(c);
  return c;
}

async function receiver(): Promise<Receiver> {
  const r = await Receiver.start();
  receivers.push(r);
  return r;
}

/** A "user added" event in site that everyone may see. */
function userAdded(site: string, id: string, body: string) {
  return {
    id,
    site,
    resourceTypes: ["user", "principal"],
    eventTypes: ["added"],
    representations: { "webhook-delivery": { body: Buffer.from(body) } },
    acl: [{ action: v1.AclEntry_Action.ALLOW, principal: "system.Everyone", permission: "view" }],
  };
}

/** As the subscriber, a subscription to users added in site, delivered to target. */
async function subscribe(site: string, target: string): Promise<v1.Subscription> {
  const sub = await dial(subscriberToken).subscriptions.createSubscription({
    subscription: { site, resourceType: "user", eventType: "added", targetUrl: target },
  });
  assert.equal(sub.owner, subscriberName);
  assert.match(sub.secret, /^whsec_/);
  return sub;
}

function getTransaction(id: string): Promise<v1.Transaction> {
  return dial(publisherToken).events.getTransaction({ transactionId: id });
}

describe("against a live webhookd", () => {
  test("a delivery submitted through the transaction helper is signed and verifies", async () => {
    const recv = await receiver();
    const site = uniqueSite("deliver");
    const sub = await subscribe(site, recv.url("/hooks/users"));

    const publisher = dial(publisherToken);
    const txId = newTransactionId();
    const body = `{"id":"u-1","name":"Ada"}`;
    let seen: import("../src").Tx | undefined;
    const value = await publisher.transaction(txId, async (tx) => {
      seen = tx;
      const results = await tx.add(userAdded(`${site}/ops`, "evt-1", body));
      assert.equal(results.length, 1);
      return "done";
    });
    assert.equal(value, "done", "transaction() resolves to the callback's value");
    assert.ok(seen);
    assert.equal(seen.id, txId);
    assert.deepEqual(
      seen.eventResults.map((r) => r.matchedSubscriptions),
      [1],
    );
    assert.equal(seen.transaction?.state, v1.Transaction_State.COMMITTED);

    const got = await recv.next(30_000);
    assert.equal(got.method, "POST");
    assert.equal(got.path, "/hooks/users");
    assert.equal(got.body.toString(), body);
    const verified = verify(sub.secret, got.headers, got.body);
    assert.equal(verified.id, got.headers["webhook-id"]);
    // A Fetch API Headers object works too.
    const fetchHeaders = new Headers();
    for (const [k, v] of Object.entries(got.headers)) if (typeof v === "string") fetchHeaders.set(k, v);
    verify(sub.secret, fetchHeaders, got.body.toString("utf8"));

    // Changed body, another secret, an hour later: refused.
    assert.throws(
      () => verify(sub.secret, got.headers, Buffer.concat([got.body, Buffer.from(" ")])),
      (e: unknown) => e instanceof WebhookVerificationError && e.reason === "no_matching_signature",
    );
    assert.throws(
      () => verify("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", got.headers, got.body),
      (e: unknown) => e instanceof WebhookVerificationError && e.reason === "no_matching_signature",
    );
    assert.throws(
      () => verify(sub.secret, got.headers, got.body, { now: Date.now() + 3600_000 }),
      (e: unknown) => e instanceof WebhookVerificationError && e.reason === "timestamp_too_old",
    );

    const state = await getTransaction(txId);
    assert.equal(state.state, v1.Transaction_State.COMMITTED);
    assert.equal(state.deliveryCount, 1);

    // The subscriber sees the attempt, under the id the receiver got.
    const subscriber = dial(subscriberToken);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { attempts } = await subscriber.deliveries.listAttempts({ subscriptionId: sub.id });
      if (attempts.length === 1 && attempts[0].status === v1.DeliveryAttempt_Status.SUCCESSFUL) {
        assert.equal(attempts[0].deliveryId, got.headers["webhook-id"]);
        break;
      }
      assert.ok(Date.now() < deadline, `attempts = ${JSON.stringify(attempts)}, want one SUCCESSFUL`);
      await sleep(50);
    }
    await subscriber.subscriptions.deleteSubscription({ id: sub.id });
  });

  test("a transaction whose callback throws is aborted and delivers nothing", async () => {
    const recv = await receiver();
    const site = uniqueSite("abort");
    const sub = await subscribe(site, recv.url("/hooks"));
    const publisher = dial(publisherToken);

    const failed = newTransactionId();
    const businessError = new Error("the user was not created after all");
    await assert.rejects(
      publisher.transaction(failed, async (tx) => {
        await tx.add(userAdded(site, "evt-aborted", `{"aborted":true}`));
        assert.equal((await getTransaction(failed)).state, v1.Transaction_State.PREPARED);
        throw businessError;
      }),
      (e: unknown) => e === businessError,
    );
    assert.equal((await getTransaction(failed)).state, v1.Transaction_State.ABORTED);

    // A committed transaction after it is delivered, and is the only
    // delivery the receiver ever gets.
    await publisher.transaction(undefined, (tx) => tx.add(userAdded(site, "evt-committed", `{"committed":true}`)));
    const got = await recv.next(30_000);
    assert.equal(got.body.toString(), `{"committed":true}`);
    await sleep(1500);
    assert.deepEqual(
      recv.requests.map((r) => r.body.toString()),
      [`{"committed":true}`],
    );
    await dial(subscriberToken).subscriptions.deleteSubscription({ id: sub.id });
  });

  test("an add the callback did not await is prepared before the commit", async () => {
    const id = newTransactionId();
    await dial(publisherToken).transaction(id, (tx) => {
      void tx.add(userAdded(uniqueSite("unawaited"), "evt-1", "{}"));
    });
    const state = await getTransaction(id);
    assert.equal(state.state, v1.Transaction_State.COMMITTED);
    assert.equal(state.eventCount, 1);
  });

  test("a transaction with nothing added is not sent", async () => {
    const id = newTransactionId();
    await dial(publisherToken).transaction(id, () => undefined);
    await assert.rejects(getTransaction(id), (e: unknown) => e instanceof ApiError && e.code === status.NOT_FOUND);
  });

  test("an invalid event rejects the transaction with the field", async () => {
    const id = newTransactionId();
    await assert.rejects(
      dial(publisherToken).transaction(id, (tx) => tx.add({ site: "/tssdk/invalid", eventTypes: ["added"] })),
      (e: unknown) => {
        assert.ok(e instanceof ApiError, `want an ApiError, got ${e}`);
        assert.equal(e.code, status.INVALID_ARGUMENT);
        assert.match(e.field ?? "", /^events\[0\]\.resource_types/);
        return true;
      },
    );
  });

  test("a bad request is INVALID_ARGUMENT naming the field subscription.site", async () => {
    await assert.rejects(
      dial(subscriberToken).subscriptions.createSubscription({
        subscription: { site: "NOAA", resourceType: "user", eventType: "added", targetUrl: "http://127.0.0.1:9/hooks" },
      }),
      (e: unknown) => {
        assert.ok(e instanceof ApiError, `want an ApiError, got ${e}`);
        assert.equal(e.code, status.INVALID_ARGUMENT);
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(e.codeName, "INVALID_ARGUMENT");
        assert.equal(e.field, "subscription.site");
        assert.ok(e.reason !== "" && !e.reason.startsWith("subscription.site"), e.reason);
        assert.match(e.message, /^INVALID_ARGUMENT: subscription\.site: /);
        assert.equal(errorCode(e), status.INVALID_ARGUMENT);
        return true;
      },
    );
  });

  test("a call without a token, or with an unknown one, is UNAUTHENTICATED", async () => {
    for (const token of [undefined, "not-a-configured-token-000"]) {
      await assert.rejects(
        dial(token).subscriptions.listSubscriptions({}),
        (e: unknown) => e instanceof ApiError && e.code === status.UNAUTHENTICATED && e.codeName === "UNAUTHENTICATED",
        `token ${token}`,
      );
    }
    // The same connection with a token is let in.
    const { dialects } = await dial().withToken(adminToken).dialects.listDialects({});
    assert.ok(dialects.length > 0, "want the built-in default dialect");
  });

  test("a role that does not allow the call is PERMISSION_DENIED", async () => {
    await assert.rejects(
      dial(subscriberToken).transaction(undefined, (tx) => tx.add(userAdded("/tssdk/role", "evt-1", "{}"))),
      (e: unknown) => {
        assert.equal(errorCode(e), status.PERMISSION_DENIED);
        // The Abort was refused too (the subscriber may not), and rides along.
        assert.equal(errorCode((e as { abortError?: unknown }).abortError), status.PERMISSION_DENIED);
        return true;
      },
    );
  });

  test("WatchOutcomes streams the outcome of a delivery", async () => {
    const recv = await receiver();
    const site = uniqueSite("watch");
    const sub = await subscribe(site, recv.url("/watched"));
    const subscriber = dial(subscriberToken);
    const stream = subscriber.deliveries.watchOutcomes({ subscriptionId: sub.id });
    const first = (async () => {
      for await (const outcome of stream) return outcome;
      return undefined;
    })();
    // The watch is registered when the server has the call; give it a moment.
    await sleep(300);
    await dial(publisherToken).transaction(undefined, (tx) => tx.add(userAdded(site, "evt-1", "{}")));
    const outcome = await first;
    assert.ok(outcome, "the stream ended without an outcome");
    assert.equal(outcome.kind, v1.Outcome_Kind.ATTEMPT_SUCCEEDED);
    assert.equal(outcome.subscriptionId, sub.id);
    stream.cancel();
    await subscriber.subscriptions.deleteSubscription({ id: sub.id });
  });

  test("clientOptions() lets other services share the connection and token", async () => {
    const c = dial(adminToken);
    // grpc.health.v1.Health/Check with an empty request; SERVING is field 1 = 1.
    const health = new grpc.Client("unused", grpc.credentials.createInsecure(), c.clientOptions());
    const reply = await new Promise<Buffer>((resolve, reject) =>
      health.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
    assert.deepEqual([...reply], [0x08, 0x01]);
    await c.waitForReady(Date.now() + 5000);
  });

  test("a deadline that passes rejects with DEADLINE_EXCEEDED, an aborted signal with CANCELLED", async () => {
    const c = dial(adminToken);
    await assert.rejects(c.dialects.listDialects({}, { deadline: Date.now() - 1 }), (e: unknown) => errorCode(e) === status.DEADLINE_EXCEEDED);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(c.dialects.listDialects({}, { signal: ac.signal }), (e: unknown) => errorCode(e) === status.CANCELLED);
  });
});
