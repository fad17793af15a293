// The HTTP transport: Beast sessions that only do I/O and hand each request to the router.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/router.hpp"

namespace tb::http {

struct server_limits {
  std::size_t header_bytes = 16 * 1024;
  std::chrono::seconds idle_timeout{60};     // keep-alive connection with no request
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
};

// Serves until SIGINT or SIGTERM, then finishes in-flight requests and returns.
// `on_listening` gets the bound port once connections are accepted.
void serve(router& r, const server_options& opts, const std::function<void(std::uint16_t)>& on_listening);

}  // namespace tb::http
