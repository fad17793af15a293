#include "sqlite/outbox_dispatcher.hpp"

#include <pthread.h>

#include <algorithm>
#include <unordered_set>

#include "app/log.hpp"

namespace tb::sqlite {
namespace {

using sys_clock = std::chrono::system_clock;

std::int64_t to_ms(sys_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Waits for a known number of completions that may arrive on other threads.
class countdown {
 public:
  explicit countdown(std::size_t n) : left_(n) {}
  void arrive() {
    std::lock_guard lock(m_);
    if (--left_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return left_ == 0; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::size_t left_;
};

}  // namespace

outbox_dispatcher::outbox_dispatcher(sqlite_store& store, event_publisher& publisher, options opts)
    : store_(store), publisher_(publisher), opts_(opts) {}

outbox_dispatcher::~outbox_dispatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  wait_for_acks();  // their callbacks refer to this object
}

bool outbox_dispatcher::acking(std::int64_t seq) {
  std::lock_guard lock(acks_mutex_);
  return acking_.count(seq) != 0;
}

void outbox_dispatcher::ack_started(const std::vector<std::int64_t>& seqs) {
  std::lock_guard lock(acks_mutex_);
  acking_.insert(seqs.begin(), seqs.end());
}

void outbox_dispatcher::ack_finished(const std::vector<std::int64_t>& seqs) {
  wake();  // events behind these may be waiting for a place in the window
  std::lock_guard lock(acks_mutex_);
  for (auto seq : seqs) acking_.erase(seq);
  acks_cv_.notify_all();  // under the lock: the destructor may return as soon as it sees none left
}

void outbox_dispatcher::wait_for_acks() {
  std::unique_lock lock(acks_mutex_);
  acks_cv_.wait(lock, [&] { return acking_.empty(); });
}

void outbox_dispatcher::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tb-bus");
    loop();
  });
}

void outbox_dispatcher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_one();
}

std::size_t outbox_dispatcher::run_once() {
  std::size_t total = 0;
  for (;;) {
    sys_clock::time_point next_due;
    std::size_t n = round(next_due);
    total += n;
    if (n == 0) {
      wait_for_acks();
      return total;
    }
    wait_for_acks();  // a failed event's retry time must be on record before the next pass
  }
}

void outbox_dispatcher::loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    sys_clock::time_point next_due = sys_clock::now() + opts_.idle_poll;
    if (round(next_due) > 0) continue;  // there may be more behind this batch
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, std::min(next_due, sys_clock::now() + opts_.idle_poll),
                   [&] { return stopping_ || woken_; });
  }
}

std::size_t outbox_dispatcher::round(sys_clock::time_point& next_due) {
  auto pending = store_.pending_events(opts_.batch);
  if (!pending) {
    log_line("error", "outbox read failed", {{"reason", pending.err().message}});
    return 0;
  }
  const auto now = sys_clock::now();
  // Only the oldest pending event of each ticket is eligible: that keeps per-ticket order even
  // while an earlier event waits for a retry.
  std::unordered_set<std::string_view> seats;
  std::vector<const outbox_event*> due;
  for (const auto& e : *pending) {
    if (acking(e.seq)) continue;  // handled; its new status is on its way to disk
    if (!seats.insert(e.seat).second) continue;
    auto at = sys_clock::time_point(std::chrono::milliseconds(e.next_attempt_ms));
    if (at > now) {
      next_due = std::min(next_due, at);
      continue;
    }
    due.push_back(&e);
  }
  if (due.empty()) return 0;

  std::vector<std::optional<error>> failures(due.size());
  {
    countdown all(due.size());
    for (std::size_t i = 0; i < due.size(); ++i) {
      publisher_.publish(due[i]->body, due[i]->event_id, [&, i](result<void> r) {
        if (!r) failures[i] = r.err();
        all.arrive();
      });
    }
    all.wait();
  }

  std::vector<std::int64_t> delivered;
  for (std::size_t i = 0; i < due.size(); ++i)
    if (!failures[i]) delivered.push_back(due[i]->seq);
  ack_started(delivered);
  store_.mark_delivered(delivered, [this, delivered](result<void> r) {
    if (!r) log_line("error", "outbox update failed", {{"reason", r.err().message}});
    ack_finished(delivered);
  });
  for (std::size_t i = 0; i < due.size(); ++i) {
    if (!failures[i]) continue;
    const outbox_event& e = *due[i];
    const std::int64_t attempts = e.attempts + 1;
    const bool dead = failures[i]->code == errc::bad_request || attempts >= opts_.max_attempts;
    auto backoff = std::min<std::chrono::milliseconds>(opts_.max_backoff,
                                                       opts_.first_backoff * (1LL << std::min<std::int64_t>(attempts - 1, 20)));
    log_line(dead ? "error" : "warn", dead ? "event parked as dead" : "event delivery failed, will retry",
             {{"eventId", e.event_id}, {"attempts", std::to_string(attempts)}, {"reason", failures[i]->message}});
    std::vector<std::int64_t> seq{e.seq};
    ack_started(seq);
    store_.mark_failed(e.seq, attempts, to_ms(now + backoff), dead, failures[i]->message,
                       [this, seq](result<void> r) {
                         if (!r) log_line("error", "outbox update failed", {{"reason", r.err().message}});
                         ack_finished(seq);
                       });
  }
  return due.size();
}

}  // namespace tb::sqlite
