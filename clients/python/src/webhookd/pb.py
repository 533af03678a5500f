"""The API's protobuf messages and enums, in one namespace.

Generated from protos/webhooks/v1/ into the ``webhooks.v1`` package (modules
``webhooks.v1.<file>_pb2`` and ``webhooks.v1.<file>_pb2_grpc``); this module
only re-exports them::

    from webhookd import pb
    pb.Subscription(site="/NOAA", resource_type="user", event_type="added",
                    target_url="https://hooks.example.com/users")
"""
from webhooks.v1 import config_pb2, delivery_pb2, dialect_pb2, event_pb2
from webhooks.v1 import api_key_pb2, principal_pb2, subscription_pb2
from webhooks.v1 import (api_key_pb2_grpc, delivery_pb2_grpc, dialect_pb2_grpc,
                         event_pb2_grpc, principal_pb2_grpc,
                         subscription_pb2_grpc)

from webhooks.v1.subscription_pb2 import (
    ActivateSubscriptionRequest,
    ClientCertificate,
    CreateSubscriptionRequest,
    DeactivateSubscriptionRequest,
    DeleteSubscriptionRequest,
    DeliveryControl,
    GetSubscriptionRequest,
    ListSubscriptionsRequest,
    ListSubscriptionsResponse,
    RotateSubscriptionSecretRequest,
    Subscription,
    UpdateSubscriptionRequest,
)
from webhooks.v1.principal_pb2 import (
    DeletePrincipalRequest,
    DeletePrincipalResponse,
    GetPrincipalRequest,
    Principal,
    SetPrincipalGroupsRequest,
)
from webhooks.v1.dialect_pb2 import (
    CreateDialectRequest,
    DeleteDialectRequest,
    Dialect,
    GetDialectRequest,
    ListDialectsRequest,
    ListDialectsResponse,
    UpdateDialectRequest,
)
from webhooks.v1.event_pb2 import (
    AbortRequest,
    AbortResponse,
    AclEntry,
    CommitRequest,
    CommitResponse,
    Event,
    EventResult,
    GetTransactionRequest,
    MatchSubscriptionsRequest,
    MatchSubscriptionsResponse,
    PrepareRequest,
    PrepareResponse,
    PublishRequest,
    PublishResponse,
    Representation,
    SubscriptionMatch,
    Transaction,
)
from webhooks.v1.delivery_pb2 import (
    AttemptRequest,
    AttemptResponse,
    Delivery,
    DeliveryAttempt,
    GetAttemptRequest,
    GetDeliveryRequest,
    Header,
    ListAttemptsRequest,
    ListAttemptsResponse,
    Outcome,
    RecoverFailedDeliveriesRequest,
    RecoverFailedDeliveriesResponse,
    RedeliverRequest,
    WatchOutcomesRequest,
)
from webhooks.v1.api_key_pb2 import (
    ApiKey,
    CreateApiKeyRequest,
    CreateApiKeyResponse,
    GetApiKeyRequest,
    ListApiKeysRequest,
    ListApiKeysResponse,
    RevokeApiKeyRequest,
)
from webhooks.v1.config_pb2 import (
    ApiToken,
    ClusterConfig,
    DeliveryConfig,
    HttpConfig,
    Limits,
    PostgresConfig,
    Role,
    ServerConfig,
    StorageConfig,
    TlsConfig,
)

MODULES = (subscription_pb2, principal_pb2, dialect_pb2, event_pb2,
           delivery_pb2, config_pb2, api_key_pb2)
GRPC_MODULES = (subscription_pb2_grpc, principal_pb2_grpc, dialect_pb2_grpc,
                event_pb2_grpc, delivery_pb2_grpc, api_key_pb2_grpc)
