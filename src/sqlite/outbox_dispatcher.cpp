#include "sqlite/outbox_dispatcher.hpp"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "log/log.hpp"

namespace tb::sqlite {
namespace {

using sys_clock = std::chrono::system_clock;

std::int64_t to_ms(sys_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

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

// releases_ticket: delivered, or dead; false for a failure that waits for its retry.
void outbox_dispatcher::finished(std::int64_t seq, bool releases_ticket, bool rescan) {
  wake();  // its ticket's next event, or events behind it in the window, may go now
  std::lock_guard lock(busy_mutex_);
  if (rescan) rescan_from_ = std::min(rescan_from_, seq - 1);
  flight& f = busy_[seq];
  f.done = true;
  f.blocks = !releases_ticket;  // an event waiting for its retry holds its ticket's later ones
  f.seen_by = rounds_;
  --in_flight_;
  busy_cv_.notify_all();  // under the lock: the destructor may return as soon as it sees none left
}

void outbox_dispatcher::wait_for_acks() {
  std::unique_lock lock(busy_mutex_);
  busy_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

std::size_t outbox_dispatcher::run_once() {
  std::size_t total = 0;
  for (;;) {
    sys_clock::time_point next_due;
    std::size_t n = round(next_due);
    total += n;
    wait_for_acks();  // delivered, or a failed event's retry time on record, before the next pass
    if (n == 0) return total;
  }
}

void outbox_dispatcher::loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    sys_clock::time_point next_due = now() + opts_.idle_poll;
    if (round(next_due) > 0) continue;  // there may be more behind this batch
    std::unique_lock lock(mutex_);
    // next_due is a wall-clock time (retries are stored as such); the wait itself is measured
    // on the steady clock, so a clock step neither stalls nor hurries the bus.
    const auto wait = std::clamp<sys_clock::duration>(next_due - now(), sys_clock::duration::zero(),
                                                      opts_.idle_poll);
    if (!cv_.wait_for(lock, wait, [&] { return stopping_ || woken_; })) {
      std::lock_guard busy(busy_mutex_);
      rescan_from_ = 0;  // nothing new for a while, or a retry is due: read the whole outbox
    }
  }
}

std::size_t outbox_dispatcher::round(sys_clock::time_point& next_due) {
  std::uint64_t round_id = 0;
  std::int64_t from = 0;
  {
    std::lock_guard lock(busy_mutex_);
    round_id = ++rounds_;
    from = std::min(cursor_, rescan_from_);
    rescan_from_ = std::numeric_limits<std::int64_t>::max();
  }
  auto pending = store_.pending_events(opts_.batch, from);
  if (!pending) {
    log_line("error", "outbox read failed", {{"reason", pending.err().message}});
    std::lock_guard lock(busy_mutex_);
    rescan_from_ = std::min(rescan_from_, from);
    return 0;
  }
  const auto now = this->now();
  // Only the oldest pending event of each ticket is eligible, and not while an earlier one of
  // that ticket is still being published or waits for a retry: that keeps per-ticket order.
  std::unordered_set<std::string_view> seats;
  std::vector<outbox_event> due;
  {
    std::lock_guard lock(busy_mutex_);
    // What was done before this round began is in this round's read as it is now.
    std::erase_if(busy_, [&](const auto& kv) { return kv.second.done && kv.second.seen_by < round_id; });
    // The cursor moves over dispatched events up to the first one left behind.
    std::int64_t reached = from;
    bool behind = false;
    for (const auto& e : *pending) {
      if (auto it = busy_.find(e.seq); it != busy_.end()) {
        if (it->second.blocks) seats.insert(e.seat);
        if (!behind) reached = e.seq;
        continue;
      }
      if (!seats.insert(e.seat).second) {
        behind = true;
        continue;
      }
      auto at = sys_clock::time_point(std::chrono::milliseconds(e.next_attempt_ms));
      if (at > now) {
        next_due = std::min(next_due, at);
        behind = true;
        continue;
      }
      due.push_back(e);
      busy_[e.seq] = flight{};
      ++in_flight_;
      if (!behind) reached = e.seq;
    }
    cursor_ = reached;
  }
  // No barrier: each event goes on as soon as its own publish completes.
  for (auto& e : due) {
    publisher_.publish(e.body, e.event_id, [this, seq = e.seq, id = e.event_id, attempts = e.attempts + 1,
                                            at = now](result<void> r) {
      if (r) {
        {
          std::lock_guard lock(busy_mutex_);
          busy_[seq].blocks = false;  // handled: later events of its ticket need not wait for the ack
        }
        wake();
        return store_.mark_delivered({seq}, [this, seq](result<void> w) {
          if (!w) log_line("error", "outbox update failed", {{"reason", w.err().message}});
          finished(seq, true, !w);
        });
      }
      const bool dead = r.err().code == errc::bad_request || attempts >= opts_.max_attempts;
      auto backoff = std::min<std::chrono::milliseconds>(
          opts_.max_backoff, opts_.first_backoff * (1LL << std::min<std::int64_t>(attempts - 1, 20)));
      log_line(dead ? "error" : "warn", dead ? "event parked as dead" : "event delivery failed, will retry",
               {{"eventId", id}, {"attempts", std::to_string(attempts)}, {"reason", r.err().message}});
      store_.mark_failed(seq, attempts, to_ms(at + backoff), dead, r.err().message, [this, seq, dead](result<void> w) {
        if (!w) log_line("error", "outbox update failed", {{"reason", w.err().message}});
        finished(seq, dead, !dead || !w);
      });
    });
  }
  return due.size();
}

}  // namespace tb::sqlite
