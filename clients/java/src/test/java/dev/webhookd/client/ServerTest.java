package dev.webhookd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.webhookd.webhooks.v1.AclEntry;
import dev.webhookd.webhooks.v1.CommitResponse;
import dev.webhookd.webhooks.v1.CreateSubscriptionRequest;
import dev.webhookd.webhooks.v1.DeleteSubscriptionRequest;
import dev.webhookd.webhooks.v1.DeliveryAttempt;
import dev.webhookd.webhooks.v1.Event;
import dev.webhookd.webhooks.v1.EventResult;
import dev.webhookd.webhooks.v1.GetTransactionRequest;
import dev.webhookd.webhooks.v1.ListAttemptsRequest;
import dev.webhookd.webhooks.v1.ListAttemptsResponse;
import dev.webhookd.webhooks.v1.ListDialectsRequest;
import dev.webhookd.webhooks.v1.ListSubscriptionsRequest;
import dev.webhookd.webhooks.v1.Representation;
import dev.webhookd.webhooks.v1.Subscription;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/** The client against a real webhookd process and a local HTTP receiver. */
class ServerTest {
  private static WebhookdServer server;
  private static WebhooksClient admin;
  private static WebhooksClient publisher;
  private static WebhooksClient subscriber;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  /** Prints the server's log when a test fails. */
  @RegisterExtension
  static final TestWatcher DUMP_LOG_ON_FAILURE =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
          if (server != null) {
            System.err.println(server.log());
          }
        }
      };

  @BeforeAll
  static void startServer() {
    server = WebhookdServer.shared();
    admin = server.client(WebhookdServer.ADMIN_TOKEN);
    publisher = server.client(WebhookdServer.PUBLISHER_TOKEN);
    subscriber = server.client(WebhookdServer.SUBSCRIBER_TOKEN);
  }

  @AfterAll
  static void closeClients() {
    admin.close();
    publisher.close();
    subscriber.close();
  }

  @org.junit.jupiter.api.AfterEach
  void runCleanup() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  /** A site of its own under /javasdk/name, so that tests do not match each other. */
  private static String uniqueSite(String name) {
    return "/javasdk/" + name + "/" + WebhooksClient.newTransactionId().substring(3);
  }

  /** A "user added" event in site that everyone may see. */
  private static Event userAdded(String site, String id, String body) {
    return Event.newBuilder()
        .setId(id)
        .setSite(site)
        .addResourceTypes("user")
        .addResourceTypes("principal")
        .addEventTypes("added")
        .putRepresentations(
            "webhook-delivery",
            Representation.newBuilder().setBody(ByteString.copyFromUtf8(body)).build())
        .addAcl(
            AclEntry.newBuilder()
                .setAction(AclEntry.Action.ALLOW)
                .setPrincipal("system.Everyone")
                .setPermission("view"))
        .build();
  }

  private Receiver receiver() throws Exception {
    Receiver r = new Receiver();
    cleanup.add(r);
    return r;
  }

  /** Creates, as the subscriber, a subscription to users added in site, delivered to target. */
  private Subscription subscribe(String site, String target) {
    Subscription sub =
        subscriber.call(
            c ->
                c.subscriptions()
                    .createSubscription(
                        CreateSubscriptionRequest.newBuilder()
                            .setSubscription(
                                Subscription.newBuilder()
                                    .setSite(site)
                                    .setResourceType("user")
                                    .setEventType("added")
                                    .setTargetUrl(target))
                            .build()));
    assertEquals(WebhookdServer.SUBSCRIBER, sub.getOwner(), "owner");
    assertTrue(sub.getSecret().startsWith("whsec_"), "secret " + sub.getSecret());
    assertTrue(sub.getActive(), "active");
    cleanup.add(
        () ->
            subscriber.call(
                c ->
                    c.subscriptions()
                        .deleteSubscription(
                            DeleteSubscriptionRequest.newBuilder().setId(sub.getId()).build())));
    return sub;
  }

  private static dev.webhookd.webhooks.v1.Transaction transaction(String id) {
    return publisher.call(
        c -> c.events().getTransaction(GetTransactionRequest.newBuilder().setTransactionId(id).build()));
  }

  @Test
  void subscriberCreatesSubscriptionOwnedByItself() throws Exception {
    Receiver recv = receiver();
    String site = uniqueSite("subscribe");
    Subscription sub = subscribe(site, recv.url("/hooks"));
    assertEquals(site, sub.getSite());
    assertEquals(recv.url("/hooks"), sub.getTargetUrl());
    assertFalse(sub.getId().isEmpty(), "id");
    // The subscriber lists it; the secret is only returned at creation.
    List<Subscription> listed =
        subscriber.call(
            c -> c.subscriptions().listSubscriptions(ListSubscriptionsRequest.getDefaultInstance()))
            .getSubscriptionsList();
    assertTrue(
        listed.stream().anyMatch(s -> s.getId().equals(sub.getId())),
        "ListSubscriptions has " + sub.getId());
  }

  @Test
  void committedTransactionIsDeliveredSignedAndVerifies() throws Exception {
    Receiver recv = receiver();
    String site = uniqueSite("deliver");
    Subscription sub = subscribe(site, recv.url("/hooks/users"));
    String body = "{\"id\":\"u-1\",\"name\":\"Ada\"}";
    String txId = WebhooksClient.newTransactionId();

    CommitResponse committed;
    List<EventResult> results;
    try (Transaction tx = publisher.begin(txId)) {
      assertEquals(txId, tx.id());
      results = tx.prepare(userAdded(site + "/ops", "evt-1", body));
      assertEquals(
          dev.webhookd.webhooks.v1.Transaction.State.PREPARED, transaction(txId).getState());
      committed = tx.commit();
      assertEquals(1, tx.deliveriesCreated());
    }
    assertEquals(1, results.size());
    assertEquals(1, results.get(0).getMatchedSubscriptions(), "matched subscriptions");
    assertEquals(dev.webhookd.webhooks.v1.Transaction.State.COMMITTED, committed.getTransaction().getState());
    assertEquals(1, committed.getDeliveriesCreated());

    Receiver.Request got = recv.next(Duration.ofSeconds(30));
    assertEquals("POST", got.method());
    assertEquals("/hooks/users", got.path());
    assertArrayEquals(body.getBytes(StandardCharsets.UTF_8), got.body());

    // The signature verifies with the secret CreateSubscription returned.
    Webhooks.verify(sub.getSecret(), got.headers(), got.body());
    assertTrue(Webhooks.isValid(sub.getSecret(), got.headers(), got.body()));

    // The same request with its body changed, or with another secret, or an hour later, does not.
    byte[] tampered = (body.replace("Ada", "Eve")).getBytes(StandardCharsets.UTF_8);
    WebhookVerificationException e =
        assertThrows(
            WebhookVerificationException.class,
            () -> Webhooks.verify(sub.getSecret(), got.headers(), tampered));
    assertEquals(WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE, e.reason());
    e =
        assertThrows(
            WebhookVerificationException.class,
            () ->
                Webhooks.verify(
                    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", got.headers(), got.body()));
    assertEquals(WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE, e.reason());
    Clock anHourLater = Clock.fixed(Instant.now().plus(Duration.ofHours(1)), ZoneOffset.UTC);
    e =
        assertThrows(
            WebhookVerificationException.class,
            () -> Webhooks.verifier(sub.getSecret()).withClock(anHourLater).verify(got.headers(), got.body()));
    assertEquals(WebhookVerificationException.Reason.TIMESTAMP_TOO_OLD, e.reason());

    dev.webhookd.webhooks.v1.Transaction state = transaction(txId);
    assertEquals(dev.webhookd.webhooks.v1.Transaction.State.COMMITTED, state.getState());
    assertEquals(1, state.getDeliveryCount());

    // The subscriber sees the attempt, under the id the receiver got.
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      ListAttemptsResponse attempts =
          subscriber.call(
              c ->
                  c.deliveries()
                      .listAttempts(
                          ListAttemptsRequest.newBuilder().setSubscriptionId(sub.getId()).build()));
      if (attempts.getAttemptsCount() == 1
          && attempts.getAttempts(0).getStatus() == DeliveryAttempt.Status.SUCCESSFUL) {
        assertEquals(got.header("webhook-id"), attempts.getAttempts(0).getDeliveryId());
        break;
      }
      if (System.nanoTime() > deadline) {
        fail("attempts = " + attempts + ", want one SUCCESSFUL");
      }
      Thread.sleep(50);
    }
  }

  @Test
  void exceptionInTransactionBlockAbortsAndDeliversNothing() throws Exception {
    Receiver recv = receiver();
    String site = uniqueSite("abort");
    subscribe(site, recv.url("/hooks"));

    // An exception thrown inside the block: close() aborts, the exception goes on.
    String failed = WebhooksClient.newTransactionId();
    IllegalStateException business = new IllegalStateException("the user was not created after all");
    IllegalStateException thrown =
        assertThrows(
            IllegalStateException.class,
            () -> {
              try (Transaction tx = publisher.begin(failed)) {
                tx.prepare(userAdded(site, "evt-aborted", "{\"aborted\":true}"));
                assertEquals(
                    dev.webhookd.webhooks.v1.Transaction.State.PREPARED,
                    transaction(failed).getState());
                throw business;
              }
            });
    assertSame(business, thrown);
    assertEquals(0, thrown.getSuppressed().length, "abort failed: " + List.of(thrown.getSuppressed()));
    assertEquals(dev.webhookd.webhooks.v1.Transaction.State.ABORTED, transaction(failed).getState());

    // A block left without commit() aborts too.
    String forgotten = WebhooksClient.newTransactionId();
    try (Transaction tx = publisher.begin(forgotten)) {
      tx.prepare(userAdded(site, "evt-forgotten", "{\"forgotten\":true}"));
    }
    assertEquals(dev.webhookd.webhooks.v1.Transaction.State.ABORTED, transaction(forgotten).getState());

    // A committed marker after them is delivered, and is the only delivery the receiver gets.
    try (Transaction tx = publisher.begin()) {
      tx.prepare(userAdded(site, "evt-committed", "{\"committed\":true}"));
      tx.commit();
    }
    Receiver.Request first = recv.next(Duration.ofSeconds(30));
    assertEquals("{\"committed\":true}", new String(first.body(), StandardCharsets.UTF_8));
    Thread.sleep(500); // anything queued before the marker would have come by now
    assertEquals(1, recv.requests().size(), "requests: " + recv.requests());
  }

  @Test
  void transactionWithNothingPreparedSendsNothing() {
    String id = WebhooksClient.newTransactionId();
    try (Transaction tx = publisher.begin(id)) {
      assertEquals(0, tx.commit().getDeliveriesCreated());
    }
    try (Transaction tx = publisher.begin(id)) {
      assertNotNull(tx.id()); // closed without commit and without Prepare: no Abort either
    }
    WebhooksException e = assertThrows(WebhooksException.class, () -> transaction(id));
    assertEquals(Status.Code.NOT_FOUND, e.code());
  }

  @Test
  void transactionTtlAndStateGuards() {
    String id = WebhooksClient.newTransactionId();
    try (Transaction tx = publisher.begin(id, Duration.ofSeconds(90))) {
      tx.prepare(userAdded(uniqueSite("ttl"), "evt-ttl", "{}"));
      dev.webhookd.webhooks.v1.Transaction state = tx.state();
      long ttl = state.getExpireTime().getSeconds() - state.getCreateTime().getSeconds();
      assertTrue(ttl >= 89 && ttl <= 91, "expire - create = " + ttl + " s, want the 90 s TTL");
      assertEquals(1, tx.eventResults().size());
      tx.commit();
      // Committed: no more events, no abort; commit() again is the idempotent Commit.
      assertThrows(IllegalStateException.class, () -> tx.prepare(userAdded("/javasdk/x", "e", "{}")));
      assertThrows(IllegalStateException.class, tx::abort);
      assertEquals(
          dev.webhookd.webhooks.v1.Transaction.State.COMMITTED, tx.commit().getTransaction().getState());
    }
    try (Transaction tx = publisher.begin()) {
      tx.prepare(userAdded(uniqueSite("guards"), "evt-1", "{}"));
      assertEquals(
          dev.webhookd.webhooks.v1.Transaction.State.ABORTED, tx.abort().getTransaction().getState());
      assertThrows(IllegalStateException.class, tx::commit);
    } // closing an aborted transaction sends nothing more
  }

  @Test
  void badRequestIsInvalidArgumentWithFieldPath() {
    // A site must be a path: the call fails before subscribe checks anything.
    WebhooksException e =
        assertThrows(
            WebhooksException.class, () -> subscribe("NOAA", "http://127.0.0.1:9/hooks"));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
    assertEquals("subscription.site", e.field().orElse(null), e.serverMessage());
    assertFalse(e.description().isEmpty(), "description");
    assertFalse(e.description().startsWith("subscription.site"), e.description());
    assertTrue(e.serverMessage().startsWith("subscription.site: "), e.serverMessage());
    assertTrue(e.getMessage().contains("INVALID_ARGUMENT"), e.getMessage());
    // Still a StatusRuntimeException with the status the server sent.
    assertEquals(Status.Code.INVALID_ARGUMENT, ((StatusRuntimeException) e).getStatus().getCode());
  }

  @Test
  void invalidEventInTransactionThrowsWithFieldAndAborts() {
    String id = WebhooksClient.newTransactionId();
    WebhooksException e =
        assertThrows(
            WebhooksException.class,
            () -> {
              try (Transaction tx = publisher.begin(id)) {
                tx.prepare(Event.newBuilder().setSite("/javasdk/invalid").addEventTypes("added").build());
                tx.commit();
              }
            });
    assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.field().orElse("").startsWith("events[0].resource_types"),
        "field " + e.field() + " of " + e.serverMessage());
    assertEquals(0, e.getSuppressed().length, "abort failed: " + List.of(e.getSuppressed()));
  }

  @Test
  void unauthenticatedCallsAreRefused() {
    try (WebhooksClient none = server.client(null);
        WebhooksClient unknown = server.client("not-a-configured-token-000")) {
      for (WebhooksClient c : List.of(none, unknown)) {
        WebhooksException e =
            assertThrows(
                WebhooksException.class,
                () ->
                    c.call(
                        x ->
                            x.subscriptions()
                                .listSubscriptions(ListSubscriptionsRequest.getDefaultInstance())));
        assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());
      }
      // The raw stubs throw the plain gRPC exception, with the same code.
      StatusRuntimeException raw =
          assertThrows(
              StatusRuntimeException.class,
              () -> none.dialects().listDialects(ListDialectsRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAUTHENTICATED, raw.getStatus().getCode());
      assertEquals(
          Status.Code.UNAUTHENTICATED, WebhooksException.from(raw).orElseThrow().code());

      // The same connection with a token is let in; closing that client leaves it open.
      try (WebhooksClient withToken = none.withToken(WebhookdServer.ADMIN_TOKEN)) {
        withToken.call(c -> c.dialects().listDialects(ListDialectsRequest.getDefaultInstance()));
      }
      none.withToken(WebhookdServer.ADMIN_TOKEN)
          .call(c -> c.dialects().listDialects(ListDialectsRequest.getDefaultInstance()));
    }
  }

  @Test
  void subscriberMayNotPublish() {
    WebhooksException e =
        assertThrows(
            WebhooksException.class,
            () -> {
              try (Transaction tx = subscriber.begin()) {
                tx.prepare(userAdded("/javasdk/role", "evt-1", "{}"));
                tx.commit();
              }
            });
    assertEquals(Status.Code.PERMISSION_DENIED, e.code());
  }

  @Test
  void awaitReady() throws Exception {
    try (WebhooksClient c = server.client(null)) {
      c.awaitReady(Duration.ofSeconds(10));
    }
    // Nothing listens on port 1: the wait ends with the timeout.
    try (WebhooksClient c = WebhooksClient.builder("127.0.0.1:1").plaintext().build()) {
      WebhooksException e =
          assertThrows(WebhooksException.class, () -> c.awaitReady(Duration.ofMillis(300)));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
    }
    assertThrows(
        IllegalStateException.class,
        () -> WebhooksClient.builder(server.address()).plaintext().serverName("x").build());
  }
}
