import * as grpc from "@grpc/grpc-js";
import { ApiError } from "./errors";
import { ApiKeyServiceDefinition } from "./gen/webhooks/v1/api_key";
import { DeliveryServiceDefinition } from "./gen/webhooks/v1/delivery";
import { DialectServiceDefinition } from "./gen/webhooks/v1/dialect";
import { EventServiceDefinition } from "./gen/webhooks/v1/event";
import { PrincipalServiceDefinition } from "./gen/webhooks/v1/principal";
import { SubscriptionServiceDefinition } from "./gen/webhooks/v1/subscription";
import { Tx, runTransaction, type TransactionOptions } from "./transaction";

/** TLS settings: PEM strings or buffers. Without rootCerts the system's roots verify the server. */
export interface TlsOptions {
  rootCerts?: string | Buffer;
  /** Client certificate chain, for mTLS (with privateKey). */
  certChain?: string | Buffer;
  privateKey?: string | Buffer;
  /** Name to check the server's certificate against, instead of the address's host. */
  serverName?: string;
}

export interface WebhookdClientOptions {
  /** "host:port" of the server. */
  address: string;
  /** Sent as `authorization: Bearer <token>` with every call. */
  token?: string;
  /**
   * TLS options (default: TLS verified against the system's roots), or
   * 'insecure' for plaintext, which also lets the token travel unencrypted:
   * development and loopback tests only.
   */
  tls?: TlsOptions | "insecure";
  /** Extra grpc-js channel options ("grpc.keepalive_time_ms", ...). */
  channelOptions?: grpc.ChannelOptions;
}

/** Per-call options of the promise clients. */
export interface CallOptions {
  /** Absolute deadline (Date or epoch milliseconds). */
  deadline?: Date | number;
  /** Relative deadline in milliseconds (ignored when deadline is set). */
  timeoutMs?: number;
  /** Extra request metadata. */
  metadata?: grpc.Metadata;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

// The ts-proto generic service definitions the promise clients are built from.
interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: unknown): T;
}
interface MethodDefinition {
  readonly name: string;
  readonly requestType: MessageType<unknown>;
  readonly responseType: MessageType<unknown>;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}
interface ServiceDefinition {
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDefinition };
}

type Builtin = Date | Function | Uint8Array | string | number | boolean | undefined;
/** A message with every field optional, as the promise clients accept requests. */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<DeepPartial<U>>
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : Partial<T>;

type RequestOf<M> = M extends { requestType: { decode(input: Uint8Array, length?: number): infer R } } ? R : never;
type ResponseOf<M> = M extends { responseType: { decode(input: Uint8Array, length?: number): infer R } } ? R : never;

/** A server stream: async-iterate it for the messages; cancel() ends it. */
export interface ServerStream<T> extends AsyncIterable<T> {
  cancel(): void;
}

/**
 * The methods of a service, promise-returning. Requests are partial messages
 * (missing fields take their defaults); failures reject with ApiError.
 */
export type PromiseClient<D extends { methods: object }> = {
  [K in keyof D["methods"]]: D["methods"][K] extends { requestStream: false; responseStream: true }
    ? (request: DeepPartial<RequestOf<D["methods"][K]>>, options?: CallOptions) => ServerStream<ResponseOf<D["methods"][K]>>
    : (request: DeepPartial<RequestOf<D["methods"][K]>>, options?: CallOptions) => Promise<ResponseOf<D["methods"][K]>>;
};

export type SubscriptionServiceClient = PromiseClient<typeof SubscriptionServiceDefinition>;
export type PrincipalServiceClient = PromiseClient<typeof PrincipalServiceDefinition>;
export type DialectServiceClient = PromiseClient<typeof DialectServiceDefinition>;
export type EventServiceClient = PromiseClient<typeof EventServiceDefinition>;
export type DeliveryServiceClient = PromiseClient<typeof DeliveryServiceDefinition>;
export type ApiKeyServiceClient = PromiseClient<typeof ApiKeyServiceDefinition>;

