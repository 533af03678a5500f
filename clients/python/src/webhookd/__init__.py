"""Python client for webhookd, the webhook delivery service.

    import webhookd
    from webhookd import pb

    with webhookd.Client("127.0.0.1:7443", token="...") as client:
        sub = client.subscriptions.create_subscription(subscription=pb.Subscription(...))
        with client.transaction() as tx:
            tx.add(pb.Event(...))

    webhookd.verify(sub.secret, request_headers, request_body)

The protobuf messages are in :mod:`webhookd.pb` (generated into
``webhooks.v1`` from protos/webhooks/v1/).
"""
from . import pb
from .client import Client, ResponseStream, ServiceClient, TlsOptions
from .errors import (AlreadyExistsError, ApiError, DeadlineExceededError,
                     FailedPreconditionError, FieldViolation,
                     InvalidArgumentError, NotFoundError,
                     PermissionDeniedError, ResourceExhaustedError,
                     UnauthenticatedError, UnavailableError,
                     WebhookdError, WebhookVerificationError)
from .signatures import DEFAULT_TOLERANCE, sign, verify
from .transaction import EventTransaction

__version__ = "0.1.0"

__all__ = [
    "pb",
    "Client",
    "TlsOptions",
    "ServiceClient",
    "ResponseStream",
    "EventTransaction",
    "verify",
    "sign",
    "DEFAULT_TOLERANCE",
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
