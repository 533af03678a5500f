#include "server/application.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "common/random.h"
#include "common/strings.h"
#include "core/api_key_registry.h"
#include "core/attempt_log.h"
#include "core/cluster_node.h"
#include "core/delivery_dispatcher.h"
#include "core/delivery_queue.h"
#include "core/dialect_catalog.h"
#include "core/outcome_bus.h"
#include "core/page_token.h"
#include "core/retry_policy.h"
#include "core/event_matcher.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "core/transaction_log.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/auth.h"
#include "server/blocking_executor.h"
#include "server/config_loader.h"
#include "server/converters/static_config.h"
#include "server/handlers/api_key_handler.h"
#include "server/handlers/delivery_handler.h"
#include "server/handlers/dialect_handler.h"
#include "server/handlers/event_handler.h"
#include "server/handlers/principal_handler.h"
#include "server/handlers/subscription_handler.h"
#include "server/health_monitor.h"
#include "server/http/http_api.h"
#include "server/listen_guard.h"
#include "server/parse_error_interceptor.h"
#include "server/metrics_exporter.h"
#include "server/metrics_http_server.h"
#include "server/periodic_task.h"
#include "storage/cluster_store.h"
#include "storage/sequencer.h"

namespace webhooks::server {
namespace {

// Threads that run storage work for handlers. Many, so that concurrent
// synced writes share WAL syncs (RocksDB's group commit).
constexpr int kExecutorThreads = 32;
// How often prepared transactions are checked for expiry.
constexpr absl::Duration kReapInterval = absl::Seconds(1);
constexpr int kReapBatch = 1000;
// Largest request accepted (events carry representations of up to 1 MiB).
constexpr int kMaxReceiveBytes = 64 << 20;

absl::StatusOr<std::string> ReadFile(std::string_view field,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        StrCat(field, ": cannot read \"", path, "\""));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const v1::TlsConfig& tls) {
  if (tls.cert_file().empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadFile("tls.key_file", tls.key_file()));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFile("tls.cert_file", tls.cert_file()));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file().empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs,
                     ReadFile("tls.client_ca_file", tls.client_ca_file()));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// The dispatcher's settings from the config (zero values: the defaults).
absl::StatusOr<core::DispatcherOptions> DispatcherOptionsFrom(
    const v1::DeliveryConfig& config) {
  core::DispatcherOptions options;
  if (config.failure_limit() > 0) {
    options.failure_limit = config.failure_limit();
  }
  const int interval = config.saturated_write_interval_ms();
  if (interval < -1 || interval > 1000) {
    return absl::InvalidArgumentError(StrCat(
        "delivery.saturated_write_interval_ms: must be from -1 (off) to 1000 "
        "(got ", interval, ")"));
  }
  if (interval != 0) {
    options.saturated_write_interval =
        absl::Milliseconds(std::max(0, interval));
  }
  return options;
}

class ApplicationImpl final : public Application {
 public:
  ~ApplicationImpl() override {
    Shutdown(absl::Seconds(5));
    metrics_server_.reset();  // its scrapes read the dispatcher and queue
    http_.reset();  // it calls server_
    health_.reset();  // it reports to server_
    server_.reset();
    executor_.reset();  // runs what is queued, then joins
    reaper_.reset();
    if (cluster_node_ != nullptr) {
      cluster_node_->Stop();  // its callback uses the dispatcher
      queue_->SetOwnership(nullptr);
    }
    if (dispatcher_ != nullptr) dispatcher_->Shutdown(absl::ZeroDuration());
    // No sender callback may run once the dispatcher is gone.
    if (sender_ != nullptr) sender_->Shutdown(absl::ZeroDuration());
  }

