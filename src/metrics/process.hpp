// The process metrics every Prometheus client library exports (process_*), read from /proc.
#pragma once

#include <string>

namespace tb::metrics {

// Appends process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds; a value that cannot be read
// is left out rather than reported wrong.
void append_process_metrics(std::string& out);

}  // namespace tb::metrics
