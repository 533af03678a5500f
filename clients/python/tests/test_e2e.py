"""The SDK against a real webhookd process and a local HTTP receiver."""
from __future__ import annotations

import json
import time

import grpc
import pytest
from google.protobuf import field_mask_pb2

import webhookd
from webhookd import pb
from support import SUBSCRIBER


def site_of(unique):
    return f"/py/{unique}"


def subscribe(client, receiver, unique, path=None):
    path = path or f"/hook/{unique}"
    sub = client.subscriptions.create_subscription(subscription=pb.Subscription(
        site=site_of(unique), resource_type=f"user{unique}", event_type="added",
        target_url=receiver.url(path)))
    return sub, path


def event(unique, body: bytes, event_id: str = "", site: str | None = None):
    return pb.Event(
        id=event_id,
        site=site if site is not None else f"{site_of(unique)}/team",
        resource_types=[f"user{unique}", "principal"],
        event_types=["added", "object_event"],
        representations={"webhook-delivery": pb.Representation(body=body)},
        acl=[pb.AclEntry(action=pb.AclEntry.ALLOW, principal=SUBSCRIBER,
                         permission="view")])


def attempts_of(client, subscription_id, status, count, timeout=20.0):
    """Polls ListAttempts until ``count`` attempts have ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.deliveries.list_attempts(subscription_id=subscription_id,
                                                   status=status)
        if len(response.attempts) >= count or time.monotonic() > deadline:
            return list(response.attempts)
        time.sleep(0.1)


def test_subscribe_publish_receive_and_verify(subscriber, publisher, receiver, unique):
    sub, path = subscribe(subscriber, receiver, unique)
    assert sub.id.startswith("sub_")
    assert sub.owner == SUBSCRIBER
    assert sub.active
    assert sub.secret.startswith("whsec_")

    body = json.dumps({"id": f"u-{unique}", "name": "Ada"}).encode()
    with publisher.transaction(f"tx-{unique}") as tx:
        results = tx.add(event(unique, body))
        assert results[0].matched_subscriptions == 1
        assert tx.transaction.state == pb.Transaction.PREPARED
    assert tx.transaction.state == pb.Transaction.COMMITTED
    assert tx.deliveries_created == 1

    [request] = receiver.wait_for(path)
    assert request.method == "POST"
    assert request.body == body
    assert request.header("content-type") == "application/json"
    webhookd.verify(sub.secret, request.headers, request.body)

    with pytest.raises(webhookd.WebhookVerificationError):
        webhookd.verify(sub.secret, request.headers, request.body + b" ")
    other = subscriber.subscriptions.create_subscription(subscription=pb.Subscription(
        site=site_of(unique), resource_type="other", event_type="added",
        target_url=receiver.url(path + "/other")))
    with pytest.raises(webhookd.WebhookVerificationError):
        webhookd.verify(other.secret, request.headers, request.body)

    # The subscriber sees the attempt, under the id the receiver got.
    [attempt] = attempts_of(subscriber, sub.id, pb.DeliveryAttempt.SUCCESSFUL, 1)
    assert attempt.delivery_id == request.header("webhook-id")
    assert attempt.transaction_id == f"tx-{unique}"
    assert attempt.response.status_code == 200
    delivery = subscriber.deliveries.get_delivery(delivery_id=attempt.delivery_id)
    assert delivery.state == pb.Delivery.SUCCEEDED
    assert publisher.events.get_transaction(
        transaction_id=f"tx-{unique}").state == pb.Transaction.COMMITTED


def test_transaction_prepares_each_add_and_commits_once(subscriber, publisher, receiver,
                                                        unique):
    sub, path = subscribe(subscriber, receiver, unique)
    with publisher.transaction(ttl=60) as tx:
        tx.add(event(unique, b'{"n":1}', event_id="e1"))
        tx.add(event(unique, b'{"n":2}', event_id="e2"),
               event(unique, b'{"n":3}', event_id="e3"))
        assert tx.transaction.event_count == 3
        # Nothing is delivered before Commit.
        time.sleep(0.5)
        assert receiver.requests(path) == []
    assert tx.id.startswith("tx-")
    assert [r.event_id for r in tx.event_results] == ["e1", "e2", "e3"]
    assert tx.deliveries_created == 3
    received = receiver.wait_for(path, count=3)
    assert sorted(r.body for r in received) == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    for request in received:
        webhookd.verify(sub.secret, request.headers, request.body)
    assert len({r.header("webhook-id") for r in received}) == 3


def test_aborted_transaction_delivers_nothing(subscriber, publisher, receiver, unique):
    sub, path = subscribe(subscriber, receiver, unique)
    tx_id = f"tx-aborted-{unique}"
    with pytest.raises(RuntimeError, match="publisher failed"):
        with publisher.transaction(tx_id) as tx:
            tx.add(event(unique, b'{"n":"aborted"}'))
            raise RuntimeError("publisher failed after Prepare")
    assert tx.transaction.state == pb.Transaction.ABORTED

    resolved = publisher.events.get_transaction(transaction_id=tx_id)
    assert resolved.state == pb.Transaction.ABORTED
    assert resolved.delivery_count == 0
    with pytest.raises(webhookd.FailedPreconditionError):
        publisher.events.commit(transaction_id=tx_id)

    # A transaction committed afterwards is delivered; the aborted one never.
    with publisher.transaction() as later:
        later.add(event(unique, b'{"n":"committed"}'))
    receiver.wait_for(path)
    time.sleep(1.5)
    assert [r.body for r in receiver.requests(path)] == [b'{"n":"committed"}']
    assert len(attempts_of(subscriber, sub.id, pb.DeliveryAttempt.STATUS_UNSPECIFIED, 1)) == 1


def test_failed_add_aborts_and_reports_the_field(subscriber, publisher, receiver, unique):
    _, path = subscribe(subscriber, receiver, unique)
    tx_id = f"tx-bad-{unique}"
    with pytest.raises(webhookd.InvalidArgumentError) as raised:
        with publisher.transaction(tx_id) as tx:
            tx.add(event(unique, b'{"n":"good"}'))
            tx.add(event(unique, b'{"n":"bad"}', site="no-slash"))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.field == "events[0].site"
    assert tx.transaction.state == pb.Transaction.ABORTED
    assert publisher.events.get_transaction(
        transaction_id=tx_id).state == pb.Transaction.ABORTED
    time.sleep(1.0)
    assert receiver.requests(path) == []


def test_bad_request_surfaces_code_and_field(subscriber):
    with pytest.raises(webhookd.ApiError) as raised:
        subscriber.subscriptions.create_subscription(subscription=pb.Subscription(
            site="NOAA", resource_type="user", event_type="added",
            target_url="http://127.0.0.1:9/hook"))
    error = raised.value
    assert isinstance(error, webhookd.InvalidArgumentError)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.field == "subscription.site"
    assert error.message.startswith("subscription.site: ")
    assert error.description
    assert isinstance(error.__cause__, grpc.RpcError)
    assert "INVALID_ARGUMENT" in str(error)


def test_payload_filter_selects_events_and_says_why(subscriber, publisher, receiver,
                                                    unique):
    path = f"/hook/{unique}/big"
    sub = subscriber.subscriptions.create_subscription(subscription=pb.Subscription(
        site=site_of(unique), resource_type=f"user{unique}", event_type="added",
        target_url=receiver.url(path), filter=json.dumps({"amount": {"$gte": 100}})))
    assert json.loads(sub.filter) == {"amount": {"$gte": 100}}

    small = json.dumps({"amount": 5}).encode()
    big = json.dumps({"amount": 250}).encode()
    published = publisher.events.publish(events=[
        event(unique, small, f"small-{unique}"), event(unique, big, f"big-{unique}")])
    assert published.deliveries_created == 1
    [request] = receiver.wait_for(path)
    assert request.body == big

    dry_run = publisher.events.match_subscriptions(event=event(unique, small))
    [match] = [m for m in dry_run.matches if m.subscription.id == sub.id]
    assert match.verdict == pb.SubscriptionMatch.FILTERED_OUT
    assert match.reason == ('filtered out: representation "webhook-delivery" '
                            'fails {"amount":{"$gte":100}}')

    with pytest.raises(webhookd.InvalidArgumentError) as raised:
        subscriber.subscriptions.update_subscription(
            subscription=pb.Subscription(id=sub.id, filter='{"$or": [{"a": {"$gt": true}}]}'),
            update_mask=field_mask_pb2.FieldMask(paths=["filter"]))
    assert raised.value.field == 'subscription.filter.$or[0]["a"].$gt'


def test_not_found_and_permission_denied(subscriber, admin):
    with pytest.raises(webhookd.NotFoundError) as raised:
        subscriber.subscriptions.get_subscription(id="sub_00000000000000000000000000")
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.field is None

    # A subscriber cannot publish.
    with pytest.raises(webhookd.PermissionDeniedError):
        subscriber.events.publish(events=[pb.Event(site="/", resource_types=["user"],
                                                   event_types=["added"])])
    # Nor create dialects; the admin can.
    with pytest.raises(webhookd.PermissionDeniedError):
        subscriber.dialects.create_dialect(dialect=pb.Dialect(name="py-nope"))


def test_unauthenticated_calls_are_refused(server):
    with webhookd.Client(server.address) as anonymous:
        with pytest.raises(webhookd.UnauthenticatedError) as raised:
            anonymous.dialects.list_dialects()
        assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
    with webhookd.Client(server.address, token="not-a-configured-token-xyz") as wrong:
        with pytest.raises(webhookd.UnauthenticatedError):
            wrong.subscriptions.list_subscriptions()


def test_request_message_or_fields_and_proto_names(admin, unique):
    request = pb.ListDialectsRequest(page_size=10)
    by_message = admin.dialects.ListDialects(request)
    by_fields = admin.dialects.list_dialects(page_size=10)
    assert by_message == by_fields
    assert "default" in [d.name for d in by_fields.dialects]
    with pytest.raises(TypeError):
        admin.dialects.list_dialects(request, page_size=10)
    # A raw stub over client.channel carries the token too.
    stub = pb.dialect_pb2_grpc.DialectServiceStub(admin.channel)
    assert stub.GetDialect(pb.GetDialectRequest(name="default")).builtin


def test_watch_outcomes_streams_the_attempt(subscriber, publisher, receiver, unique):
    sub, path = subscribe(subscriber, receiver, unique)
    with subscriber.deliveries.watch_outcomes(subscription_id=sub.id, timeout=30) as stream:
        stream.initial_metadata()  # the watch is registered
        with publisher.transaction() as tx:
            tx.add(event(unique, b'{"watched":true}'))
        outcome = next(stream)
        assert outcome.kind == pb.Outcome.ATTEMPT_SUCCEEDED
        assert outcome.subscription_id == sub.id
        assert outcome.attempt.transaction_id == tx.id
    # Cancelled by the with-block: iteration ends quietly.
    assert list(stream) == []


def test_failing_receiver_is_retried_on_the_short_schedule(subscriber, publisher,
                                                           receiver, unique):
    sub, path = subscribe(subscriber, receiver, unique)
    receiver.reply(path, 503)
    with publisher.transaction() as tx:
        tx.add(event(unique, b'{"retry":true}'))
    received = receiver.wait_for(path, count=2, timeout=20)
    # Same webhook-id across retries, each signed.
    assert received[0].header("webhook-id") == received[1].header("webhook-id")
    for request in received:
        webhookd.verify(sub.secret, request.headers, request.body)
    failed = attempts_of(subscriber, sub.id, pb.DeliveryAttempt.FAILED, 2)
    assert len(failed) >= 2
    assert failed[0].response.status_code == 503
    receiver.reply(path, 200)
