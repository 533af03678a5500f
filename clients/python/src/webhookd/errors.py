"""Errors raised by the SDK.

Every failed call raises an :class:`ApiError` (or one of its subclasses, one
per common gRPC status code) that keeps the gRPC status code, the server's
message, and the field the server objected to.  The server's messages name the
field first: ``subscription.site: must be an absolute path starting with '/'``
or ``update_mask is required``; :attr:`ApiError.field` is that path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import grpc

__all__ = [
    "WebhookdError",
    "ApiError",
    "FieldViolation",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "ResourceExhaustedError",
    "DeadlineExceededError",
    "UnavailableError",
    "WebhookVerificationError",
]


class WebhookdError(Exception):
    """Base class of every error this package raises on purpose."""


class WebhookVerificationError(WebhookdError):
    """A webhook request failed Standard Webhooks verification."""


@dataclass(frozen=True)
class FieldViolation:
    """A request field and what is wrong with it."""

    field: str
    description: str


# A field path as the server writes it: `subscription.site`,
# `events[0].resource_types[1]`, `dialect.headers["X-Foo"]`, `update_mask`,
# `subscription.filter.$or[1]["amount"].$gte` (a payload filter's part).
_FIELD_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.\$?[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\[\"[^\"]*\"\])*"
_FIELD_PREFIX = re.compile(rf"^(?P<field>{_FIELD_PATH})(?::\s+(?P<problem>.*)|\s+(?P<required>is required.*))$",
                           re.DOTALL)


def parse_field_violation(message: str) -> Optional[FieldViolation]:
    """The field the server names at the start of an error message, if any.

    >>> parse_field_violation("subscription.site: must be absolute")
    FieldViolation(field='subscription.site', description='must be absolute')
    >>> parse_field_violation('subscription "sub_1" not found') is None
    True
    """
    match = _FIELD_PREFIX.match(message or "")
    if match is None:
        return None
    if match.group("problem") is not None:
        return FieldViolation(match.group("field"), match.group("problem"))
    return FieldViolation(match.group("field"), match.group("required"))


class ApiError(WebhookdError):
    """A call to the server failed.

    Attributes:
      code: the :class:`grpc.StatusCode`.
      message: the server's message (the status details), as sent.
      field: the request field the message names (``"subscription.site"``),
        or ``None``.
      field_violations: every field violation found (at most one today, as
        the server reports the first problem it finds).
      description: the message without its field prefix.
      trailing_metadata: the call's trailing metadata, as pairs.
    """

    code: grpc.StatusCode
    message: str

    def __init__(self, code: grpc.StatusCode, message: str,
                 trailing_metadata: Sequence[Tuple[str, str | bytes]] = ()):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.trailing_metadata = tuple(trailing_metadata or ())
        violation = parse_field_violation(message)
        self.field_violations: Tuple[FieldViolation, ...] = (
            (violation,) if violation is not None else ())

    @property
    def field(self) -> Optional[str]:
        return self.field_violations[0].field if self.field_violations else None

    @property
    def description(self) -> str:
        if self.field_violations:
            return self.field_violations[0].description
        return self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code.name}, "
                f"message={self.message!r}, field={self.field!r})")

    @staticmethod
    def from_rpc_error(error: grpc.RpcError) -> "ApiError":
        """Wraps a :class:`grpc.RpcError` raised by a stub."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        if code is None:
            code = grpc.StatusCode.UNKNOWN
        message = (error.details() if hasattr(error, "details") else None) or ""
        try:
            trailing = error.trailing_metadata() or ()
        except Exception:  # not every RpcError is a Call
            trailing = ()
        cls = _BY_CODE.get(code, ApiError)
        wrapped = cls(code, message, trailing)
        wrapped.__cause__ = error
        return wrapped


class InvalidArgumentError(ApiError):
    """INVALID_ARGUMENT: a request field is malformed; see :attr:`field`."""


class NotFoundError(ApiError):
    """NOT_FOUND (also what a subscriber gets for another's subscription)."""


class AlreadyExistsError(ApiError):
    """ALREADY_EXISTS."""


class FailedPreconditionError(ApiError):
    """FAILED_PRECONDITION: the request is valid but the state forbids it."""


class PermissionDeniedError(ApiError):
    """PERMISSION_DENIED: the caller's role does not allow the call."""


class UnauthenticatedError(ApiError):
    """UNAUTHENTICATED: no bearer token, or an unknown one."""


class ResourceExhaustedError(ApiError):
    """RESOURCE_EXHAUSTED: a size or count limit was reached."""


class DeadlineExceededError(ApiError):
    """DEADLINE_EXCEEDED: the call's timeout passed."""


class UnavailableError(ApiError):
    """UNAVAILABLE: the server could not be reached (retry later)."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}