/**
 * A connection to webhookd, with the six services as promise clients:
 *
 *     const client = new WebhookdClient({ address: "webhooks.example.com:7443", token });
 *     const sub = await client.subscriptions.createSubscription({ subscription: { ... } });
 *
 * Close it when done.
 */
export class WebhookdClient {
  readonly subscriptions: SubscriptionServiceClient;
  readonly principals: PrincipalServiceClient;
  readonly dialects: DialectServiceClient;
  readonly events: EventServiceClient;
  readonly deliveries: DeliveryServiceClient;
  /** Admin only. */
  readonly apiKeys: ApiKeyServiceClient;

  /** The address the client connects to. */
  readonly address: string;
  private readonly channel: grpc.Channel;
  private readonly channelCredentials: grpc.ChannelCredentials;
  private readonly insecure: boolean;
  private readonly token: string | undefined;
  private readonly owner: boolean;
  /** The grpc-js client all calls go through (token attached). */
  readonly grpcClient: grpc.Client;

  constructor(options: WebhookdClientOptions);
  /** @internal shares a connection (withToken). */
  constructor(options: WebhookdClientOptions, shared: { channel: grpc.Channel; credentials: grpc.ChannelCredentials });
  constructor(options: WebhookdClientOptions, shared?: { channel: grpc.Channel; credentials: grpc.ChannelCredentials }) {
    if (!options || typeof options.address !== "string" || options.address === "") {
      throw new TypeError("WebhookdClient: address is required");
    }
    this.address = options.address;
    this.insecure = options.tls === "insecure";
    this.token = options.token || undefined;
    if (shared) {
      this.channel = shared.channel;
      this.channelCredentials = shared.credentials;
      this.owner = false;
    } else {
      const channelOptions: grpc.ChannelOptions = { ...options.channelOptions };
      if (options.tls === "insecure") {
        this.channelCredentials = grpc.credentials.createInsecure();
      } else {
        const tls = options.tls ?? {};
        if ((tls.certChain === undefined) !== (tls.privateKey === undefined)) {
          throw new TypeError("WebhookdClient: tls.certChain and tls.privateKey go together");
        }
        this.channelCredentials = grpc.credentials.createSsl(
          pem(tls.rootCerts),
          pem(tls.privateKey),
          pem(tls.certChain),
        );
        if (tls.serverName) {
          channelOptions["grpc.ssl_target_name_override"] = tls.serverName;
          channelOptions["grpc.default_authority"] = tls.serverName;
        }
      }
      this.channel = new grpc.Channel(this.address, this.channelCredentials, channelOptions);
      this.owner = true;
    }
    this.grpcClient = new grpc.Client(this.address, this.channelCredentials, this.clientOptions());

    this.subscriptions = this.promiseClient(SubscriptionServiceDefinition);
    this.principals = this.promiseClient(PrincipalServiceDefinition);
    this.dialects = this.promiseClient(DialectServiceDefinition);
    this.events = this.promiseClient(EventServiceDefinition);
    this.deliveries = this.promiseClient(DeliveryServiceDefinition);
    this.apiKeys = this.promiseClient(ApiKeyServiceDefinition);
  }

