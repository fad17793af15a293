#include "metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "metrics/process.hpp"

namespace tb::metrics {
namespace {

using counter = std::atomic<std::uint64_t>;

// Each shard has one writer (its thread), so a load and a store add without a locked instruction;
// a scrape on another thread reads the atomics and may miss an increment in flight, never tear one.
void add(counter& c, std::uint64_t by = 1) { c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed); }
std::uint64_t get(const counter& c) { return c.load(std::memory_order_relaxed); }

// Label values: fixed lists, so every series is known in advance and the arrays are flat.
constexpr std::array<std::string_view, 7> methods{"GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS", "other"};
// The console's pages ("/", "/docs", "/openapi.json") are listed so that they count once merged.
constexpr std::array<std::string_view, 10> routes{"/movies", "/ticket", "/tickets", "/events", "/health",
                                                  "/metrics", "/", "/docs", "/openapi.json", "other"};
constexpr std::array<int, 17> statuses{100, 200, 201, 204, 400, 401, 403, 404, 405,
                                       408, 409, 413, 421, 431, 500, 503, 0};  // 0: any other

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& list, std::string_view v) {
  for (std::size_t i = 0; i + 1 < N; ++i)
    if (list[i] == v) return i;
  return N - 1;
}

std::size_t status_index(int status) {
  for (std::size_t i = 0; i + 1 < statuses.size(); ++i)
    if (statuses[i] == status) return i;
  return statuses.size() - 1;
}

// Bucket bounds, in the unit observed (nanoseconds, or a plain count).
constexpr std::array<std::uint64_t, 16> latency_bounds_ns{
    100'000,     250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
    10'000'000,  25'000'000,  50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
constexpr std::array<std::uint64_t, 11> batch_bounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
constexpr std::array<std::uint64_t, 12> lag_bounds_ns{
    1'000'000,       5'000'000,      10'000'000,      50'000'000,       100'000'000,       500'000'000,
    1'000'000'000,   5'000'000'000,  10'000'000'000,  30'000'000'000,   60'000'000'000,    300'000'000'000};

template <std::size_t N>
struct histogram {
  std::array<counter, N + 1> buckets{};  // the last one: above every bound
  counter sum{0};

  void observe(const std::array<std::uint64_t, N>& bounds, std::uint64_t v) {
    std::size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    add(buckets[i]);
    add(sum, v);
  }
};

struct shard {
  std::array<std::array<std::array<counter, statuses.size()>, routes.size()>, methods.size()> requests{};
  std::array<histogram<latency_bounds_ns.size()>, routes.size()> duration{};
  histogram<batch_bounds.size()> batch{};
  histogram<latency_bounds_ns.size()> fsync{};
  histogram<lag_bounds_ns.size()> lag{};
};

// Shards outlive their threads: a thread's counts stay in the totals after it ends.
struct registry {
  std::mutex mutex;  // taken once per thread, at its first observation, and per scrape
  std::vector<std::unique_ptr<shard>> shards;
};

registry& the_registry() {
  static registry r;
  return r;
}

shard& my_shard() {
  thread_local shard* mine = [] {
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    r.shards.push_back(std::make_unique<shard>());
    return r.shards.back().get();
  }();
  return *mine;
}

std::uint64_t nanoseconds(std::chrono::nanoseconds d) { return d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()); }

// The text format's numbers: integers as they are, seconds as the shortest exact decimal.
void append_number(std::string& out, double v) {
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}
void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// One histogram's series; `labels` is empty or `name="value",`. `scale` turns the observed unit
// into the exposed one (1e-9 for nanoseconds to seconds).
template <std::size_t N>
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const std::array<std::uint64_t, N>& bounds, const std::array<std::uint64_t, N + 1>& counts,
                      std::uint64_t sum, double scale) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += counts[i];
    out.append(name).append("_bucket{").append(labels).append("le=\"");
    if (i < N) append_number(out, static_cast<double>(bounds[i]) * scale);
    else out += "+Inf";
    out += "\"} ";
    append_number(out, cumulative);
    out += '\n';
  }
  auto series = [&](std::string_view suffix) {
    out.append(name).append(suffix);
    if (!labels.empty()) out.append("{").append(labels.substr(0, labels.size() - 1)).append("}");
    out += ' ';
  };
  series("_sum");
  if (scale == 1.0) append_number(out, sum);
  else append_number(out, static_cast<double>(sum) * scale);
  out += '\n';
  series("_count");
  append_number(out, cumulative);
  out += '\n';
}

// The shards' histogram `pick` added up.
template <std::size_t N, class Pick>
std::pair<std::array<std::uint64_t, N + 1>, std::uint64_t> total(const std::vector<std::unique_ptr<shard>>& shards,
                                                                 Pick pick) {
  std::array<std::uint64_t, N + 1> counts{};
  std::uint64_t sum = 0;
  for (const auto& s : shards) {
    const histogram<N>& h = pick(*s);
    for (std::size_t i = 0; i <= N; ++i) counts[i] += get(h.buckets[i]);
    sum += get(h.sum);
  }
  return {counts, sum};
}

}  // namespace

std::string_view route_label(std::string_view path) { return routes[index_of(routes, path)]; }

