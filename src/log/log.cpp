#include "log/log.hpp"

#include <chrono>
#include <cstdio>

#include "core/json.hpp"
#include "core/ports.hpp"

namespace tb {

namespace {

thread_local bool holding = false;  // a log_batch of this thread is alive
thread_local std::string held;      // and these are the lines it holds
thread_local std::string_view request_id_in_scope;  // of the request_scope alive, if any

void write_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

request_scope::request_scope(std::string_view request_id) : previous_(request_id_in_scope) {
  request_id_in_scope = request_id;
}

request_scope::~request_scope() { request_id_in_scope = previous_; }

std::string_view current_request_id() { return request_id_in_scope; }

log_batch::log_batch() : outermost_(!holding) { holding = true; }

log_batch::~log_batch() {
  if (!outermost_) return;
  holding = false;
  if (held.empty()) return;
  write_out(held);
  held.clear();
}

void log_line(std::string_view level, std::string_view message, const log_fields& fields) {
  std::string line = "{\"time\":\"" + iso8601(std::chrono::system_clock::now()) + "\",\"level\":";
  json::append_quoted(line, level);
  line += ",\"msg\":";
  json::append_quoted(line, message);
  for (const auto& [k, v] : fields) {
    line += ',';
    json::append_quoted(line, k);
    line += ':';
    json::append_quoted(line, v);
  }
  if (!request_id_in_scope.empty()) {
    line += ",\"requestId\":";
    json::append_quoted(line, request_id_in_scope);
  }
  line += "}\n";
  if (holding) held += line;
  else write_out(line);
}

}  // namespace tb
