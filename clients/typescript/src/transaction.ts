import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { errorCode } from "./errors";
import type { CallOptions, DeepPartial, EventServiceClient } from "./client";
import type { Event, EventResult, Transaction } from "./gen/webhooks/v1/event";

/** Bounds the Abort sent when a transaction's callback throws. */
const ABORT_TIMEOUT_MS = 10_000;

export interface TransactionOptions {
  /**
   * How long the transaction may stay prepared before it expires, in seconds
   * (sent with the first Prepare; the server caps it).
   */
  ttlSeconds?: number;
  /** Options for the Prepare and Commit calls (deadline, signal, metadata). */
  callOptions?: CallOptions;
}

/** An open transaction inside WebhookdClient.transaction(). */
export class Tx {
  /** The transaction id. */
  readonly id: string;
  private readonly events: EventServiceClient;
  private readonly options: TransactionOptions;
  private started = false;
  private readonly pending = new Set<Promise<unknown>>();
  private state: Transaction | undefined;
  private readonly results: EventResult[] = [];

  /** @internal */
  constructor(events: EventServiceClient, id: string, options: TransactionOptions) {
    this.events = events;
    this.id = id;
    this.options = options;
  }

  /**
   * Prepares events in the transaction: once the promise resolves they are
   * stored durably, and they are delivered only if the transaction commits.
   * An event id already prepared is a no-op. Resolves to what each event
   * matched; a rejection (ApiError) should usually be let through the
   * callback, which aborts the transaction.
   */
  async add(...events: DeepPartial<Event>[]): Promise<EventResult[]> {
    if (events.length === 0) return [];
    const first = !this.started;
    this.started = true; // a failed Prepare may still have reached the server
    const call = this.events.prepare(
      {
        transactionId: this.id,
        events,
        ttl: first && this.options.ttlSeconds ? durationOf(this.options.ttlSeconds) : undefined,
      },
      this.options.callOptions,
    );
    this.pending.add(call);
    try {
      const resp = await call;
      if (resp.transaction) this.state = resp.transaction;
      this.results.push(...resp.eventResults);
      return resp.eventResults;
    } finally {
      this.pending.delete(call);
    }
  }

  /** The transaction as of the last Prepare or Commit (undefined before the first). */
  get transaction(): Transaction | undefined {
    return this.state;
  }

  /** What each prepared event matched, in the order the Prepares completed. */
  get eventResults(): readonly EventResult[] {
    return this.results;
  }

  /** @internal */
  get prepared(): boolean {
    return this.started;
  }

  /** @internal waits for adds still in flight; rejects with the first failure. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) {
      const outcomes = await Promise.allSettled([...this.pending]);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failed) throw failed.reason;
    }
  }

  /** @internal */
  setState(state: Transaction | undefined): void {
    if (state) this.state = state;
  }
}

/** A random transaction id: "tx_" and 32 hex digits. */
export function newTransactionId(): string {
  return "tx_" + randomBytes(16).toString("hex");
}

/** @internal see WebhookdClient.transaction */
export async function runTransaction<T>(
  events: EventServiceClient,
  txId: string | undefined,
  fn: (tx: Tx) => Promise<T> | T,
  options: TransactionOptions = {},
): Promise<T> {
  const tx = new Tx(events, txId || newTransactionId(), options);
  let value: T;
  try {
    value = await fn(tx);
    // An add the callback did not await must finish (or fail) first.
    await tx.settle();
  } catch (err) {
    await tx.settle().catch(() => undefined);
    if (tx.prepared) {
      try {
        await events.abort({ transactionId: tx.id }, { timeoutMs: ABORT_TIMEOUT_MS });
      } catch (abortErr) {
        // NOT_FOUND: nothing was stored (the first Prepare failed).
        // The callback's error is what the caller gets; the failed Abort
        // rides along on it (the transaction then expires on its own).
        if (errorCode(abortErr) !== status.NOT_FOUND && typeof err === "object" && err !== null && Object.isExtensible(err)) {
          Object.defineProperty(err, "abortError", { value: abortErr, configurable: true, writable: true });
        }
      }
    }
    throw err;
  }
  if (tx.prepared) {
    const resp = await events.commit({ transactionId: tx.id }, options.callOptions);
    tx.setState(resp.transaction);
  }
  return value;
}

function durationOf(seconds: number): { seconds: number; nanos: number } {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.round((seconds - whole) * 1e9) };
}
