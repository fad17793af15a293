// The outbox's dispatcher: publishes recorded events at least once, in order per ticket,
// retrying with exponential backoff and parking an event as dead, with its reason, after the
// last try or at once when the publisher calls it malformed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
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
    tb::clock* clock = &system_time();  // the time retries are due by (stored as such)
  };
  outbox_dispatcher(sqlite_store& store, event_publisher& publisher, options opts);
  outbox_dispatcher(sqlite_store& store, event_publisher& publisher) : outbox_dispatcher(store, publisher, options{}) {}
  ~outbox_dispatcher();  // stops after the round in progress

  void start();  // a background thread that runs until destruction
  void wake();   // new events were committed
  // Publishes everything due now and waits for the outcomes; returns how many were published.
  std::size_t run_once();

 private:
  std::chrono::system_clock::time_point now() const { return opts_.clock->now(); }
  void loop();
  // Publishes what is due; returns how many it sent and lowers next_due to the next retry time.
  std::size_t round(std::chrono::system_clock::time_point& next_due);

  // Events from their dispatch until no round can still see them in their old state. While
  // publishing, an event holds back later events of its ticket; once published it waits for its
  // ack. After the ack (or the failure's retry time) is committed, a round that read the outbox
  // before that commit may still list the event as due: it stays here, done, until every round
  // started before the commit is over.
  struct flight {
    bool blocks = true;      // holds back later events of its ticket
    bool done = false;       // its new status is committed
    std::uint64_t seen_by = 0;  // done: the last round that may have read the old status
  };
  // rescan: the event may be pending again below the cursor (a retry, or its ack not written).
  void finished(std::int64_t seq, bool releases_ticket, bool rescan);
  void wait_for_acks();

  sqlite_store& store_;
  event_publisher& publisher_;
  std::mutex busy_mutex_;
  std::condition_variable busy_cv_;
  std::unordered_map<std::int64_t, flight> busy_;
  std::size_t in_flight_ = 0;  // entries of busy_ not yet done
  std::uint64_t rounds_ = 0;   // rounds started
  // A round reads pending events after a cursor: every pending event up to it has been
  // dispatched, so it is in flight or, once done, no longer pending. Without it each round
  // re-read (and copied) every event still waiting for its ack: half the bus's time under load.
  std::int64_t cursor_ = 0;
  std::int64_t rescan_from_ = 0;  // the next round reads after min(cursor_, this)
  options opts_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tb::sqlite
