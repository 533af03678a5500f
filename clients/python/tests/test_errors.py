"""ApiError: codes, messages and the field named in the message."""
from __future__ import annotations

import grpc
import pytest

import webhookd
from webhookd.errors import parse_field_violation


@pytest.mark.parametrize("message,field,description", [
    ("subscription.site: must be an absolute path starting with '/'",
     "subscription.site", "must be an absolute path starting with '/'"),
    ("events[0].site: must be absolute", "events[0].site", "must be absolute"),
    ("events[12].resource_types[3]: not a type token", "events[12].resource_types[3]",
     "not a type token"),
    ('dialect.headers["X-Foo"]: reserved', 'dialect.headers["X-Foo"]', "reserved"),
    ("update_mask is required", "update_mask", "is required"),
    ('subscription.filter.$or[1]["amount"].$gte: wants a number or a string',
     'subscription.filter.$or[1]["amount"].$gte', "wants a number or a string"),
    ("page_token: not a valid page token for this request", "page_token",
     "not a valid page token for this request"),
])
def test_field_is_parsed_from_the_message(message, field, description):
    error = webhookd.ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)
    assert error.field == field
    assert error.description == description
    assert error.field_violations == (webhookd.FieldViolation(field, description),)
    assert error.message == message


@pytest.mark.parametrize("message", [
    'subscription "sub_1" not found',
    "unknown bearer token",
    "too many subscriptions (at most 10)",
    'transaction "t" is ABORTED; it cannot be committed',
    "",
])
def test_messages_without_a_field(message):
    error = webhookd.ApiError(grpc.StatusCode.NOT_FOUND, message)
    assert error.field is None
    assert error.field_violations == ()
    assert error.description == message
    assert parse_field_violation(message) is None


class FakeRpcError(grpc.RpcError, grpc.Call):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return (("x-trace", "1"),)

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


@pytest.mark.parametrize("code,cls", [
    (grpc.StatusCode.INVALID_ARGUMENT, webhookd.InvalidArgumentError),
    (grpc.StatusCode.NOT_FOUND, webhookd.NotFoundError),
    (grpc.StatusCode.ALREADY_EXISTS, webhookd.AlreadyExistsError),
    (grpc.StatusCode.FAILED_PRECONDITION, webhookd.FailedPreconditionError),
    (grpc.StatusCode.PERMISSION_DENIED, webhookd.PermissionDeniedError),
    (grpc.StatusCode.UNAUTHENTICATED, webhookd.UnauthenticatedError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, webhookd.ResourceExhaustedError),
    (grpc.StatusCode.DEADLINE_EXCEEDED, webhookd.DeadlineExceededError),
    (grpc.StatusCode.UNAVAILABLE, webhookd.UnavailableError),
    (grpc.StatusCode.INTERNAL, webhookd.ApiError),
])
def test_from_rpc_error_picks_the_class(code, cls):
    error = webhookd.ApiError.from_rpc_error(FakeRpcError(code, "x: y"))
    assert type(error) is cls
    assert isinstance(error, webhookd.ApiError)
    assert isinstance(error, webhookd.WebhookdError)
    assert error.code == code
    assert error.field == "x"
    assert error.trailing_metadata == (("x-trace", "1"),)


def test_unreachable_server_is_unavailable():
    with webhookd.Client("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(webhookd.UnavailableError):
            client.dialects.list_dialects()
        with pytest.raises(webhookd.UnavailableError):
            client.wait_ready(timeout=0.2)
