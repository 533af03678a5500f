#include "server/http/connect_stream.h"

#include <chrono>

#include "common/strings.h"
#include "server/http/connect_error.h"
#include "server/http/json_codec.h"

namespace webhooks::server {
namespace {

constexpr char kEndStream = 0x02;
// How often a stream waiting for a message checks whether its client left.
constexpr auto kClientCheck = std::chrono::seconds(1);

// Tags: which operation completed.
void* Tag(int n) { return reinterpret_cast<void*>(static_cast<intptr_t>(n)); }
enum : int { kStart = 1, kWrite, kWritesDone, kInitialMetadata, kRead, kFinish };

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Bytes(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return "";
  return std::string(reinterpret_cast<const char*>(slice.begin()),
                     slice.size());
}

// A source that yields one end-of-stream message.
class EndOnly final : public HttpBodySource {
 public:
  explicit EndOnly(std::string end) : end_(std::move(end)) {}
  std::optional<std::string> Next(const std::function<bool()>&) override {
    if (done_) return std::nullopt;
    done_ = true;
    return end_;
  }

 private:
  std::string end_;
  bool done_ = false;
};

std::string EndMessage(const grpc::Status& status) {
  if (status.ok()) return ConnectEnvelope(kEndStream, "{}");
  return ConnectEnvelope(kEndStream,
                         StrCat("{\"error\":", ConnectErrorJson(status), "}"));
}

}  // namespace

std::string ConnectEnvelope(char flags, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  out.push_back(flags);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return out;
}

ConnectStreamSource::ConnectStreamSource(ConnectStreamCall call)
    : call_(std::move(call)) {}

std::unique_ptr<HttpBodySource> ConnectStreamSource::Failed(
    const grpc::Status& error, bool) {
  return std::make_unique<EndOnly>(EndMessage(error));
}

ConnectStreamSource::~ConnectStreamSource() {
  if (started_ && !finished_) {
    context_.TryCancel();
    grpc::Status status;
    stream_->Finish(&status, Tag(kFinish));
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok) && tag != Tag(kFinish)) {
    }
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
  if (call_.open_streams != nullptr) call_.open_streams->fetch_sub(1);
}

bool ConnectStreamSource::Wait(void* tag,
                               const std::function<bool()>& client_gone) {
  bool cancelled = false;
  while (true) {
    void* got = nullptr;
    bool ok = false;
    const auto deadline = std::chrono::system_clock::now() + kClientCheck;
    switch (cq_.AsyncNext(&got, &ok, deadline)) {
      case grpc::CompletionQueue::GOT_EVENT:
        if (got == tag) return ok;
        break;
      case grpc::CompletionQueue::TIMEOUT:
        if (!cancelled && client_gone()) {
          context_.TryCancel();
          cancelled = true;
        }
        break;
      case grpc::CompletionQueue::SHUTDOWN:
        return false;
    }
  }
}

std::string ConnectStreamSource::End(const grpc::Status& status) {
  finished_ = true;
  ended_ = true;
  return EndMessage(status);
}

std::string ConnectStreamSource::Finish(
    const std::function<bool()>& client_gone) {
  grpc::Status status;
  stream_->Finish(&status, Tag(kFinish));
  Wait(Tag(kFinish), client_gone);
  return End(status);
}

std::optional<std::string> ConnectStreamSource::Begin(
    const std::function<bool()>& client_gone) {
  if (!call_.authorization.empty()) {
    context_.AddMetadata("authorization", call_.authorization);
  }
  grpc::GenericStub stub(call_.channel);
  stream_ = stub.PrepareCall(&context_, call_.method, &cq_);
  if (stream_ == nullptr) {
    ended_ = true;
    return EndMessage(grpc::Status(grpc::StatusCode::INTERNAL,
                                   "the stream could not be started"));
  }
  started_ = true;
  stream_->StartCall(Tag(kStart));
  if (!Wait(Tag(kStart), client_gone)) return Finish(client_gone);
  stream_->Write(Buffer(call_.request), Tag(kWrite));
  if (!Wait(Tag(kWrite), client_gone)) return Finish(client_gone);
  stream_->WritesDone(Tag(kWritesDone));
  if (!Wait(Tag(kWritesDone), client_gone)) return Finish(client_gone);
  // The server's headers: a watch sends them once it is subscribed.
  stream_->ReadInitialMetadata(Tag(kInitialMetadata));
  if (!Wait(Tag(kInitialMetadata), client_gone)) return Finish(client_gone);
  return std::nullopt;
}

void ConnectStreamSource::Start() {
  if (started_ || ended_) return;
  // The client cannot have left: it has not had an answer yet.
  start_end_ = Begin([] { return false; });
}

std::optional<std::string> ConnectStreamSource::Next(
    const std::function<bool()>& client_gone) {
  if (start_end_.has_value()) {
    std::string end = *std::move(start_end_);
    start_end_.reset();
    return end;
  }
  if (ended_) return std::nullopt;
  if (!started_) {
    if (std::optional<std::string> end = Begin(client_gone)) return end;
  }
  grpc::ByteBuffer message;
  stream_->Read(&message, Tag(kRead));
  if (!Wait(Tag(kRead), client_gone)) return Finish(client_gone);
  const std::string bytes = Bytes(message);
  if (!call_.json) return ConnectEnvelope(0, bytes);
  absl::StatusOr<std::string> json = BinaryToJson(call_.response_type, bytes);
  if (!json.ok()) {
    context_.TryCancel();
    Finish(client_gone);
    return EndMessage(grpc::Status(grpc::StatusCode::INTERNAL,
                                   std::string(json.status().message())));
  }
  return ConnectEnvelope(0, *json);
}

}  // namespace webhooks::server
