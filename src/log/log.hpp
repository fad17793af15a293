// Structured logs: one JSON object per line on stderr, written whole so threads never interleave.
// The ground floor: any room may log (adapters, the app, the command line) without depending on
// the app; it needs only the core's JSON quoting and time format.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb {

using log_fields = std::vector<std::pair<std::string, std::string>>;

void log_line(std::string_view level, std::string_view message, const log_fields& fields = {});

// While one lives, the lines its thread logs are held and written together when it ends: one
// write for a group commit's outcomes instead of one per line. Nests.
class log_batch {
 public:
  log_batch();
  ~log_batch();
  log_batch(const log_batch&) = delete;
  log_batch& operator=(const log_batch&) = delete;

 private:
  bool outermost_;
};

}  // namespace tb
