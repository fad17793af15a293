#include "app/log.hpp"

#include <chrono>
#include <cstdio>

#include "core/json.hpp"
#include "core/ports.hpp"

namespace tb {

namespace {

thread_local std::string* held = nullptr;  // the lines of this thread's log_batch

void write_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

log_batch::log_batch() : outermost_(held == nullptr) {
  if (outermost_) held = new std::string;
}

log_batch::~log_batch() {
  if (!outermost_) return;
  std::string* lines = held;
  held = nullptr;
  if (!lines->empty()) write_out(*lines);
  delete lines;
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
  line += "}\n";
  if (held) held->append(line);
  else write_out(line);
}

}  // namespace tb
