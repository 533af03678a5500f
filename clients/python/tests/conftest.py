"""Fixtures: one webhookd process and one HTTP receiver for the session."""
from __future__ import annotations

import uuid

import pytest

import webhookd
from support import (ADMIN_TOKEN, PUBLISHER_TOKEN, SUBSCRIBER_TOKEN, Receiver,
                     WebhookdServer, base_config)


@pytest.fixture(scope="session")
def server():
    process = WebhookdServer(base_config())
    yield process
    process.stop()


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def admin(server):
    client = webhookd.Client(server.address, ADMIN_TOKEN, timeout=10)
    client.wait_ready()
    yield client
    client.close()


@pytest.fixture(scope="session")
def publisher(admin):
    return admin.with_token(PUBLISHER_TOKEN)


@pytest.fixture(scope="session")
def subscriber(admin):
    return admin.with_token(SUBSCRIBER_TOKEN)


@pytest.fixture
def unique():
    """A fresh token for names: sites, types, paths and transaction ids."""
    return uuid.uuid4().hex[:12]
