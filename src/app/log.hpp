// Structured logs: one JSON object per line on stderr, written whole so threads never interleave.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb {

using log_fields = std::vector<std::pair<std::string, std::string>>;

void log_line(std::string_view level, std::string_view message, const log_fields& fields = {});

}  // namespace tb
