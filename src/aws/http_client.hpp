// A blocking HTTPS client for the AWS APIs, over libcurl. Connections are kept and reused.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace tb::aws {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method = "POST";
  std::string url;  // absolute: scheme, host, optional port, path, optional query
  header_list headers;
  std::string body;
  // The call's own deadline (an invocation's budget): the attempt ends by then whatever its
  // timeout, and one that starts after it fails at once.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct http_response {
  int status = 0;
  header_list headers;  // names lower-cased
  std::string body;
  // curl sent the request more than once: when a kept connection dies with no answer, curl sends
  // it again on a new one by itself, so a request that changes something may have landed twice.
  bool resent = false;

  // The first header of that (lower-case) name; empty when absent.
  std::string_view header(std::string_view name) const;
};

struct http_limits {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{10000};
  std::size_t max_response_bytes = 16 * 1024 * 1024;
};

class http_client {
 public:
  // ca_bundle: the file of CA certificates that verify HTTPS peers; empty: libcurl's default.
  explicit http_client(http_limits limits = {}, std::string ca_bundle = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Any status is a response; only a transport failure (refused, timed out, too big) is an error,
  // with code unavailable and curl's reason. Safe to call from several threads at once.
  result<http_response> send(const http_request& req);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tb::aws
