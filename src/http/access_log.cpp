#include "http/access_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <string>

namespace tb::http {
namespace {

// "2026-11-28T16:05:16.357Z", as log_line writes it; the part up to the seconds is formatted once
// a second per thread.
void append_time(std::string& out) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32];
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const auto second = static_cast<std::time_t>(ms / 1000);
  if (second != cached_second) {
    std::tm utc{};
    gmtime_r(&second, &utc);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = second;
  }
  out += cached;
  const int milli = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + milli / 100);
  out += static_cast<char>('0' + milli / 10 % 10);
  out += static_cast<char>('0' + milli % 10);
  out += 'Z';
}

void append_number(std::string& out, std::size_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

void log_request(const request_record& r) {
  std::string line;
  line.reserve(320);
  line += "{\"time\":\"";
  append_time(line);
  line += "\",\"level\":\"info\",\"msg\":\"request\",\"method\":\"";
  line += r.method;
  line += "\",\"route\":\"";
  line += r.route;
  line += "\",\"status\":\"";
  append_number(line, static_cast<std::size_t>(r.status));
  line += "\",\"durationMs\":\"";
  // Milliseconds with three decimals, from whole microseconds (no floating point to format).
  const auto micros = static_cast<std::size_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count()));
  append_number(line, micros / 1000);
  line += '.';
  line += static_cast<char>('0' + micros / 100 % 10);
  line += static_cast<char>('0' + micros / 10 % 10);
  line += static_cast<char>('0' + micros % 10);
  line += "\",\"bytes\":\"";
  append_number(line, r.bytes);
  line += "\",\"requestId\":\"";
  line += r.request_id;
  line += "\",\"remote\":\"";
  line += r.remote;
  line += "\"}\n";
  // One write of the whole line: lines of other threads never interleave with it.
  for (std::string_view rest = line; !rest.empty();) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;  // a log that cannot be written must not stop the answer
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace tb::http
