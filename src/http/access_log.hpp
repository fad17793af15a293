// One JSON line per answered request on stderr, as every other log line, but built by hand: it
// is written for every request, and log_line's general quoting and time formatting cost more
// than the rest of a GET together.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace tb::http {

struct request_record {
  std::string_view method;      // an HTTP token (Beast checked it): nothing to escape
  std::string_view route;       // one of the metrics' route labels
  int status = 0;
  std::chrono::steady_clock::duration duration{};
  std::size_t bytes = 0;        // of the body sent
  std::string_view request_id;  // sane (see request_id_of) or made here: nothing to escape
  std::string_view remote;      // address:port
};

void log_request(const request_record& r);

}  // namespace tb::http
