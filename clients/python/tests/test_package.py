"""The package's surface: every generated message reachable from
webhookd.pb, every RPC on its ServiceClient."""
from __future__ import annotations

import pytest

import webhookd
from webhookd import pb
from webhookd.client import _snake_case


@pytest.mark.parametrize("module", pb.MODULES, ids=lambda m: m.__name__)
def test_pb_reexports_every_message_and_enum(module):
    names = list(module.DESCRIPTOR.message_types_by_name) + list(
        module.DESCRIPTOR.enum_types_by_name)
    missing = [n for n in names if getattr(pb, n, None) is not getattr(module, n)]
    assert missing == []


def test_every_rpc_is_on_the_client():
    client = webhookd.Client("127.0.0.1:1")
    services = {
        "SubscriptionService": client.subscriptions,
        "PrincipalService": client.principals,
        "DialectService": client.dialects,
        "EventService": client.events,
        "DeliveryService": client.deliveries,
        "ApiKeyService": client.api_keys,
    }
    seen = set()
    for module in pb.MODULES:
        for name, service in module.DESCRIPTOR.services_by_name.items():
            seen.add(name)
            for method in service.methods:
                assert callable(getattr(services[name], method.name))
                assert getattr(services[name], _snake_case(method.name)) is getattr(
                    services[name], method.name)
    assert seen == set(services)
    client.close()


def test_snake_case():
    assert _snake_case("CreateSubscription") == "create_subscription"
    assert _snake_case("RecoverFailedDeliveries") == "recover_failed_deliveries"
