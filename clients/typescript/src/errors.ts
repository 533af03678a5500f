import { Metadata, status as Status, type ServiceError } from "@grpc/grpc-js";

/** The name of a gRPC status code: 3 → "INVALID_ARGUMENT". */
export function statusName(code: number): string {
  return (Status as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

/**
 * A call the server refused (or that failed in transport), with the gRPC status
 * code and, when the server named one, the request field it objected to.
 *
 * The server starts the messages of field errors with the field's path:
 * "subscription.site: must be an absolute path starting with '/'",
 * "events[0].resource_types is required". `field` is that path
 * ("subscription.site") and `reason` the rest; for other errors `field` is
 * undefined and `reason` is the whole message.
 */
export class ApiError extends Error {
  /** The gRPC status code (`grpc.status.INVALID_ARGUMENT` = 3, ...). */
  readonly code: Status;
  /** The code's name: "INVALID_ARGUMENT", "UNAUTHENTICATED", ... */
  readonly codeName: string;
  /** The request field the server objected to, if it named one. */
  readonly field?: string;
  /** The server's message without the field prefix. */
  readonly reason: string;
  /** The server's message as sent. */
  readonly details: string;
  /** Trailing metadata of the call. */
  readonly metadata: Metadata;

  constructor(code: Status, details: string, metadata: Metadata = new Metadata(), options?: { cause?: unknown }) {
    const codeName = statusName(code);
    const split = splitField(details);
    super(
      split ? `${codeName}: ${split.field}: ${split.reason}` : `${codeName}: ${details}`,
      options?.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = "ApiError";
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.metadata = metadata;
    if (split) {
      this.field = split.field;
      this.reason = split.reason;
    } else {
      this.reason = details;
    }
  }

  /** An ApiError for a grpc-js ServiceError (returned as is if it already is one). */
  static from(err: unknown): ApiError | undefined {
    if (err instanceof ApiError) return err;
    if (!isServiceError(err)) return undefined;
    return new ApiError(err.code, err.details ?? err.message, err.metadata ?? new Metadata(), { cause: err });
  }
}

/** The gRPC code of err: OK (0) for null/undefined, UNKNOWN (2) for other errors. */
export function errorCode(err: unknown): Status {
  if (err === null || err === undefined) return Status.OK;
  if (err instanceof ApiError) return err.code;
  if (isServiceError(err)) return err.code;
  return Status.UNKNOWN;
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { code?: unknown }).code === "number" &&
    "details" in err &&
    "metadata" in err
  );
}

// A field path as the server writes it: subscription.site, events[0].acl[2],
// events[0].representations["webhook-delivery"], update_mask.
const fieldPath = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.\$?[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])*`;
const fieldProblem = new RegExp(`^(${fieldPath}): ([\\s\\S]*)$`);
const fieldRequired = new RegExp(`^(${fieldPath}) (is required)$`);

/** Splits "subscription.site: must be ..." into field and reason. */
export function splitField(message: string): { field: string; reason: string } | undefined {
  const m = fieldProblem.exec(message) ?? fieldRequired.exec(message);
  return m ? { field: m[1], reason: m[2] } : undefined;
}
