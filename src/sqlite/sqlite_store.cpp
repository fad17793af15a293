// The store's ticket writes: each is one operation of the writer's batch, what it writes
// decided by the core (change_price, decide_price_change).
#include "metrics/metrics.hpp"
#include "sqlite/store_internals.hpp"

namespace tb::sqlite {

json::object parse_item(std::string_view text) {
  auto parsed = json::parse(text);
  if (auto* v = std::get_if<json::value>(&parsed))
    if (auto* o = v->if_object()) return std::move(*o);
  throw sqlite_error(SQLITE_CORRUPT, "stored item is not a JSON object");
}

std::optional<std::string> movie_of(const json::object& item) {
  const json::value* m = item.find(movie_key);
  const std::string* s = m ? m->if_string() : nullptr;
  if (!s || s->empty()) return std::nullopt;
  return *s;
}

void sqlite_store::create(json::object item, completion<void> done) {
  submit<void>(
      [item = std::move(item)](writer& w) -> result<void> {
        reset_guard g(w.insert_ticket);
        auto text = std::make_shared<const std::string>(json::serialize(item));
        w.insert_ticket.bind(1, seat_of(item)).bind(2, *text);
        w.bind_movie(w.insert_ticket, 3, item);
        w.insert_ticket.step();
        if (w.db.changes() == 0) return error{errc::conflict, "Ticket already exists"};
        w.written.emplace_back(seat_of(item), std::move(text));
        w.count(movie_of(item));
        return ok;
      },
      std::move(done));
}

void sqlite_store::update(update_command cmd, completion<update_outcome> done) {
  if (cmd.update.is_price_change && opts_.handle_price_changes) {
    // The handling is logged as the bus's is, once it is committed (in the batch's log lines).
    done = [done = std::move(done), id = cmd.event_id](result<update_outcome> r) {
      if (r) {
        // Handled in the change's own commit: no lag, but counted like the bus's handlings.
        metrics::observe_event_lag(std::chrono::system_clock::duration::zero());
        log_line("info", "price change handled", {{"eventId", id}, {"outcome", "applied"}});
      }
      done(std::move(r));
    };
  }
  if (cmd.update.is_price_change) return change_price(std::move(cmd), std::move(done));
  submit<update_outcome>(
      [cmd = std::move(cmd)](writer& w) -> result<update_outcome> {
        auto old_item = w.load(cmd.update.seat);
        if (!old_item) return not_found("Ticket not found");
        {
          json::object item = *old_item;
          item.set(cmd.update.key, cmd.update.value);
          auto stored = w.store(cmd.update.seat, *old_item, item);
          if (!stored) return stored.err();
          return update_outcome{std::move(*old_item), std::move(item), std::move(*stored), false};
        }
      },
      std::move(done));
}

// The writer thread is what bounds price changes, so the core's work is done on the caller's
// thread, from the ticket as the last commit left it (the item cache, usually). The writer
// carries that plan out when the ticket's text is still the one it was made from (the rule is a
// function of the text and the command), and makes it again from the stored text otherwise.
namespace {

struct price_change_plan {
  std::string from;  // the ticket's text the plan was made from
  json::object old_item;
  result<ticket_write> write;
  bool same_movie = false;  // the write leaves the Movie (and so GET /movies) as it was
};

price_change_plan plan_price_change(std::string text, const update_command& cmd, handling h) {
  json::object old_item = parse_item(text);
  auto write = change_price(old_item, *cmd.update.value.if_number(), cmd.now, cmd.event_id, h);
  const bool same_movie = write && movie_of(old_item) == movie_of(write->item);
  return {std::move(text), std::move(old_item), std::move(write), same_movie};
}

}  // namespace

void sqlite_store::change_price(update_command cmd, completion<update_outcome> done) {
  const bool handled = opts_.handle_price_changes && dispatched(price_change_initiated);
  const handling h = handled ? handling::in_same_write : handling::by_bus;
  std::optional<price_change_plan> planned;
  try {
    if (auto current = get(cmd.update.seat); current && *current) planned = plan_price_change(**current, cmd, h);
  } catch (const std::exception&) {
    // a ticket that cannot be read here is read, and fails, on the writer thread
  }
  submit<update_outcome>(
      [this, cmd = std::move(cmd), planned = std::move(planned), h, handled](writer& w) mutable
      -> result<update_outcome> {
        // Usually the plan still holds: the ticket is rewritten in one statement, read only when
        // it has changed since (or was never planned).
        const bool replaced = planned && planned->write && planned->same_movie &&
                              w.replace(cmd.update.seat, planned->from, planned->write->item_json);
        if (!replaced) {
          auto text = w.load_text(cmd.update.seat);
          if (!text) return not_found("Ticket not found");
          if (!planned || planned->from != *text) planned = plan_price_change(std::move(*text), cmd, h);
          if (!planned->write) return planned->write.err();
          w.store(cmd.update.seat, planned->old_item, planned->write->item, planned->write->item_json);
        }
        ticket_write& write = *planned->write;
        record(w, cmd.update.seat, write.events, handled);
        update_outcome out{std::move(planned->old_item), std::move(write.item), std::move(write.item_json), true};
        planned.reset();  // used up: should the batch run again, the change is planned again
        return out;
      },
      std::move(done));
}

void sqlite_store::remove(std::string seat, completion<json::object> done) {
  submit<json::object>(
      [seat = std::move(seat)](writer& w) -> result<json::object> {
        reset_guard g(w.delete_ticket);
        w.delete_ticket.bind(1, seat);
        if (!w.delete_ticket.step()) return not_found("Ticket not found");
        // A damaged item can still be deleted: its seat stands in for it in the answer.
        json::object item;
        auto parsed = json::parse(w.delete_ticket.text(0));
        if (auto* v = std::get_if<json::value>(&parsed); v && v->if_object()) {
          item = std::move(*v->if_object());
        } else {
          log_line("error", "deleted a damaged stored item", {{"seat", seat}});
          item.append_new(std::string(seat_key), seat);
        }
        std::optional<std::string> movie;  // as counted when it was written
        if (!w.delete_ticket.is_null(1)) movie.emplace(w.delete_ticket.text(1));
        while (w.delete_ticket.step()) {
        }
        w.written.emplace_back(seat, nullptr);
        w.uncount(movie);
        return item;
      },
      std::move(done));
}

void sqlite_store::apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) {
  submit<price_change_outcome>(
      [this, cmd = std::move(cmd)](writer& w) -> result<price_change_outcome> {
        const price_change_event& e = cmd.event;
        auto ticket = w.load(e.seat);
        auto decided = decide_price_change(ticket ? &*ticket : nullptr, e, cmd.now, cmd.processed_event_id);
        if (!decided) return decided.err();  // not written: the bus parks the event with the reason
        if (decided->outcome == price_change_outcome::applied) {
          w.store(e.seat, *ticket, decided->write.item, decided->write.item_json);
          record(w, e.seat, decided->write.events, false);
        }
        return decided->outcome;
      },
      std::move(done));
}

}  // namespace tb::sqlite