  static absl::StatusOr<std::unique_ptr<Application>> Start(
      const v1::ServerConfig& config, storage::StorePtr store,
      core::HttpSenderPtr sender, const Clock* clock, RandomSource* random) {
    ASSIGN_OR_RETURN(const core::DispatcherOptions dispatcher_options,
                     DispatcherOptionsFrom(config.delivery()));
    std::unique_ptr<ApplicationImpl> app(new ApplicationImpl());
    app->store_ = std::move(store);
    app->sender_ = std::move(sender);
    ASSIGN_OR_RETURN(Authenticator authenticator,
                     Authenticator::FromConfig(config));
    app->authenticator_ =
        std::make_unique<Authenticator>(std::move(authenticator));
    const std::string& metrics_address =
        config.delivery().metrics_listen_address();
    if (!metrics_address.empty() && app->authenticator_->open_mode() &&
        !IsLoopbackAddress(metrics_address)) {
      return absl::FailedPreconditionError(StrCat(
          "delivery.metrics_listen_address \"", metrics_address,
          "\" is not a loopback address; without tokens (open mode) the "
          "server only listens on loopback. Configure tokens or listen on "
          "loopback"));
    }
    const std::string& http_address = config.http().listen_address();
    if (!http_address.empty() && app->authenticator_->open_mode() &&
        !IsLoopbackAddress(http_address)) {
      return absl::FailedPreconditionError(StrCat(
          "http.listen_address \"", http_address,
          "\" is not a loopback address; without tokens (open mode) the "
          "server only listens on loopback. Configure tokens or listen on "
          "loopback"));
    }
    RETURN_IF_ERROR(core::LoadPageTokenKey(app->store_.get(), random));
    // Cluster mode: a store shared with other nodes. Where its change feed
    // stands is read before anything is loaded from it (ClusterNode).
    app->cluster_store_ = dynamic_cast<storage::ClusterStore*>(app->store_.get());
    uint64_t feed_seen = 0;
    if (app->cluster_store_ != nullptr) {
      ASSIGN_OR_RETURN(feed_seen,
                       core::ClusterNode::FeedPosition(app->cluster_store_));
    }
    const core::Limits limits = LimitsFromConfig(config);
    ASSIGN_OR_RETURN(app->api_keys_,
                     core::ApiKeyRegistry::Open(app->store_.get(), clock,
                                                random, limits));
    ASSIGN_OR_RETURN(authenticator,
                     Authenticator::FromConfig(config, app->api_keys_.get()));
    *app->authenticator_ = std::move(authenticator);
    ASSIGN_OR_RETURN(app->catalog_, core::DialectCatalog::Open(
                                        app->store_.get(), clock, limits));
    ASSIGN_OR_RETURN(app->directory_, core::PrincipalDirectory::Open(
                                          app->store_.get(), clock, limits));
    core::RegistryOptions registry_options;
    registry_options.limits = limits;
    registry_options.allow_http_targets = config.allow_http_targets();
    ASSIGN_OR_RETURN(app->registry_, core::SubscriptionRegistry::Open(
                                         app->store_.get(), app->catalog_.get(),
                                         app->directory_.get(), clock, random,
                                         registry_options));
    core::SubscriptionRegistry* registry = app->registry_.get();
    RETURN_IF_ERROR(app->catalog_->SyncStatic(
        StaticDialects(config), [registry](std::string_view name) {
          return registry->CountUsingDialect(name);
        }));
    RETURN_IF_ERROR(registry->SyncStatic(StaticSubscriptions(config)));
    app->limits_ = limits;
    app->clock_ = clock;
    app->random_ = random;
    app->matcher_ = std::make_unique<core::EventMatcher>(
        &registry->index(), app->directory_.get(), app->catalog_.get());
    app->queue_ = std::make_unique<core::DeliveryQueue>(
        app->store_.get(), app->cluster_store_ != nullptr
                               ? app->cluster_store_->partition_count()
                               : 1);
    app->transactions_ = std::make_unique<core::TransactionLog>(
        app->store_.get(), app->queue_.get(), app->matcher_.get(), app->catalog_.get(), clock,
        random, limits, core::TransactionOptions());
    app->sequencer_ = std::make_unique<storage::Sequencer>(app->store_.get());
    app->transactions_->EnableOrdering(&registry->ordering(),
                                       app->sequencer_.get());
    core::TransactionLog* log = app->transactions_.get();
    app->reaper_ = std::make_unique<PeriodicTask>(kReapInterval, [log] {
      absl::StatusOr<int> reaped;
      do {
        reaped = log->Reap(kReapBatch);
      } while (reaped.ok() && *reaped == kReapBatch);
    });
    if (!metrics_address.empty()) {
      ASSIGN_OR_RETURN(app->metrics_, ServiceMetrics::Create());
    }
    app->StartDeliveries(config.delivery(), dispatcher_options, clock, random);
    if (app->cluster_store_ != nullptr) {
      app->StartCluster(config.cluster(), random, feed_seen);
    }
    RETURN_IF_ERROR(app->Serve(config));
    RETURN_IF_ERROR(app->ServeMetrics(metrics_address));
    RETURN_IF_ERROR(app->ServeHttp(config.http()));
    return app;
  }

  int port() const override { return port_; }
  int metrics_port() const override { return metrics_port_; }
  int http_port() const override { return http_ == nullptr ? 0 : http_->port(); }
  bool open_mode() const override { return authenticator_->open_mode(); }

