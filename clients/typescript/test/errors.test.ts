// ApiError and the field parsing, without a server.
import assert from "node:assert/strict";
import { Metadata } from "@grpc/grpc-js";
import { test } from "node:test";
import { ApiError, errorCode, splitField, status, statusName } from "../src";

test("splitField finds the field paths the server writes", () => {
  const cases: Array<[string, { field: string; reason: string } | undefined]> = [
    ["subscription.site: must be an absolute path starting with '/'", { field: "subscription.site", reason: "must be an absolute path starting with '/'" }],
    ["events[0].resource_types is required", { field: "events[0].resource_types", reason: "is required" }],
    ['events[0].representations["webhook-delivery"]: too large', { field: 'events[0].representations["webhook-delivery"]', reason: "too large" }],
    ["update_mask: unknown path: foo", { field: "update_mask", reason: "unknown path: foo" }],
    ['subscription.filter.$or[1]["amount"].$gte: wants a number', { field: 'subscription.filter.$or[1]["amount"].$gte', reason: "wants a number" }],
    ["subscription.site: line one\nline two", { field: "subscription.site", reason: "line one\nline two" }],
    ["missing or unknown bearer token", undefined],
    ["transaction tx_1 not found", undefined],
    ["", undefined],
  ];
  for (const [message, want] of cases) assert.deepEqual(splitField(message), want, message);
});

test("ApiError.from keeps the code, its name and the field of a grpc-js ServiceError", () => {
  const md = new Metadata();
  md.set("x-trace", "abc");
  const serviceError = Object.assign(new Error("3 INVALID_ARGUMENT: subscription.site: must be absolute"), {
    code: status.INVALID_ARGUMENT,
    details: "subscription.site: must be absolute",
    metadata: md,
  });
  const e = ApiError.from(serviceError);
  assert.ok(e instanceof ApiError && e instanceof Error);
  assert.equal(e.code, 3);
  assert.equal(e.codeName, "INVALID_ARGUMENT");
  assert.equal(e.field, "subscription.site");
  assert.equal(e.reason, "must be absolute");
  assert.equal(e.details, "subscription.site: must be absolute");
  assert.equal(e.message, "INVALID_ARGUMENT: subscription.site: must be absolute");
  assert.deepEqual(e.metadata.get("x-trace"), ["abc"]);
  assert.equal(e.cause, serviceError);
  assert.equal(ApiError.from(e), e);
  assert.equal(ApiError.from(new Error("plain")), undefined);

  const plain = new ApiError(status.UNAUTHENTICATED, "missing bearer token");
  assert.equal(plain.field, undefined);
  assert.equal(plain.reason, "missing bearer token");
  assert.equal(plain.message, "UNAUTHENTICATED: missing bearer token");
});

test("errorCode and statusName", () => {
  assert.equal(errorCode(undefined), status.OK);
  assert.equal(errorCode(new Error("x")), status.UNKNOWN);
  assert.equal(errorCode(new ApiError(status.NOT_FOUND, "x")), status.NOT_FOUND);
  assert.equal(statusName(status.PERMISSION_DENIED), "PERMISSION_DENIED");
  assert.equal(statusName(99), "CODE_99");
});
