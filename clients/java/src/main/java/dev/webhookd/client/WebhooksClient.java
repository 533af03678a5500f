package dev.webhookd.client;

import dev.webhookd.webhooks.v1.ApiKeyServiceGrpc;
import dev.webhookd.webhooks.v1.DeliveryServiceGrpc;
import dev.webhookd.webhooks.v1.DialectServiceGrpc;
import dev.webhookd.webhooks.v1.EventServiceGrpc;
import dev.webhookd.webhooks.v1.PrincipalServiceGrpc;
import dev.webhookd.webhooks.v1.SubscriptionServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A connection to webhookd. Safe for concurrent use; close it when done.
 *
 * <pre>{@code
 * try (WebhooksClient client = WebhooksClient.builder("webhookd.example:8443")
 *     .rootCertificates(Path.of("ca.pem"))
 *     .token(System.getenv("WEBHOOKD_TOKEN"))
 *     .build()) {
 *   Subscription sub = client.call(c -> c.subscriptions().createSubscription(request));
 * }
 * }</pre>
 *
 * <p>{@link #subscriptions()}, {@link #principals()}, {@link #dialects()}, {@link #events()},
 * {@link #deliveries()} and {@link #apiKeys()} are the generated blocking stubs; they throw {@link
 * StatusRuntimeException}. Run calls through {@link #call} to get a {@link WebhooksException} (the
 * code, the field path and the server's message) instead.
 */
public final class WebhooksClient implements AutoCloseable {
  /** The deadline of unary calls that set none, unless the builder says otherwise. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final ManagedChannel managed;
  private final Channel channel; // managed + token + default deadline
  private final boolean owner; // close() shuts managed down
  private final boolean plaintext;
  private final Duration defaultTimeout;

  private final SubscriptionServiceGrpc.SubscriptionServiceBlockingStub subscriptions;
  private final PrincipalServiceGrpc.PrincipalServiceBlockingStub principals;
  private final DialectServiceGrpc.DialectServiceBlockingStub dialects;
  private final EventServiceGrpc.EventServiceBlockingStub events;
  private final DeliveryServiceGrpc.DeliveryServiceBlockingStub deliveries;
  private final ApiKeyServiceGrpc.ApiKeyServiceBlockingStub apiKeys;

  private WebhooksClient(
      ManagedChannel managed, boolean owner, boolean plaintext, String token, Duration timeout) {
    this.managed = managed;
    this.owner = owner;
    this.plaintext = plaintext;
    this.defaultTimeout = timeout;
    CallCredentials credentials =
        token == null || token.isEmpty() ? null : new BearerToken(token, plaintext);
    this.channel = ClientInterceptors.intercept(managed, new Defaults(credentials, timeout));
    this.subscriptions = SubscriptionServiceGrpc.newBlockingStub(channel);
    this.principals = PrincipalServiceGrpc.newBlockingStub(channel);
    this.dialects = DialectServiceGrpc.newBlockingStub(channel);
    this.events = EventServiceGrpc.newBlockingStub(channel);
    this.deliveries = DeliveryServiceGrpc.newBlockingStub(channel);
    this.apiKeys = ApiKeyServiceGrpc.newBlockingStub(channel);
  }

  /** A builder for a client of the server at address ({@code "host:port"} or a gRPC target). */
  public static Builder builder(String address) {
    return new Builder(address);
  }

  /**
   * A client that shares this one's connection but sends token instead (none when null or empty).
   * Closing it does nothing; close this client.
   */
  public WebhooksClient withToken(String token) {
    return new WebhooksClient(managed, false, plaintext, token, defaultTimeout);
  }

  /** The SubscriptionService stub. */
  public SubscriptionServiceGrpc.SubscriptionServiceBlockingStub subscriptions() {
    return subscriptions;
  }

  /** The PrincipalService stub. */
  public PrincipalServiceGrpc.PrincipalServiceBlockingStub principals() {
    return principals;
  }

  /** The DialectService stub. */
  public DialectServiceGrpc.DialectServiceBlockingStub dialects() {
    return dialects;
  }

  /** The EventService stub. */
  public EventServiceGrpc.EventServiceBlockingStub events() {
    return events;
  }

  /** The DeliveryService stub. */
  public DeliveryServiceGrpc.DeliveryServiceBlockingStub deliveries() {
    return deliveries;
  }

  /** The ApiKeyService stub (admin only). */
  public ApiKeyServiceGrpc.ApiKeyServiceBlockingStub apiKeys() {
    return apiKeys;
  }

  /**
   * The channel with the client's token and default deadline attached, for other stubs (the async
   * or future stubs, grpc.health.v1, reflection).
   */
  public Channel channel() {
    return channel;
  }

  /**
   * Runs call with this client and returns its result; a gRPC failure is rethrown as a {@link
   * WebhooksException}.
   *
   * <pre>{@code
   * Subscription s = client.call(c -> c.subscriptions().getSubscription(
   *     GetSubscriptionRequest.newBuilder().setId(id).build()));
   * }</pre>
   */
  public <T> T call(Function<? super WebhooksClient, T> call) {
    try {
      return call.apply(this);
    } catch (StatusRuntimeException e) {
      throw WebhooksException.of(e);
    }
  }

  /** Opens a transaction with a fresh id ({@link #newTransactionId()}). */
  public Transaction begin() {
    return begin(newTransactionId());
  }

  /**
   * Opens the transaction transactionId: use it in try-with-resources, prepare events, commit; the
   * end of the block without a commit (an exception included) aborts it.
   *
   * <pre>{@code
   * try (Transaction tx = client.begin("order-42")) {
   *   tx.prepare(event);
   *   tx.commit();
   * }
   * }</pre>
   */
  public Transaction begin(String transactionId) {
    return new Transaction(this, transactionId, null);
  }

  /**
   * {@link #begin(String)} with how long the transaction may stay prepared before it expires (sent
   * with the first Prepare; the server caps it).
   */
  public Transaction begin(String transactionId, Duration ttl) {
    return new Transaction(this, transactionId, Objects.requireNonNull(ttl, "ttl"));
  }

  /** A random transaction id: "tx_" and 32 hex digits. */
  public static String newTransactionId() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return "tx_" + HexFormat.of().formatHex(b);
  }

  /**
   * Connects now and waits until the connection is ready.
   *
   * @throws WebhooksException with DEADLINE_EXCEEDED when it is not ready within timeout
   */
  public void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ConnectivityState state = managed.getState(true);
    while (state != ConnectivityState.READY) {
      if (state == ConnectivityState.SHUTDOWN) {
        throw WebhooksException.of(
            Status.UNAVAILABLE.withDescription("webhookd: the client is closed"), null);
      }
      CountDownLatch changed = new CountDownLatch(1);
      managed.notifyWhenStateChanged(state, changed::countDown);
      long left = deadline - System.nanoTime();
      if (left <= 0 || !changed.await(left, TimeUnit.NANOSECONDS)) {
        throw WebhooksException.of(
            Status.DEADLINE_EXCEEDED.withDescription(
                "webhookd: connection not ready within " + timeout + " (last state " + state + ")"),
            null);
      }
      state = managed.getState(true);
    }
  }

  /**
   * Closes the connection, letting running calls finish for up to 5 seconds. Does nothing on
   * clients made by {@link #withToken}.
   */
  @Override
  public void close() {
    if (!owner) {
      return;
    }
    managed.shutdown();
    try {
      if (!managed.awaitTermination(5, TimeUnit.SECONDS)) {
        managed.shutdownNow();
      }
    } catch (InterruptedException e) {
      managed.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** Adds the token and the default deadline to calls that have none of their own. */
  private static final class Defaults implements ClientInterceptor {
    private final CallCredentials credentials;
    private final Duration timeout;

    Defaults(CallCredentials credentials, Duration timeout) {
      this.credentials = credentials;
      this.timeout = timeout;
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
        MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
      if (credentials != null && options.getCredentials() == null) {
        options = options.withCallCredentials(credentials);
      }
      if (timeout != null
          && options.getDeadline() == null
          && method.getType() == MethodDescriptor.MethodType.UNARY) {
        options = options.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
      }
      return next.newCall(method, options);
    }
  }

  /** Configures a {@link WebhooksClient}. By default: TLS against the system's roots, no token. */
  public static final class Builder {
    private final String address;
    private boolean plaintext;
    private byte[] rootCertificates;
    private byte[] certificateChain;
    private byte[] privateKey;
    private String serverName;
    private String token;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Consumer<ManagedChannelBuilder<?>> channelOptions;

    private Builder(String address) {
      this.address = Objects.requireNonNull(address, "address");
    }

    /**
     * Connects without TLS, and lets the bearer token travel in plaintext. For development and
     * loopback tests only.
     */
    public Builder plaintext() {
      this.plaintext = true;
      return this;
    }

    /** Verifies the server against these PEM CA certificates instead of the system's roots. */
    public Builder rootCertificates(byte[] pem) {
      this.rootCertificates = pem.clone();
      return this;
    }

    /** Verifies the server against the PEM CA certificates in file. */
    public Builder rootCertificates(Path file) {
      this.rootCertificates = read(file);
      return this;
    }

    /** Presents this PEM certificate chain and PEM (PKCS#8) private key to the server (mTLS). */
    public Builder clientCertificate(byte[] certificateChainPem, byte[] privateKeyPem) {
      this.certificateChain = certificateChainPem.clone();
      this.privateKey = privateKeyPem.clone();
      return this;
    }

    /** Presents the PEM certificate chain and PEM (PKCS#8) private key in these files (mTLS). */
    public Builder clientCertificate(Path certificateChainFile, Path privateKeyFile) {
      this.certificateChain = read(certificateChainFile);
      this.privateKey = read(privateKeyFile);
      return this;
    }

    /**
     * Checks the server's certificate against name (and sends it as the authority) instead of the
     * host of the address.
     */
    public Builder serverName(String name) {
      this.serverName = name;
      return this;
    }

    /** Sends {@code authorization: Bearer <token>} with every call (none when null or empty). */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /**
     * The deadline of unary calls that set none (default {@link #DEFAULT_TIMEOUT}); null for none.
     * Streaming calls (WatchOutcomes) get no default deadline.
     */
    public Builder defaultTimeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /**
     * Further channel settings (keepalive, interceptors, message sizes, ...). Do not set transport
     * security here: use {@link #plaintext()} or the TLS options.
     */
    public Builder channelOptions(Consumer<ManagedChannelBuilder<?>> options) {
      this.channelOptions = options;
      return this;
    }

    /** Creates the client; it connects in the background (see {@link #awaitReady}). */
    public WebhooksClient build() {
      ChannelCredentials credentials;
      if (plaintext) {
        if (rootCertificates != null || certificateChain != null || serverName != null) {
          throw new IllegalStateException(
              "webhookd: plaintext() cannot be combined with TLS options");
        }
        credentials = InsecureChannelCredentials.create();
      } else {
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
        try {
          if (rootCertificates != null) {
            tls.trustManager(new ByteArrayInputStream(rootCertificates));
          }
          if (certificateChain != null) {
            tls.keyManager(
                new ByteArrayInputStream(certificateChain), new ByteArrayInputStream(privateKey));
          }
        } catch (IOException e) {
          throw new UncheckedIOException("webhookd: TLS certificates", e);
        }
        credentials = tls.build();
      }
      ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(address, credentials);
      if (serverName != null) {
        builder.overrideAuthority(serverName);
      }
      if (channelOptions != null) {
        channelOptions.accept(builder);
      }
      return new WebhooksClient(builder.build(), true, plaintext, token, timeout);
    }

    private static byte[] read(Path file) {
      try {
        return Files.readAllBytes(file);
      } catch (IOException e) {
        throw new UncheckedIOException("webhookd: reading " + file, e);
      }
    }
  }
}