void observe_request(std::string_view method, std::string_view path, int status,
                     std::chrono::steady_clock::duration duration) {
  shard& s = my_shard();
  const std::size_t route = index_of(routes, path);
  add(s.requests[index_of(methods, method)][route][status_index(status)]);
  s.duration[route].observe(latency_bounds_ns, nanoseconds(duration));
}

void observe_commit(std::size_t batch_size, std::chrono::steady_clock::duration fsync) {
  shard& s = my_shard();
  s.batch.observe(batch_bounds, batch_size);
  s.fsync.observe(latency_bounds_ns, nanoseconds(fsync));
}

void observe_event_lag(std::chrono::system_clock::duration lag) {
  my_shard().lag.observe(lag_bounds_ns, nanoseconds(lag));
}

void observe_event_lag(std::string_view committed_at, std::chrono::system_clock::time_point now) {
  // "2026-11-28T02:09:22.123Z": the fraction is optional, the zone must be UTC.
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  const std::string text(committed_at.substr(0, 40));
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) return;
  std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(consumed));
  std::chrono::nanoseconds fraction{0};
  if (rest.starts_with('.')) {
    std::int64_t scale = 100'000'000;
    std::size_t i = 1;
    for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i, scale /= 10)
      fraction += std::chrono::nanoseconds((rest[i] - '0') * scale);
    rest.remove_prefix(i);
  }
  if (rest != "Z") return;
  using namespace std::chrono;
  const sys_days date = year{y} / month{static_cast<unsigned>(mo)} / std::chrono::day{static_cast<unsigned>(d)};
  const auto at = date + hours{h} + minutes{mi} + seconds{s} + fraction;
  observe_event_lag(now - time_point_cast<system_clock::duration>(at));
}

std::string render(const event_counts& events) {
  std::string out;
  out.reserve(16 * 1024);
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);  // the shard list only; the counters are read as they run

  head(out, "ticket_booking_http_requests_total", "counter", "HTTP requests answered, by method, route and status.");
  for (std::size_t m = 0; m < methods.size(); ++m)
    for (std::size_t rt = 0; rt < routes.size(); ++rt)
      for (std::size_t st = 0; st < statuses.size(); ++st) {
        std::uint64_t n = 0;
        for (const auto& s : r.shards) n += get(s->requests[m][rt][st]);
        if (!n) continue;  // series appear once they count something
        out.append("ticket_booking_http_requests_total{method=\"").append(methods[m]);
        out.append("\",route=\"").append(routes[rt]).append("\",status=\"");
        if (statuses[st]) append_number(out, static_cast<std::uint64_t>(statuses[st]));
        else out += "other";
        out += "\"} ";
        append_number(out, n);
        out += '\n';
      }

  head(out, "ticket_booking_http_request_duration_seconds", "histogram",
       "Time from a request's complete header to its response being handed to the socket, by route.");
  for (std::size_t rt = 0; rt < routes.size(); ++rt) {
    auto [counts, sum] = total<latency_bounds_ns.size()>(r.shards, [rt](const shard& s) -> const auto& { return s.duration[rt]; });
    std::uint64_t n = 0;
    for (auto c : counts) n += c;
    if (!n) continue;
    std::string labels = "route=\"";
    labels.append(routes[rt]).append("\",");
    append_histogram(out, "ticket_booking_http_request_duration_seconds", labels, latency_bounds_ns, counts, sum, 1e-9);
  }

  head(out, "ticket_booking_store_commit_batch_size", "histogram", "Writes carried by each group commit of the store.");
  {
    auto [counts, sum] = total<batch_bounds.size()>(r.shards, [](const shard& s) -> const auto& { return s.batch; });
    append_histogram(out, "ticket_booking_store_commit_batch_size", "", batch_bounds, counts, sum, 1.0);
  }
  head(out, "ticket_booking_store_fsync_seconds", "histogram", "Time of each group commit's COMMIT, its fsync included.");
  {
    auto [counts, sum] = total<latency_bounds_ns.size()>(r.shards, [](const shard& s) -> const auto& { return s.fsync; });
    append_histogram(out, "ticket_booking_store_fsync_seconds", "", latency_bounds_ns, counts, sum, 1e-9);
  }
  head(out, "ticket_booking_event_handling_lag_seconds", "histogram",
       "Time from a price change's commit to the start of its event's handling.");
  {
    auto [counts, sum] = total<lag_bounds_ns.size()>(r.shards, [](const shard& s) -> const auto& { return s.lag; });
    append_histogram(out, "ticket_booking_event_handling_lag_seconds", "", lag_bounds_ns, counts, sum, 1e-9);
  }

  if (auto counts = events ? events() : std::nullopt) {
    head(out, "ticket_booking_events", "gauge", "Events in the outbox, by status.");
    for (std::string_view status : {"pending", "delivered", "dead"}) {
      auto it = counts->find(std::string(status));
      out.append("ticket_booking_events{status=\"").append(status).append("\"} ");
      append_number(out, static_cast<std::uint64_t>(it == counts->end() ? 0 : it->second));
      out += '\n';
    }
  }

  append_process_metrics(out);
  return out;
}

}  // namespace tb::metrics
