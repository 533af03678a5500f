// A Connect server-streaming response (application/connect+json or
// +proto) fed by a gRPC server-streaming call on the in-process channel:
// each message read becomes an enveloped message (flags 0, 4-byte
// big-endian length, payload), and the call's end becomes the end-of-stream
// message (flags 0x02): {} or {"error": {...}}.
//
// The call starts in Start() (or on the first Next()), on the connection's
// thread, which it then holds: each Next() blocks until a message, the end,
// or the client's leaving (checked every second; the call is then
// cancelled).
#ifndef WEBHOOKS_SERVER_HTTP_CONNECT_STREAM_H_
#define WEBHOOKS_SERVER_HTTP_CONNECT_STREAM_H_

#include <atomic>
#include <memory>
#include <string>

#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/status.h"
#include "server/http/http_server.h"

namespace webhooks::server {

// `payload` in a Connect envelope with `flags`.
std::string ConnectEnvelope(char flags, std::string_view payload);

struct ConnectStreamCall {
  std::shared_ptr<grpc::Channel> channel;
  std::string method;         // "/webhooks.v1.DeliveryService/WatchOutcomes"
  std::string request;        // the request message, serialized
  std::string authorization;  // forwarded as metadata when not empty
  const google::protobuf::Descriptor* response_type = nullptr;
  bool json = true;  // application/connect+json; else +proto
  // Decremented when the stream is done (bounds streams open at once).
  std::atomic<int>* open_streams = nullptr;
};

class ConnectStreamSource final : public HttpBodySource {
 public:
  explicit ConnectStreamSource(ConnectStreamCall call);
  // A stream that only ends, with `error`.
  static std::unique_ptr<HttpBodySource> Failed(const grpc::Status& error,
                                                bool json);
  ~ConnectStreamSource() override;

  std::optional<std::string> Next(
      const std::function<bool()>& client_gone) override;

  // Starts the call now and waits for the server's initial metadata, which
  // a watch sends once it is subscribed (OutcomeWatcher): the gateway calls
  // it before the HTTP response's headers go out, so a client that has them
  // knows the stream is live and sees every later outcome. Next() starts
  // the call itself when Start was not called.
  void Start();

 private:
  // Starts the call; the end-of-stream message when that failed.
  std::optional<std::string> Begin(const std::function<bool()>& client_gone);
  // Finishes the call and gives its end-of-stream message.
  std::string Finish(const std::function<bool()>& client_gone);
  // Waits for `tag`'s completion; cancels the call when the client leaves.
  bool Wait(void* tag, const std::function<bool()>& client_gone);
  // The end-of-stream message once the call has finished with `status`.
  std::string End(const grpc::Status& status);

  ConnectStreamCall call_;
  grpc::CompletionQueue cq_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  bool started_ = false;
  bool finished_ = false;
  bool ended_ = false;
  // Start's end-of-stream message when the call could not start; Next
  // gives it first.
  std::optional<std::string> start_end_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_CONNECT_STREAM_H_