  void Shutdown(absl::Duration grace) override {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    // gRPC's own grace waits for every client connection to close, idle ones
    // included; wait for the calls actually running instead, then close.
    executor_->WaitIdle(absl::Now() + grace);
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(100));
    http_.reset();  // its streams ended with the server's calls
    dispatcher_->Shutdown(grace);
    // Hands this node's partitions to the others at once.
    if (cluster_node_ != nullptr) cluster_node_->Stop();
    sender_->Shutdown(absl::ZeroDuration());
    metrics_server_.reset();
  }

 private:
  ApplicationImpl() = default;

  void StartDeliveries(const v1::DeliveryConfig& config,
                       const core::DispatcherOptions& options,
                       const Clock* clock, RandomSource* random) {
    attempts_ = std::make_unique<core::AttemptLog>(
        store_.get(), config.keep_attempts() > 0 ? config.keep_attempts() : 50,
        limits_);
    core::RetryOptions retry;
    if (config.retry_schedule_seconds_size() > 0) {
      retry.schedule.clear();
      for (int64_t seconds : config.retry_schedule_seconds()) {
        retry.schedule.push_back(absl::Seconds(seconds));
      }
    }
    retry_ = std::make_unique<core::RetryPolicy>(std::move(retry), random);
    outcomes_ = std::make_unique<core::OutcomeBus>();
    dispatcher_ = std::make_unique<core::DeliveryDispatcher>(
        core::DispatcherDeps{store_.get(), queue_.get(), registry_.get(),
                             catalog_.get(), attempts_.get(), retry_.get(),
                             sender_.get(), outcomes_.get(), clock, random,
                             metrics_.get(), sequencer_.get()},
        options);
    dispatcher_->Start();
  }

  // Joins the cluster: mirrors other nodes' changes and takes a share of
  // the delivery queue's partitions.
  void StartCluster(const v1::ClusterConfig& config, RandomSource* random,
                    uint64_t feed_seen) {
    core::ClusterOptions options;
    options.node_id = config.node_id();
    if (options.node_id.empty()) {
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      options.node_id = StrCat(host, "-", getpid(), "-",
                               NewId("", absl::ToUnixMillis(absl::Now()), *random));
    }
    if (config.lease_ttl_ms() > 0) {
      options.lease_ttl = absl::Milliseconds(config.lease_ttl_ms());
      options.safety_margin = options.lease_ttl / 3;
    }
    if (config.heartbeat_ms() > 0) {
      options.heartbeat = absl::Milliseconds(config.heartbeat_ms());
    }
    if (config.change_poll_ms() > 0) {
      options.feed_poll = absl::Milliseconds(config.change_poll_ms());
    }
    cluster_node_ = std::make_unique<core::ClusterNode>(
        cluster_store_,
        core::ClusterNode::Mirrors{registry_.get(), directory_.get(),
                                   catalog_.get(), api_keys_.get()},
        options);
    core::AttemptLog* attempts = attempts_.get();
    core::DeliveryDispatcher* dispatcher = dispatcher_.get();
    cluster_node_->SetOnAcquired([attempts, dispatcher] {
      attempts->InvalidateAll();
      dispatcher->Wake();
    });
    queue_->SetOwnership(cluster_node_.get());
    cluster_node_->Start(feed_seen);
  }

  // Serves GET /metrics on `address`, if any.
  absl::Status ServeMetrics(const std::string& address) {
    if (metrics_ == nullptr) return absl::OkStatus();
    RETURN_IF_ERROR(metrics_->Attach(&dispatcher_->stats(), queue_.get()));
    if (cluster_node_ != nullptr) {
      RETURN_IF_ERROR(metrics_->AttachCluster(&cluster_node_->stats()));
      RETURN_IF_ERROR(metrics_->AttachDatabase(cluster_store_));
    }
    ASSIGN_OR_RETURN(metrics_server_,
                     MetricsHttpServer::Start(address, &metrics_->registry()));
    metrics_port_ = metrics_server_->port();
    return absl::OkStatus();
  }

  // Serves the JSON-over-HTTP API on config.listen_address, if any, through
  // the gRPC server's in-process channel (same interceptors and handlers).
  absl::Status ServeHttp(const v1::HttpConfig& config) {
    if (config.listen_address().empty()) return absl::OkStatus();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    ASSIGN_OR_RETURN(http_,
                     HttpApi::Start(config, server_->InProcessChannel(args)));
    return absl::OkStatus();
  }

  absl::Status Serve(const v1::ServerConfig& config) {
    executor_ = std::make_unique<BlockingExecutor>(kExecutorThreads);
    HandlerDeps deps{authenticator_.get(), executor_.get()};
    subscriptions_ =
        std::make_unique<SubscriptionHandler>(deps, registry_.get());
    principals_ = std::make_unique<PrincipalHandler>(deps, directory_.get(),
                                                     registry_.get());
    dialects_ =
        std::make_unique<DialectHandler>(deps, catalog_.get(), registry_.get());
    core::DeliveryDispatcher* dispatcher = dispatcher_.get();
    events_ = std::make_unique<EventHandler>(
        deps, transactions_.get(), matcher_.get(), limits_, clock_, random_,
        [dispatcher] { dispatcher->Wake(); });
    api_key_handler_ = std::make_unique<ApiKeyHandler>(deps, api_keys_.get());
    deliveries_ = std::make_unique<DeliveryHandler>(
        deps, DeliveryHandlerDeps{registry_.get(), queue_.get(), attempts_.get(),
                                  dispatcher_.get(), outcomes_.get()});

    grpc::EnableDefaultHealthCheckService(true);
    // Links the health protocol's descriptors in, for reflection.
    grpc::health::v1::HealthCheckRequest::descriptor();
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                     Credentials(config.tls()));
    grpc::ServerBuilder builder;
    builder.AddListeningPort(config.listen_address(), credentials, &port_);
    builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
    // A second server on a port in use must fail, not share it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    std::vector<std::unique_ptr<
        grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<ParseErrorInterceptorFactory>(authenticator_.get()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    builder.RegisterService(subscriptions_.get());
    builder.RegisterService(principals_.get());
    builder.RegisterService(dialects_.get());
    builder.RegisterService(events_.get());
    builder.RegisterService(deliveries_.get());
    builder.RegisterService(api_key_handler_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return ListenError(config.listen_address());
    }
    health_ = std::make_unique<HealthMonitor>(
        store_.get(), server_->GetHealthCheckService());
    return absl::OkStatus();
  }

  // Declared in construction order; the destructor stops the server and
  // the executor before the rest goes.
  storage::StorePtr store_;
  core::ApiKeyRegistryPtr api_keys_;
  std::unique_ptr<Authenticator> authenticator_;
  core::DialectCatalogPtr catalog_;
  core::PrincipalDirectoryPtr directory_;
  core::SubscriptionRegistryPtr registry_;
  core::Limits limits_;
  const Clock* clock_ = nullptr;
  RandomSource* random_ = nullptr;
  std::unique_ptr<core::EventMatcher> matcher_;
  // Numbers ordered deliveries in commit order (before transactions_).
  std::unique_ptr<storage::Sequencer> sequencer_;
  core::TransactionLogPtr transactions_;
  std::unique_ptr<PeriodicTask> reaper_;
  core::HttpSenderPtr sender_;
  std::unique_ptr<core::DeliveryQueue> queue_;
  std::unique_ptr<core::AttemptLog> attempts_;
  std::unique_ptr<core::RetryPolicy> retry_;
  std::unique_ptr<core::OutcomeBus> outcomes_;
  std::unique_ptr<ServiceMetrics> metrics_;  // null: no metrics endpoint
  std::unique_ptr<core::DeliveryDispatcher> dispatcher_;
  storage::ClusterStore* cluster_store_ = nullptr;  // the store, in a cluster
  std::unique_ptr<core::ClusterNode> cluster_node_;  // null: one node
  std::unique_ptr<BlockingExecutor> executor_;
  std::unique_ptr<SubscriptionHandler> subscriptions_;
  std::unique_ptr<PrincipalHandler> principals_;
  std::unique_ptr<DialectHandler> dialects_;
  std::unique_ptr<EventHandler> events_;
  std::unique_ptr<DeliveryHandler> deliveries_;
  std::unique_ptr<ApiKeyHandler> api_key_handler_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthMonitor> health_;  // polls store_ for server_
  int port_ = 0;
  std::unique_ptr<MetricsHttpServer> metrics_server_;
  int metrics_port_ = 0;
  HttpApiPtr http_;  // null: no HTTP API

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Application>> Application::Start(
    const v1::ServerConfig& config, storage::StorePtr store,
    core::HttpSenderPtr sender, const Clock* clock, RandomSource* random) {
  return ApplicationImpl::Start(config, std::move(store), std::move(sender),
                                clock, random);
}

}  // namespace webhooks::server
