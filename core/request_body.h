// The body of an HTTP request: bytes of its own, or bytes it shares with
// what they came from (every delivery of an event in the raw envelope
// sends the representation's body as stored, so the requests of a fan-out
// point into the event record instead of each copying it). Immutable;
// copying shares.
//
//   HttpRequest request;
//   request.body = "{\"n\":1}";                     // its own bytes
//   request.body = RequestBody::Shared(event, &representation.body());
//   curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
#ifndef WEBHOOKS_CORE_REQUEST_BODY_H_
#define WEBHOOKS_CORE_REQUEST_BODY_H_

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace webhooks::core {

class RequestBody {
 public:
  RequestBody() = default;
  // Its own bytes (implicit, like the std::string it replaces).
  RequestBody(std::string bytes)  // NOLINT(google-explicit-constructor)
      : bytes_(std::make_shared<const std::string>(std::move(bytes))) {}
  RequestBody(const char* bytes)  // NOLINT(google-explicit-constructor)
      : RequestBody(std::string(bytes)) {}

  // `*bytes`, kept alive by `owner` (the aliasing constructor of
  // shared_ptr): no copy. `bytes` must not change while any request
  // holds it.
  template <typename Owner>
  static RequestBody Shared(std::shared_ptr<Owner> owner,
                            const std::string* bytes) {
    RequestBody body;
    body.bytes_ = std::shared_ptr<const std::string>(std::move(owner), bytes);
    return body;
  }

  std::string_view view() const {
    return bytes_ == nullptr ? std::string_view() : std::string_view(*bytes_);
  }
  operator std::string_view() const {  // NOLINT(google-explicit-constructor)
    return view();
  }
  const char* data() const { return view().data(); }
  size_t size() const { return view().size(); }
  bool empty() const { return view().empty(); }

  friend bool operator==(const RequestBody& a, std::string_view b) {
    return a.view() == b;
  }
  friend std::ostream& operator<<(std::ostream& os, const RequestBody& b) {
    return os << b.view();
  }

 private:
  std::shared_ptr<const std::string> bytes_;  // null: empty
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_REQUEST_BODY_H_
