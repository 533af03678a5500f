"""The client: one channel, the bearer token, and the five services."""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import message_factory

from . import pb
from .errors import ApiError
from .transaction import EventTransaction

__all__ = ["Client", "TlsOptions", "ServiceClient", "ResponseStream"]

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class TlsOptions:
    """TLS for the gRPC connection.

    Attributes:
      root_certificates: PEM CA bundle that signs the server's certificate;
        None uses the system's roots.
      certificate_chain, private_key: PEM client certificate and key, for a
        server that requires client certificates (mTLS).
      server_name: the name to check the server's certificate against when it
        differs from the address's host.
    """

    root_certificates: Optional[bytes] = None
    certificate_chain: Optional[bytes] = None
    private_key: Optional[bytes] = None
    server_name: Optional[str] = None

    @classmethod
    def from_files(cls, ca: Union[str, Path, None] = None,
                   cert: Union[str, Path, None] = None,
                   key: Union[str, Path, None] = None,
                   server_name: Optional[str] = None) -> "TlsOptions":
        """Reads PEM files: ``ca`` (roots), ``cert`` and ``key`` (client)."""

        def read(path):
            return None if path is None else Path(path).read_bytes()

        return cls(read(ca), read(cert), read(key), server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("TlsOptions: certificate_chain and private_key go together")
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates,
            private_key=self.private_key,
            certificate_chain=self.certificate_chain)


class _CallDetails(
        collections.namedtuple(
            "_CallDetails",
            ("method", "timeout", "metadata", "credentials", "wait_for_ready",
             "compression")),
        grpc.ClientCallDetails):
    pass