  /**
   * grpc-js client options that share this connection and send this
   * client's token: pass them to a generated grpc-js client constructor (or
   * any other service's, such as grpc.health.v1) with any address and
   * credentials, which the shared channel overrides.
   */
  clientOptions(): grpc.ClientOptions {
    const options: grpc.ClientOptions = { channelOverride: this.channel };
    const token = this.token;
    if (token === undefined) return options;
    if (this.insecure) {
      // grpc-js refuses call credentials on a plaintext channel: add the
      // header with an interceptor instead (the caller chose 'insecure').
      options.interceptors = [bearerInterceptor(token)];
    } else {
      const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${token}`);
        callback(null, md);
      });
      options.callInvocationTransformer = (props) => ({
        ...props,
        callOptions: {
          ...props.callOptions,
          credentials: props.callOptions.credentials ? props.callOptions.credentials.compose(bearer) : bearer,
        },
      });
    }
    return options;
  }

  /**
   * A client that shares this one's connection but sends `token` instead (no
   * token when undefined or empty). Its close() does nothing; close this one.
   */
  withToken(token: string | undefined): WebhookdClient {
    return new WebhookdClient(
      { address: this.address, token, tls: this.insecure ? "insecure" : undefined },
      { channel: this.channel, credentials: this.channelCredentials },
    );
  }

  /**
   * Runs fn in the transaction txId (a fresh id when undefined or empty).
   * Events added with `await tx.add(...)` are prepared as they are added.
   * When fn resolves the transaction is committed (deliveries are created)
   * and its value returned; when fn throws the transaction is aborted,
   * nothing is delivered, and the error is rethrown (should the Abort itself
   * fail, its error is attached to the rethrown one as `abortError`, and the
   * transaction expires at its TTL). A transaction to which nothing was
   * added is neither committed nor aborted.
   *
   * If Commit itself fails its ApiError is thrown and the transaction is left
   * as it is: ask events.getTransaction what became of it, or let it expire.
   */
  transaction<T>(txId: string | undefined, fn: (tx: Tx) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return runTransaction(this.events, txId, fn, options);
  }

  /** Waits until the connection is ready, or rejects at the deadline. */
  waitForReady(deadline: Date | number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.grpcClient.waitForReady(deadline, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes the connection (not for clients made by withToken). */
  close(): void {
    if (this.owner) this.channel.close();
  }

  private promiseClient<D extends ServiceDefinition>(definition: D): PromiseClient<D> {
    const out: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(definition.methods)) {
      const path = `/${definition.fullName}/${method.name}`;
      const req = method.requestType;
      const res = method.responseType;
      const serialize = (value: unknown): Buffer => Buffer.from(req.encode(req.fromPartial(value)).finish());
      const deserialize = (bytes: Buffer): unknown => res.decode(bytes);
      if (method.requestStream) {
        continue; // the API has no client-streaming methods
      }
      if (method.responseStream) {
        out[key] = (request: unknown, options?: CallOptions) => {
          const call = this.grpcClient.makeServerStreamRequest(
            path,
            serialize,
            deserialize,
            request,
            options?.metadata ?? new grpc.Metadata(),
            grpcCallOptions(options),
          );
          const onAbort = () => call.cancel();
          options?.signal?.addEventListener("abort", onAbort, { once: true });
          async function* iterate() {
            try {
              for await (const message of call) yield message;
            } catch (err) {
              throw ApiError.from(err) ?? err;
            } finally {
              options?.signal?.removeEventListener("abort", onAbort);
              call.cancel();
            }
          }
          return Object.assign(iterate(), { cancel: () => call.cancel() });
        };
      } else {
        out[key] = (request: unknown, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            if (options?.signal?.aborted) {
              reject(new ApiError(grpc.status.CANCELLED, "call cancelled before it started"));
              return;
            }
            let onAbort: (() => void) | undefined;
            const call = this.grpcClient.makeUnaryRequest(
              path,
              serialize,
              deserialize,
              request,
              options?.metadata ?? new grpc.Metadata(),
              grpcCallOptions(options),
              (err, value) => {
                if (onAbort) options?.signal?.removeEventListener("abort", onAbort);
                if (err) reject(ApiError.from(err) ?? err);
                else resolve(value);
              },
            );
            if (options?.signal) {
              onAbort = () => call.cancel();
              options.signal.addEventListener("abort", onAbort, { once: true });
            }
          });
      }
    }
    return out as PromiseClient<D>;
  }
}

function grpcCallOptions(options: CallOptions | undefined): grpc.CallOptions {
  if (options?.deadline !== undefined) return { deadline: options.deadline };
  if (options?.timeoutMs !== undefined) return { deadline: Date.now() + options.timeoutMs };
  return {};
}

function pem(value: string | Buffer | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === "string" ? Buffer.from(value) : value;
}

function bearerInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
