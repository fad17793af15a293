// The outbox's dispatcher: publishes recorded events at least once, in order per ticket,
// retrying with exponential backoff and parking an event as dead, with its reason, after the
// last try or at once when the publisher calls it malformed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "sqlite/sqlite_store.hpp"

namespace tb::sqlite {

class outbox_dispatcher {
 public:
  struct options {
    std::size_t batch = 512;                     // events considered per round
    int max_attempts = 8;
    std::chrono::milliseconds first_backoff{100};  // doubles per attempt
    std::chrono::milliseconds max_backoff{60'000};
    std::chrono::milliseconds idle_poll{1'000};    // re-check even when nobody wakes us
  };
  outbox_dispatcher(sqlite_store& store, event_publisher& publisher, options opts);
  outbox_dispatcher(sqlite_store& store, event_publisher& publisher) : outbox_dispatcher(store, publisher, options{}) {}
  ~outbox_dispatcher();  // stops after the round in progress

  void start();  // a background thread that runs until destruction
  void wake();   // new events were committed
  // One pass over everything due now, on the caller's thread; returns how many were delivered.
  std::size_t run_once();

 private:
  void loop();
  // Returns the events delivered this round and the time the next not-yet-due event is due.
  std::size_t round(std::chrono::system_clock::time_point& next_due);

  // Delivered or failed events whose new status is not committed yet: the next round skips them
  // instead of waiting for that commit.
  bool acking(std::int64_t seq);
  void ack_started(const std::vector<std::int64_t>& seqs);
  void ack_finished(const std::vector<std::int64_t>& seqs);
  void wait_for_acks();

  sqlite_store& store_;
  event_publisher& publisher_;
  std::mutex acks_mutex_;
  std::condition_variable acks_cv_;
  std::unordered_set<std::int64_t> acking_;
  options opts_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tb::sqlite
