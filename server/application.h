// The service wired together: the domain over a Store, and the gRPC server
// (health checking and reflection on) over the domain. main() opens the real
// store and hands it here; tests may hand in any Store.
//
//   ASSIGN_OR_RETURN(auto app, Application::Start(config, std::move(store),
//                                                 &clock, &random));
//   LOG << "serving on port " << app->port();
//   ...
//   app->Shutdown(absl::Seconds(10));
#ifndef WEBHOOKS_SERVER_APPLICATION_H_
#define WEBHOOKS_SERVER_APPLICATION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/http_sender.h"
#include "storage/store.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

class Application {
 public:
  // Opens the domain over `store`, syncs the config file's static dialects
  // and subscriptions, starts sending pending deliveries through `sender`,
  // and starts serving on config.listen_address (and metrics on
  // delivery.metrics_listen_address when set). `config` must have been
  // through FinalizeConfig. Fails with INVALID_ARGUMENT for a bad config,
  // FAILED_PRECONDITION for a non-loopback metrics or HTTP address in open
  // mode,
  // UNAVAILABLE when an address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Application>> Start(
      const v1::ServerConfig& config, storage::StorePtr store,
      core::HttpSenderPtr sender, const Clock* clock, RandomSource* random);

  virtual ~Application() = default;

  // The bound port (useful with port 0).
  virtual int port() const = 0;
  // The metrics endpoint's bound port (GET /metrics; see
  // delivery.metrics_listen_address); 0 when it is off.
  virtual int metrics_port() const = 0;
  // The JSON-over-HTTP API's bound port (see http.listen_address); 0 when
  // it is off.
  virtual int http_port() const = 0;
  // True when no tokens are configured: every caller is an admin.
  virtual bool open_mode() const = 0;
  // Stops accepting calls, lets running ones finish for up to `grace`, then
  // cancels the rest; then lets deliveries in flight finish for up to
  // `grace` and leaves the others pending on disk; then stops the metrics
  // endpoint. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;
};

using ApplicationPtr = std::unique_ptr<Application>;

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_APPLICATION_H_
