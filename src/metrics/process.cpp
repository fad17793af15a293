#include "metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace tb::metrics {
namespace {

void gauge(std::string& out, std::string_view name, std::string_view type, std::string_view help, double v) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  char buf[32];
  out.append(name).append(" ").append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr).append("\n");
}

std::string read_all(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses):
// fields[0] is the state (field 3 in proc(5)).
std::vector<std::string> stat_fields() {
  const std::string stat = read_all("/proc/self/stat");
  const auto close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(stat.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// When the machine booted, in Unix seconds (btime in /proc/stat).
std::optional<double> boot_time() {
  std::istringstream in(read_all("/proc/stat"));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("btime ")) return std::stod(line.substr(6));
  return std::nullopt;
}

}  // namespace

void append_process_metrics(std::string& out) {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
  }
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::istringstream statm(read_all("/proc/self/statm"));
  std::uint64_t size = 0, resident = 0;
  if (statm >> size >> resident) {
    gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", static_cast<double>(size) * page);
    gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
          static_cast<double>(resident) * page);
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur));
  // starttime is field 22 of proc(5): clock ticks after boot.
  const auto fields = stat_fields();
  const auto boot = boot_time();
  if (fields.size() > 19 && boot) {
    const double ticks = std::stod(fields[19]);
    gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
          *boot + ticks / static_cast<double>(sysconf(_SC_CLK_TCK)));
  }
}

}  // namespace tb::metrics
