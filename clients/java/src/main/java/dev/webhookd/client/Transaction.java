package dev.webhookd.client;

import dev.webhookd.webhooks.v1.AbortRequest;
import dev.webhookd.webhooks.v1.AbortResponse;
import dev.webhookd.webhooks.v1.CommitRequest;
import dev.webhookd.webhooks.v1.CommitResponse;
import dev.webhookd.webhooks.v1.Event;
import dev.webhookd.webhooks.v1.EventResult;
import dev.webhookd.webhooks.v1.PrepareRequest;
import dev.webhookd.webhooks.v1.PrepareResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * An event transaction, made by {@link WebhooksClient#begin}: prepare events, then commit; closing
 * it without a commit aborts it, so nothing is delivered.
 *
 * <pre>{@code
 * try (Transaction tx = client.begin("order-42")) {
 *   tx.prepare(userAdded);          // Prepare: stored durably when it returns
 *   tx.prepare(orderPlaced);        // Prepare again: the same transaction
 *   tx.commit();                    // deliveries are created now
 * }                                 // no commit (an exception): Abort
 * }</pre>
 *
 * <ul>
 *   <li>{@link #prepare} calls Prepare at once: a bad event throws where it is added.
 *   <li>{@link #commit} calls Commit. A transaction that prepared nothing commits nothing. A failed
 *       Commit is not followed by an Abort, as it may have reached the server: Commit is
 *       idempotent, so call {@code commit()} again, or ask GetTransaction what became of it.
 *   <li>{@link #close} aborts a transaction that was prepared (or may have been: a failed Prepare
 *       may still have reached the server) and neither committed nor aborted. A failed Abort is
 *       thrown from close(); in try-with-resources it is added as suppressed to the exception that
 *       ended the block. The transaction then expires unresolved, which never delivers either.
 * </ul>
 *
 * <p>Not safe for concurrent use. Failures are {@link WebhooksException}s.
 */
public final class Transaction implements AutoCloseable {
  private enum State {
    OPEN,
    COMMITTING,
    ABORTED,
    CLOSED_EMPTY
  }

  private final WebhooksClient client;
  private final String id;
  private final Duration ttl;
  private boolean prepareAttempted;
  private State state = State.OPEN;
  private dev.webhookd.webhooks.v1.Transaction transaction;
  private final List<EventResult> results = new ArrayList<>();
  private CommitResponse commitResponse;

  Transaction(WebhooksClient client, String id, Duration ttl) {
    this.client = client;
    this.id = Objects.requireNonNull(id, "transaction id");
    if (id.isEmpty()) {
      throw new IllegalArgumentException("empty transaction id");
    }
    this.ttl = ttl;
  }

  /** The transaction id. */
  public String id() {
    return id;
  }

  /** Prepares events; returns what each matched (in order). See {@link #prepare(List)}. */
  public List<EventResult> prepare(Event... events) {
    return prepare(List.of(events));
  }

  /**
   * Prepares events in the transaction: once this returns they are stored durably, and they are
   * delivered only if the transaction commits. An event id already prepared is a no-op. Returns
   * what each event matched, in order.
   *
   * @throws WebhooksException when the server refuses them (INVALID_ARGUMENT names the field, as
   *     {@code events[0].resource_types})
   * @throws IllegalStateException when the transaction was committed or aborted
   */
  public List<EventResult> prepare(List<Event> events) {
    if (state != State.OPEN) {
      throw new IllegalStateException("webhookd: transaction " + id + " is already " + describe());
    }
    if (events.isEmpty()) {
      return List.of();
    }
    PrepareRequest.Builder request = PrepareRequest.newBuilder().setTransactionId(id).addAllEvents(events);
    if (ttl != null && !prepareAttempted) {
      request.setTtl(
          com.google.protobuf.Duration.newBuilder()
              .setSeconds(ttl.getSeconds())
              .setNanos(ttl.getNano())
              .build());
    }
    prepareAttempted = true; // a failed Prepare may still have reached the server
    PrepareResponse response = client.call(c -> c.events().prepare(request.build()));
    transaction = response.getTransaction();
    results.addAll(response.getEventResultsList());
    return response.getEventResultsList();
  }

  /**
   * Commits: deliveries are created now. Returns the server's response; when nothing was prepared
   * nothing is sent and the response is empty. May be called again after a failure (Commit is
   * idempotent).
   *
   * @throws IllegalStateException when the transaction was aborted
   */
  public CommitResponse commit() {
    if (state == State.ABORTED) {
      throw new IllegalStateException("webhookd: transaction " + id + " is already aborted");
    }
    if (!prepareAttempted) {
      state = State.CLOSED_EMPTY;
      return CommitResponse.getDefaultInstance();
    }
    // From here on close() must not abort: the Commit may reach the server.
    state = State.COMMITTING;
    CommitResponse response =
        client.call(c -> c.events().commit(CommitRequest.newBuilder().setTransactionId(id).build()));
    commitResponse = response;
    transaction = response.getTransaction();
    return response;
  }

  /**
   * Aborts now: nothing prepared is delivered. Returns the server's response, or an empty one when
   * nothing was (or may have been) prepared or the server never heard of the transaction.
   *
   * @throws IllegalStateException when commit() was called
   */
  public AbortResponse abort() {
    if (state == State.COMMITTING) {
      throw new IllegalStateException("webhookd: transaction " + id + " is already committed");
    }
    boolean send = prepareAttempted && state == State.OPEN;
    state = State.ABORTED;
    if (!send) {
      return AbortResponse.getDefaultInstance();
    }
    try {
      AbortResponse response =
          client.call(c -> c.events().abort(AbortRequest.newBuilder().setTransactionId(id).build()));
      transaction = response.getTransaction();
      return response;
    } catch (WebhooksException e) {
      if (e.code() == Status.Code.NOT_FOUND) {
        return AbortResponse.getDefaultInstance(); // the first Prepare stored nothing
      }
      throw e;
    }
  }

  /** Aborts the transaction unless it was committed or aborted already; see the class comment. */
  @Override
  public void close() {
    if (state == State.OPEN) {
      abort();
    }
  }

  /** The transaction as the server last reported it (null before the first Prepare returned). */
  public dev.webhookd.webhooks.v1.Transaction state() {
    return transaction;
  }

  /** What each prepared event matched, in order of {@link #prepare}. */
  public List<EventResult> eventResults() {
    return Collections.unmodifiableList(results);
  }

  /** The Commit response, once a commit succeeded (null before). */
  public CommitResponse commitResponse() {
    return commitResponse;
  }

  /** How many deliveries the commit created (0 before it). */
  public long deliveriesCreated() {
    return commitResponse == null ? 0 : commitResponse.getDeliveriesCreated();
  }

  private String describe() {
    switch (state) {
      case COMMITTING:
        return "committed";
      case ABORTED:
        return "aborted";
      default:
        return "closed";
    }
  }

  @Override
  public String toString() {
    String s = transaction == null ? "NEW" : transaction.getState().name();
    return "Transaction[" + id + " " + s + "]";
  }
}
