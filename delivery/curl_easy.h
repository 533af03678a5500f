// One transfer's libcurl side, for curl_sender.cc: the Transfer an easy
// handle carries, the options set once per handle and once per transfer,
// and the result read back when it ends. With curl_sender.cc the only
// files that include curl.
#ifndef WEBHOOKS_DELIVERY_CURL_EASY_H_
#define WEBHOOKS_DELIVERY_CURL_EASY_H_

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/http_sender.h"
#include "delivery/curl_sender.h"
#include "delivery/transfer.h"

namespace webhooks::delivery {

// One request on the wire: its state (transfer.h) and its easy handle.
struct Transfer : TransferState {
  using TransferState::TransferState;

  CURL* easy = nullptr;
  // The list curl reads over header_text's lines (curl never changes or
  // frees it): one block, where curl_slist_append would allocate two per
  // line.
  std::vector<curl_slist> headers;
  curl_slist* connect_to = nullptr;
  std::shared_ptr<CURLU> url;  // parsed once per URL (UrlCache)
  char error[CURL_ERROR_SIZE] = {};
};

// Parsed URLs by normalized URL, at most `capacity` (all dropped when
// full; transfers keep theirs alive). Not thread-safe.
class UrlCache {
 public:
  explicit UrlCache(size_t capacity = 4096) : capacity_(capacity) {}
  // Null when curl refuses the URL.
  std::shared_ptr<CURLU> Get(const std::string& url);

 private:
  const size_t capacity_;
  absl::flat_hash_map<std::string, std::shared_ptr<CURLU>> urls_;
};

// Sets the options every transfer shares, once per easy handle (curl keeps
// options between transfers).
CURLcode ConfigureHandle(CURL* easy, const CurlSenderOptions& options);

// Sets every option of this transfer on t->easy (configured by
// ConfigureHandle), all of them each time: the handle keeps the previous
// transfer's values. t->proxied must be set.
CURLcode ConfigureTransfer(Transfer* t, const CurlSenderOptions& options,
                           const ProxyEndpoint& proxy, UrlCache& urls);

// The result of the transfer on t->easy that ended with `code`.
core::HttpResult ResultOf(Transfer* t, CURLcode code,
                          const ProxyEndpoint& proxy);

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_CURL_EASY_H_
