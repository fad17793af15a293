// The HTTP transport: Beast sessions that only do I/O and hand each request to the router.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/router.hpp"
#include "http/api_keys.hpp"
#include "metrics/metrics.hpp"

namespace tb::http {

struct server_limits {
  std::size_t header_bytes = 16 * 1024;
  // A new connection's first byte, and any request's whole header once its first byte is in:
  // a client that connects and says nothing holds a connection this long at most.
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};     // keep-alive connection with no request
  // At the cap, the connection silent the longest (waiting for a request's first byte) is closed
  // to make room; a new one is refused only when every connection is busy with a request.
  std::size_t max_connections = 10'000;
  std::chrono::seconds drain_timeout{10};    // in-flight requests at shutdown get this long
  std::chrono::seconds linger_timeout{5};    // reading what a refused client still sends
};

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 0;  // 0: one per core
  server_limits limits;
  // Answers a request before the router when it returns one (serve's pages, src/web).
  std::function<std::optional<api_response>(const api_request&)> pages;
  // With keys, the writes, the event log and (unless metrics_public) the metrics need one of
  // them in X-Api-Key; SIGHUP reads the file again. Without, a non-loopback address is refused
  // unless allow_anonymous_writes says so.
  std::shared_ptr<api_keys> keys;
  bool allow_anonymous_writes = false;
  bool metrics_public = false;
  // Host names a loopback-bound server answers to besides its address and localhost.
  std::vector<std::string> allowed_hosts;
  bool log_requests = true;  // one JSON line per request
  metrics::event_counts event_counts;  // for GET /metrics
};

// Serves until SIGINT or SIGTERM, then finishes in-flight requests and returns.
// `on_listening` gets the bound port once connections are accepted.
void serve(router& r, const server_options& opts, const std::function<void(std::uint16_t)>& on_listening);

}  // namespace tb::http
