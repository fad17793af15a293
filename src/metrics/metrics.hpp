// The service's metrics, rendered in Prometheus's text format (0.0.4). Any room may feed them
// (the HTTP server per request, the store per commit, the handler per event) through these free
// functions: each thread counts into its own shard with plain relaxed stores, so the hot path
// takes no lock and shares no cache line; a scrape adds the shards up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tb::metrics {

// The label a request path goes by: one of the service's routes, or "other" (so that clients
// cannot grow the series without bound by asking for made-up paths).
std::string_view route_label(std::string_view path);

void observe_request(std::string_view method, std::string_view path, int status,
                     std::chrono::steady_clock::duration duration);
// A group commit: how many writes it carried and how long its COMMIT (the fsync) took.
void observe_commit(std::size_t batch_size, std::chrono::steady_clock::duration fsync);
// From a change's commit to the start of its event's handling. `committed_at` is the event's
// ISO-8601 UTC timestamp; one that does not read as such is not counted.
void observe_event_lag(std::chrono::system_clock::duration lag);
void observe_event_lag(std::string_view committed_at, std::chrono::system_clock::time_point now);

// The events in the outbox by status (pending, delivered, dead); nullopt when unknown.
using event_counts = std::function<std::optional<std::map<std::string, std::int64_t>>()>;

// The whole exposition. `events` is asked once per scrape.
std::string render(const event_counts& events);

inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace tb::metrics
