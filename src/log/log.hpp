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

// While one lives, the lines its thread logs carry "requestId": the request being handled. Nests.
class request_scope {
 public:
  explicit request_scope(std::string_view request_id);
  ~request_scope();
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

 private:
  std::string_view previous_;
};

// The request this thread is handling (the innermost request_scope's), or empty: for work that
// another thread finishes to carry it there.
std::string_view current_request_id();

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
