// The outbox: events recorded with the writes that cause them, and the local bus's queries.
#include "sqlite/store_internals.hpp"

namespace tb::sqlite {

bool sqlite_store::dispatched(std::string_view event_type) const {
  for (const auto& t : opts_.dispatched_types)
    if (t == event_type) return true;
  return false;
}

void sqlite_store::on_event_recorded(std::function<void()> f) {
  std::lock_guard lock(queue_mutex_);
  on_event_recorded_ = std::move(f);
}

// `initiated_handled`: the write itself handled its PriceChangeInitiated, which no one else takes.
void sqlite_store::record(writer& w, const std::string& seat, const std::vector<recorded_event>& events,
                          bool initiated_handled) {
  for (const auto& e : events) {
    const bool pending = dispatched(e.event_type) && !(initiated_handled && e.event_type == price_change_initiated);
    w.record_event(e.event_id, e.event_type, seat, e.json, pending ? "pending" : "delivered");
  }
}

result<std::vector<logged_event>> sqlite_store::events_after(std::int64_t after, std::size_t limit) {
  return with_reader([&](reader& r) -> result<std::vector<logged_event>> {
    reset_guard g(r.events);
    r.events.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
    std::vector<logged_event> out;
    while (r.events.step())
      out.push_back({r.events.integer(0), std::string(r.events.text(1)), std::string(r.events.text(2)),
                     std::string(r.events.text(3))});
    return out;
  });
}

result<std::vector<outbox_event>> sqlite_store::pending_events(std::size_t limit, std::int64_t after) {
  return with_reader([&](reader& r) -> result<std::vector<outbox_event>> {
    reset_guard g(r.pending);
    r.pending.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
    std::vector<outbox_event> out;
    while (r.pending.step())
      out.push_back({r.pending.integer(0), std::string(r.pending.text(1)), std::string(r.pending.text(2)),
                     std::string(r.pending.text(3)), r.pending.integer(4), r.pending.integer(5)});
    return out;
  });
}

void sqlite_store::mark_delivered(std::vector<std::int64_t> seqs, completion<void> done) {
  submit<void>(
      [seqs = std::move(seqs)](writer& w) -> result<void> {
        for (auto seq : seqs) {
          reset_guard g(w.delivered);
          w.delivered.bind(1, seq);
          w.delivered.step();
        }
        return ok;
      },
      std::move(done));
}

void sqlite_store::mark_failed(std::int64_t seq, std::int64_t attempts, std::int64_t next_attempt_ms,
                               bool dead, std::string reason, completion<void> done) {
  submit<void>(
      [=, reason = std::move(reason)](writer& w) -> result<void> {
        reset_guard g(w.failed);
        w.failed.bind(1, dead ? "dead" : "pending").bind(2, attempts).bind(3, next_attempt_ms);
        w.failed.bind(4, reason).bind(5, seq);
        w.failed.step();
        return ok;
      },
      std::move(done));
}

}  // namespace tb::sqlite
