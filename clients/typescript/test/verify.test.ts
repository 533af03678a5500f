// verify() against the shared Standard Webhooks vectors (testdata/webhook_signatures.json).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { DEFAULT_TOLERANCE_SECONDS, WebhookVerificationError, sign, verify, type VerificationFailure } from "../src";
import { packageRoot } from "./server";

interface Vector {
  why?: string;
  secret: string;
  msg_id: string;
  timestamp: number;
  body: string;
  signature: string;
}
interface Vectors {
  valid: Vector[];
  invalid: Vector[];
  rotation: { new_secret: string; old_secret: string; msg_id: string; timestamp: number; body: string; signature: string };
  tolerance_seconds: number;
}

const vectors: Vectors = JSON.parse(
  fs.readFileSync(path.join(packageRoot, "..", "..", "testdata", "webhook_signatures.json"), "utf8"),
);

function headersOf(v: { msg_id: string; timestamp: number; signature: string }): Record<string, string> {
  return { "webhook-id": v.msg_id, "webhook-timestamp": String(v.timestamp), "webhook-signature": v.signature };
}

function rejects(fn: () => unknown, reason: VerificationFailure, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WebhookVerificationError, `${what}: threw ${e}`);
    assert.equal(e.reason, reason, what);
    return true;
  });
}

test("the default tolerance is the vectors' (5 minutes)", () => {
  assert.equal(DEFAULT_TOLERANCE_SECONDS, vectors.tolerance_seconds);
  assert.equal(DEFAULT_TOLERANCE_SECONDS, 300);
});

test("every valid vector verifies (string and bytes bodies) and sign() reproduces it", () => {
  assert.ok(vectors.valid.length >= 4);
  for (const v of vectors.valid) {
    const now = new Date(v.timestamp * 1000);
    assert.deepEqual(verify(v.secret, headersOf(v), v.body, { now }), { id: v.msg_id, timestamp: v.timestamp });
    verify(v.secret, headersOf(v), Buffer.from(v.body, "utf8"), { now: v.timestamp * 1000 });
    assert.equal(sign(v.secret, v.msg_id, v.timestamp, v.body), v.signature);
  }
});

test("every invalid vector is refused", () => {
  assert.ok(vectors.invalid.length >= 4);
  for (const v of vectors.invalid) {
    rejects(() => verify(v.secret, headersOf(v), v.body, { now: v.timestamp * 1000 }), "no_matching_signature", v.why ?? "");
  }
});

test("after a rotation either secret verifies the space-separated signatures", () => {
  const r = vectors.rotation;
  assert.ok(r.signature.includes(" "));
  for (const secret of [r.old_secret, r.new_secret]) {
    verify(secret, headersOf(r), r.body, { now: r.timestamp * 1000 });
  }
  rejects(
    () => verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", headersOf(r), r.body, { now: r.timestamp * 1000 }),
    "no_matching_signature",
    "a third secret",
  );
});

test("stale and future timestamps are refused; the tolerance is inclusive and configurable", () => {
  const v = vectors.valid[0];
  const at = (seconds: number) => ({ now: (v.timestamp + seconds) * 1000 });
  verify(v.secret, headersOf(v), v.body, at(300));
  verify(v.secret, headersOf(v), v.body, at(-300));
  rejects(() => verify(v.secret, headersOf(v), v.body, at(301)), "timestamp_too_old", "301 s late");
  rejects(() => verify(v.secret, headersOf(v), v.body, at(-301)), "timestamp_too_new", "301 s early");
  rejects(() => verify(v.secret, headersOf(v), v.body, { ...at(61), toleranceSeconds: 60 }), "timestamp_too_old", "tolerance 60");
  verify(v.secret, headersOf(v), v.body, { ...at(3600), toleranceSeconds: 3600 });
  // Default now: the vector is years old.
  rejects(() => verify(v.secret, headersOf(v), v.body), "timestamp_too_old", "now");
});

test("header names are case-insensitive, in records and Headers objects", () => {
  const v = vectors.valid[0];
  const opts = { now: v.timestamp * 1000 };
  verify(v.secret, { "Webhook-Id": v.msg_id, "WEBHOOK-TIMESTAMP": String(v.timestamp), "Webhook-Signature": v.signature }, v.body, opts);
  const h = new Headers({ "Webhook-Id": v.msg_id, "Webhook-Timestamp": String(v.timestamp), "Webhook-Signature": v.signature });
  verify(v.secret, h, v.body, opts);
  // A signature header given as an array (repeated header) is joined.
  verify(v.secret, { ...headersOf(v), "webhook-signature": ["v1,bm90IGl0", v.signature] }, v.body, opts);
  // A Map-like get() returning undefined counts as missing.
  rejects(() => verify(v.secret, { get: () => undefined }, v.body, opts), "missing_header", "get() undefined");
});

test("malformed input is refused with a reason", () => {
  const v = vectors.valid[0];
  const opts = { now: v.timestamp * 1000 };
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const h = headersOf(v);
    delete h[name];
    rejects(() => verify(v.secret, h, v.body, opts), "missing_header", `without ${name}`);
  }
  rejects(() => verify(v.secret, { ...headersOf(v), "webhook-timestamp": "16142653e3" }, v.body, opts), "invalid_timestamp", "bad timestamp");
  rejects(() => verify("whsec_not base64!", headersOf(v), v.body, opts), "invalid_secret", "bad secret");
  rejects(() => verify("whsec_", headersOf(v), v.body, opts), "invalid_secret", "empty secret");
  rejects(() => verify(v.secret, { ...headersOf(v), "webhook-signature": "v1,%%%" }, v.body, opts), "no_matching_signature", "bad base64");
  rejects(() => verify(v.secret, { ...headersOf(v), "webhook-signature": "v1" }, v.body, opts), "no_matching_signature", "no comma");
  rejects(
    () => verify(v.secret, { ...headersOf(v), "webhook-signature": "v1," + Buffer.alloc(16).toString("base64") }, v.body, opts),
    "no_matching_signature",
    "short signature",
  );
});
