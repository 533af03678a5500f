// NOTE: the project rule "only delivery/curl_sender.cc and curl_easy
// include curl" is about product code. This file is a benchmark ceiling
// (bench/, never linked into webhookd): it uses libcurl directly on
// purpose, to measure what a bare libcurl loop achieves next to the
// product's CurlSender.
#include "bench/curl_ceiling.h"

#include <curl/curl.h>

#include <algorithm>

#include "common/strings.h"

namespace webhooks::bench {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

CurlLoopResult RunCurlLoop(const CurlLoopOptions& options,
                           const std::atomic<bool>& stop) {
  CurlLoopResult result;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  const int n = std::max(1, options.concurrency);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(n));
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(n));
  curl_slist* headers = nullptr;
  for (const std::string& h : options.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  // As the product does: no Expect, no Accept.
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, "Accept:");
  std::vector<CURL*> easies;
  for (int i = 0; i < n; ++i) {
    CURL* easy = curl_easy_init();
    const std::string& url =
        options.urls[static_cast<size_t>(i) % options.urls.size()];
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(options.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, options.body.data());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    }
    curl_multi_add_handle(multi, easy);
    easies.push_back(easy);
  }
  while (!stop.load(std::memory_order_relaxed)) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    bool any = false;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* easy = m->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result == CURLE_OK && status >= 200 && status < 300) {
        ++result.succeeded;
      } else {
        if (result.failed++ == 0) {
          result.first_error = StrCat(curl_easy_strerror(m->data.result),
                                      ", status ", status);
        }
      }
      // Re-adding restarts the same transfer on a kept-alive connection.
      curl_multi_remove_handle(multi, easy);
      curl_multi_add_handle(multi, easy);
      any = true;
    }
    if (!any) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (CURL* easy : easies) {
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  return result;
}

}  // namespace webhooks::bench
