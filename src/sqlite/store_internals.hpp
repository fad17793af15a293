// What the store's rooms share: the reader's and the writer's connections with their prepared
// statements, and the store's two ways to run SQL (a pooled reader on the caller's thread, the
// writer thread's batches). Only the sqlite_store*.cpp files include it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "log/log.hpp"
#include "sqlite/item_cache.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/sqlite.hpp"
#include "sqlite/sqlite_store.hpp"

namespace tb::sqlite {

// A stored item's text -> the item; throws sqlite_error (corrupt) when it is not a JSON object.
json::object parse_item(std::string_view text);
// Movie when it is a non-empty string: what GET /movies lists.
std::optional<std::string> movie_of(const json::object& item);

struct reader {
  connection db;
  statement get, scan, movies, events, pending, ping;
  explicit reader(const std::string& path)
      : db(path),
        get(db, "SELECT item FROM tickets WHERE seat = ?"),
        scan(db, "SELECT seat, item FROM tickets WHERE seat > ? ORDER BY seat LIMIT ?"),
        movies(db, "SELECT movie FROM movie_counts WHERE tickets > 0 ORDER BY movie"),
        events(db, "SELECT seq, status, body, reason FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
        pending(db,
                "SELECT seq, event_id, seat, body, attempts, next_attempt_ms FROM events "
                "WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT ?"),
        ping(db, "SELECT 1") {
    db.exec("PRAGMA query_only = ON");
    db.exec(mmap_pragma);
  }
};

struct writer {
  connection db;
  statement begin, commit, rollback;
  statement select_item, insert_ticket, update_ticket, update_item, replace_item, delete_ticket, insert_event;
  statement delivered, failed;
  statement count_movie, uncount_movie, drop_movie;
  item_cache::writes written;  // what the batch in progress wrote, for the item cache
  bool left_pending = false;  // the batch in progress left an event for the dispatcher
  explicit writer(const std::string& path)
      : db((prepare_database(path), path)),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        select_item(db, "SELECT item FROM tickets WHERE seat = ?"),
        insert_ticket(db, "INSERT INTO tickets (seat, item, movie) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
        update_ticket(db, "UPDATE tickets SET item = ?, movie = ? WHERE seat = ?"),
        update_item(db, "UPDATE tickets SET item = ? WHERE seat = ?"),
        replace_item(db, "UPDATE tickets SET item = ? WHERE seat = ? AND item = ?"),
        delete_ticket(db, "DELETE FROM tickets WHERE seat = ? RETURNING item, movie"),
        insert_event(db, "INSERT INTO events (event_id, event_type, seat, body, status) VALUES (?, ?, ?, ?, ?)"),
        delivered(db, "UPDATE events SET status = 'delivered', reason = NULL WHERE seq = ? AND status = 'pending'"),
        failed(db, "UPDATE events SET status = ?, attempts = ?, next_attempt_ms = ?, reason = ? WHERE seq = ?"),
        count_movie(db, "INSERT INTO movie_counts (movie, tickets) VALUES (?, 1) "
                        "ON CONFLICT (movie) DO UPDATE SET tickets = tickets + 1"),
        uncount_movie(db, "UPDATE movie_counts SET tickets = tickets - 1 WHERE movie = ?"),
        drop_movie(db, "DELETE FROM movie_counts WHERE movie = ? AND tickets <= 0") {}

  void configure_writer(sqlite_store* store) {
    db.exec(mmap_pragma);
    db.exec("PRAGMA synchronous = FULL");
    // Batches touch many pages; keeping them cached spares re-reading them from the WAL.
    db.exec("PRAGMA cache_size = -16384");
    // After a checkpoint the WAL is reused from its start; this bounds the file it leaves behind.
    db.exec("PRAGMA journal_size_limit = 67108864");
    // Replaces SQLite's automatic checkpoint (which would run on this thread, inside a commit).
    sqlite3_wal_hook(
        db.get(),
        [](void* arg, sqlite3*, const char*, int pages) {
          static_cast<sqlite_store*>(arg)->wal_grew(pages);
          return SQLITE_OK;
        },
        store);
  }

  void bind_movie(statement& s, int i, const json::object& item) {
    if (auto m = movie_of(item)) s.bind(i, *m);
    else s.bind_null(i);
  }

  std::optional<json::object> load(std::string_view seat) {
    reset_guard g(select_item);
    select_item.bind(1, seat);
    if (!select_item.step()) return std::nullopt;
    return parse_item(select_item.text(0));
  }

  // The item's text: nullopt when there is no such ticket.
  std::optional<std::string> load_text(std::string_view seat) {
    reset_guard g(select_item);
    select_item.bind(1, seat);
    if (!select_item.step()) return std::nullopt;
    return std::string(select_item.text(0));
  }

  void count(const std::optional<std::string>& movie) {
    if (!movie) return;
    reset_guard g(count_movie);
    count_movie.bind(1, *movie);
    count_movie.step();
  }

  void uncount(const std::optional<std::string>& movie) {
    if (!movie) return;
    {
      reset_guard g(uncount_movie);
      uncount_movie.bind(1, *movie);
      uncount_movie.step();
    }
    reset_guard g(drop_movie);
    drop_movie.bind(1, *movie);
    drop_movie.step();
  }

  // Rewrites a ticket; refuses (changing nothing) an item over DynamoDB's size limit. Returns
  // the item's text as stored.
  result<std::string> store(const std::string& seat, const json::object& old_item, const json::object& item) {
    std::string text;
    json::serialize_to(text, item);
    if (auto size = check_item_size(text.size()); !size) return size.err();
    store(seat, old_item, item, text);
    return text;
  }

  // Rewrites a ticket as the core wrote it: `text` is `item`'s, checked for size.
  void store(const std::string& seat, const json::object& old_item, const json::object& item, std::string_view text) {
    written.emplace_back(seat, std::make_shared<const std::string>(text));
    auto old_movie = movie_of(old_item), movie = movie_of(item);
    if (old_movie == movie) {
      reset_guard g(update_item);
      update_item.bind(1, text).bind(2, seat);
      update_item.step();
      return;
    }
    {
      reset_guard g(update_ticket);
      update_ticket.bind(1, text);
      bind_movie(update_ticket, 2, item);
      update_ticket.bind(3, seat);
      update_ticket.step();
    }
    uncount(old_movie);
    count(movie);
  }

  // Rewrites a ticket whose stored text is still `from`, in one statement (no read first); false,
  // changing nothing, when it is not (or there is no such ticket). The Movie must be unchanged.
  bool replace(const std::string& seat, std::string_view from, std::string_view text) {
    reset_guard g(replace_item);
    replace_item.bind(1, text).bind(2, seat).bind(3, from);
    replace_item.step();
    if (db.changes() == 0) return false;
    written.emplace_back(seat, std::make_shared<const std::string>(text));
    return true;
  }

  // status: pending (for the dispatcher) or delivered (an event no subscriber takes, or one
  // handled in the write that recorded it).
  void record_event(std::string_view event_id, std::string_view type, std::string_view seat,
                    std::string_view body, std::string_view status) {
    reset_guard g(insert_event);
    insert_event.bind(1, event_id).bind(2, type).bind(3, seat).bind(4, body);
    insert_event.bind(5, status);
    insert_event.step();
    if (status == "pending") left_pending = true;
  }
};

// Runs f with a pooled reader on the caller's thread; a failure drops that connection.
template <class F>
auto sqlite_store::with_reader(F&& f) -> decltype(f(std::declval<reader&>())) {
  std::unique_ptr<reader> r;
  try {
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        r = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!r) r = std::make_unique<reader>(opts_.path);
    auto out = f(*r);
    std::lock_guard lock(readers_mutex_);
    readers_.push_back(std::move(r));
    return out;
  } catch (const std::exception& e) {
    return store_failure(e);  // the connection is dropped, a fresh one replaces it next time
  }
}

// Queues a write for the writer thread; `done` runs on the completer thread after the batch's commit.
template <class T, class Apply>
void sqlite_store::submit(Apply apply, completion<T> done) {
  auto slot = std::make_shared<std::optional<result<T>>>();
  write_op op;
  op.request_id = current_request_id();
  op.apply = [slot, apply = std::move(apply)](writer& w) mutable { slot->emplace(apply(w)); };
  op.finish = [slot, done = std::move(done)](const error* failure) {
    result<T> r = failure              ? result<T>(*failure)
                  : slot->has_value() ? std::move(**slot)
                                      : result<T>(error{errc::internal, "Store failure: the write was not applied"});
    // A completion that throws (a bug, an allocation failure) must not end the completer thread, and
    // with it the process: it is logged, and told once more, of a failure, so that its request
    // still gets an answer (a 500).
    try {
      done(std::move(r));
    } catch (const std::exception& e) {
      log_line("error", "a write's completion failed", {{"reason", e.what()}});
      try {
        done(error{errc::internal, std::string("completion failed: ") + e.what()});
      } catch (const std::exception& again) {
        log_line("error", "a write's completion failed again", {{"reason", again.what()}});
      }
    }
  };
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      op.finish = nullptr;
    }
  }
  const error stopping{errc::unavailable, "Store failure: the store is shutting down"};
  if (op.finish) return op.finish(&stopping);  // refused rather than lost
  queue_cv_.notify_one();
}

}  // namespace tb::sqlite