class _BearerToken(grpc.UnaryUnaryClientInterceptor,
                   grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor,
                   grpc.StreamStreamClientInterceptor):
    """Sends ``authorization: Bearer <token>`` with every call that does not
    carry its own ``authorization`` metadata."""

    def __init__(self, token: str):
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details):
        metadata = list(details.metadata or ())
        if not any(name.lower() == "authorization" for name, _ in metadata):
            metadata.append(self._header)
        return _CallDetails(details.method, details.timeout, metadata,
                            details.credentials,
                            getattr(details, "wait_for_ready", None),
                            getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class ResponseStream:
    """The responses of a server-streaming call (WatchOutcomes).

    Iterate it; failures raise :class:`ApiError`. ``cancel()`` (or leaving a
    ``with`` block) ends it, after which iteration stops quietly.
    """

    def __init__(self, call):
        self._call = call
        self._cancelled = False

    def __iter__(self) -> "ResponseStream":
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as error:
            if self._cancelled and error.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise ApiError.from_rpc_error(error) from error

    def initial_metadata(self):
        """Blocks until the server sent its response headers (for
        WatchOutcomes: until the watch is registered); returns them."""
        try:
            return self._call.initial_metadata()
        except grpc.RpcError as error:
            raise ApiError.from_rpc_error(error) from error

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> "ResponseStream":
        return self

    def __exit__(self, *exc_info) -> None:
        self.cancel()


_DEFAULT = object()


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ServiceClient:
    """One service's methods, under their proto names (``CreateSubscription``)
    and in snake case (``create_subscription``).

    Each method takes the request message, or its fields as keyword
    arguments, plus ``timeout`` (seconds; default the client's; None for
    none), ``metadata`` and ``wait_for_ready``; it returns the response
    message and raises :class:`ApiError` on failure::

        sub = client.subscriptions.get_subscription(id="sub_...")
    """

    def __init__(self, stub: Any, service: Any, default_timeout: Optional[float]):
        self._service_name = service.full_name
        self._methods = []
        for method in service.methods:
            multicallable = getattr(stub, method.name)
            request_class = message_factory.GetMessageClass(method.input_type)
            if method.client_streaming:
                continue  # the API has none
            call = (self._streaming(multicallable, request_class, method.name)
                    if method.server_streaming else
                    self._unary(multicallable, request_class, default_timeout,
                                method.name))
            setattr(self, method.name, call)
            setattr(self, _snake_case(method.name), call)
            self._methods.append(method.name)

    def __repr__(self) -> str:
        return f"<ServiceClient {self._service_name}: {', '.join(self._methods)}>"

    @staticmethod
    def _request(request_class, request, fields):
        if request is None:
            return request_class(**fields)
        if fields:
            raise TypeError("pass either a request message or its fields, not both")
        if isinstance(request, dict):
            return request_class(**request)
        return request

    def _unary(self, multicallable, request_class, default_timeout, name):
        def call(request=None, /, *, timeout=_DEFAULT, metadata=None,
                 wait_for_ready=None, **fields):
            message = self._request(request_class, request, fields)
            try:
                return multicallable(
                    message,
                    timeout=default_timeout if timeout is _DEFAULT else timeout,
                    metadata=metadata, wait_for_ready=wait_for_ready)
            except grpc.RpcError as error:
                raise ApiError.from_rpc_error(error) from error

        call.__name__ = call.__qualname__ = name
        call.__doc__ = f"{self._service_name}.{name}({request_class.__name__})"
        return call

    def _streaming(self, multicallable, request_class, name):
        def call(request=None, /, *, timeout=None, metadata=None,
                 wait_for_ready=None, **fields) -> ResponseStream:
            message = self._request(request_class, request, fields)
            try:
                return ResponseStream(multicallable(
                    message, timeout=timeout, metadata=metadata,
                    wait_for_ready=wait_for_ready))
            except grpc.RpcError as error:
                raise ApiError.from_rpc_error(error) from error

        call.__name__ = call.__qualname__ = name
        call.__doc__ = (f"{self._service_name}.{name}({request_class.__name__}) "
                        "-> ResponseStream")
        return call


class Client:
    """A webhookd client.

    Args:
      address: ``host:port`` of the server.
      token: the bearer token, sent as ``authorization: Bearer <token>``.
      tls: None for plaintext; True for TLS with the system's roots; a
        :class:`TlsOptions` (custom roots, client certificate for mTLS); or
        ready :class:`grpc.ChannelCredentials`.
      timeout: default deadline of each unary call, in seconds (None: none).
        Streaming calls have no default deadline.
      options: extra gRPC channel options.

    Attributes ``subscriptions``, ``principals``, ``dialects``, ``events``,
    ``deliveries`` and ``api_keys`` are :class:`ServiceClient` s; ``channel`` is the gRPC
    channel (with the token attached) for stubs of your own.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, address: str, token: Optional[str] = None, *,
                 tls: Union[None, bool, TlsOptions, grpc.ChannelCredentials] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT,
                 options: Sequence[Tuple[str, Any]] = (),
                 _channel: Optional[grpc.Channel] = None):
        self.address = address
        self.timeout = timeout
        self._token = token
        self._tls = tls
        self._options = tuple(options)
        self._owns_channel = _channel is None
        self._raw_channel = _channel if _channel is not None else self._open(address, tls, options)
        self.channel = (grpc.intercept_channel(self._raw_channel, _BearerToken(token))
                        if token else self._raw_channel)
        self.subscriptions = ServiceClient(
            pb.subscription_pb2_grpc.SubscriptionServiceStub(self.channel),
            pb.subscription_pb2.DESCRIPTOR.services_by_name["SubscriptionService"], timeout)
        self.principals = ServiceClient(
            pb.principal_pb2_grpc.PrincipalServiceStub(self.channel),
            pb.principal_pb2.DESCRIPTOR.services_by_name["PrincipalService"], timeout)
        self.dialects = ServiceClient(
            pb.dialect_pb2_grpc.DialectServiceStub(self.channel),
            pb.dialect_pb2.DESCRIPTOR.services_by_name["DialectService"], timeout)
        self.events = ServiceClient(
            pb.event_pb2_grpc.EventServiceStub(self.channel),
            pb.event_pb2.DESCRIPTOR.services_by_name["EventService"], timeout)
        self.deliveries = ServiceClient(
            pb.delivery_pb2_grpc.DeliveryServiceStub(self.channel),
            pb.delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"], timeout)
        self.api_keys = ServiceClient(
            pb.api_key_pb2_grpc.ApiKeyServiceStub(self.channel),
            pb.api_key_pb2.DESCRIPTOR.services_by_name["ApiKeyService"], timeout)

    @staticmethod
    def _open(address, tls, options) -> grpc.Channel:
        options = list(options)
        if tls is None or tls is False:
            return grpc.insecure_channel(address, options=options)
        if tls is True:
            credentials = grpc.ssl_channel_credentials()
        elif isinstance(tls, TlsOptions):
            credentials = tls.credentials()
            if tls.server_name:
                options.append(("grpc.ssl_target_name_override", tls.server_name))
        elif isinstance(tls, grpc.ChannelCredentials):
            credentials = tls
        else:
            raise TypeError("tls must be None, True, TlsOptions or grpc.ChannelCredentials")
        return grpc.secure_channel(address, credentials, options=options)

    def with_token(self, token: Optional[str]) -> "Client":
        """A client acting with another token over the same connection.

        Closing it does not close the connection; close the original.
        """
        return Client(self.address, token, tls=self._tls, timeout=self.timeout,
                      options=self._options, _channel=self._raw_channel)

    def transaction(self, transaction_id: Optional[str] = None, *,
                    ttl: Union[None, timedelta, float] = None) -> EventTransaction:
        """A two-phase event submission, as a context manager::

            with client.transaction("order-42") as tx:
                tx.add(event)        # Prepare: durable now
            # Commit on leaving the block; Abort if it raised (then re-raise).

        ``transaction_id`` defaults to a random one; ``ttl`` is how long the
        transaction may stay prepared (the server's default and maximum apply).
        """
        return EventTransaction(self.events, transaction_id, ttl=ttl)

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Blocks until the channel is connected; raises
        :class:`UnavailableError` after ``timeout`` seconds."""
        try:
            grpc.channel_ready_future(self._raw_channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            from .errors import UnavailableError
            raise UnavailableError(grpc.StatusCode.UNAVAILABLE,
                                   f"{self.address} not ready after {timeout} s") from None

    def close(self) -> None:
        if self._owns_channel:
            self._raw_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<webhookd.Client {self.address}>"
