// A function run's time budget: the instant by which everything it does must be over. On Lambda it
// comes from the Runtime API's Lambda-Runtime-Deadline-Ms; elsewhere there is none. Each call to
// a remote service takes its own per-attempt timeout, cut to what remains of the budget
// (attempt_timeout), so that retries never run past the point where Lambda kills the process.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace tb {

struct deadline {
  // steady_clock: a step of the wall clock (NTP) must not stretch or cut the budget.
  using clock = std::chrono::steady_clock;
  clock::time_point at = clock::time_point::max();  // max: unbounded (serve, invoke)

  bool bounded() const { return at != clock::time_point::max(); }
  bool passed(clock::time_point now) const { return now >= at; }

  // What is left of the budget at `now`, never negative; unbounded: milliseconds::max().
  std::chrono::milliseconds remaining(clock::time_point now) const {
    if (!bounded()) return std::chrono::milliseconds::max();
    if (passed(now)) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  }

  // One attempt's timeout: its own limit, never past the deadline; 0 once the deadline has passed
  // (the caller then fails the call rather than starting it).
  std::chrono::milliseconds attempt_timeout(std::chrono::milliseconds limit, clock::time_point now) const {
    return std::min(limit, remaining(now));
  }

  // The Runtime API gives the deadline as Unix epoch milliseconds: it becomes the steady instant
  // as far from `steady_now` as the epoch instant is from `system_now` (both read together).
  static deadline from_epoch_ms(std::int64_t epoch_ms, std::chrono::system_clock::time_point system_now,
                                clock::time_point steady_now) {
    const auto left = std::chrono::system_clock::time_point(std::chrono::milliseconds(epoch_ms)) - system_now;
    return {steady_now + std::chrono::duration_cast<clock::duration>(left)};
  }
};

}  // namespace tb
