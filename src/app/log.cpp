#include "app/log.hpp"

#include <chrono>
#include <cstdio>

#include "core/json.hpp"
#include "core/ports.hpp"

namespace tb {

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
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tb
