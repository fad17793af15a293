#include "sqlite/sqlite_store.hpp"

#include <pthread.h>

#include <optional>

#include "app/log.hpp"
#include "sqlite/item_cache.hpp"
#include "sqlite/sqlite.hpp"
#include "sqlite/writeback_vfs.hpp"

namespace tb::sqlite {
namespace {

constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS tickets (
    seat  TEXT PRIMARY KEY,
    item  TEXT NOT NULL,   -- canonical JSON
    movie TEXT             -- Movie when it is a non-empty string, for GET /movies
  ) WITHOUT ROWID;
  -- GET /movies reads this summary: a ticket write touches one of its few rows, where an index
  -- on tickets(movie) dirtied a page per movie in every batch.
  CREATE TABLE IF NOT EXISTS movie_counts (
    movie   TEXT PRIMARY KEY,
    tickets INTEGER NOT NULL
  ) WITHOUT ROWID;
  DROP INDEX IF EXISTS tickets_by_movie;
  INSERT INTO movie_counts (movie, tickets)
    SELECT movie, count(*) FROM tickets
    WHERE movie IS NOT NULL AND NOT EXISTS (SELECT 1 FROM movie_counts) GROUP BY movie;
  -- Events are never deleted, so the rowid alone only grows: AUTOINCREMENT (kept by databases
  -- made before this) would add a sqlite_sequence write to every event.
  CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    seat            TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    reason          TEXT
  );
  CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE status = 'pending';
)sql";

// Databases of earlier versions. Some handled a price change in the transaction after its own,
// its event claimed in local_claims until then: a crash between the two left the claim, which
// goes to the dispatcher. handled_events remembered handled eventIds: the ticket itself tells now
// (decide_price_change), so it goes.
constexpr const char* migrations = R"sql(
  BEGIN IMMEDIATE;
  CREATE TABLE IF NOT EXISTS local_claims (seq INTEGER PRIMARY KEY);
  UPDATE events SET status = 'pending' WHERE seq IN (SELECT seq FROM local_claims);
  DROP TABLE local_claims;
  DROP TABLE IF EXISTS handled_events;
  COMMIT;
)sql";

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

error store_failure(const std::exception& e) {
  return {errc::unavailable, std::string("Store failure: ") + e.what()};
}

void configure(connection& c) {
  c.exec("PRAGMA journal_mode = WAL");
  // FULL: every commit is on disk before it is acknowledged; batching keeps that affordable.
  c.exec("PRAGMA synchronous = FULL");
}

// Reads come from the page cache through a mapping instead of a read() copy per page.
constexpr const char* mmap_pragma = "PRAGMA mmap_size = 1073741824";

}  // namespace

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
  statement select_item, insert_ticket, update_ticket, update_item, delete_ticket, insert_event;
  statement delivered, failed;
  statement count_movie, uncount_movie, drop_movie;
  std::vector<std::string> touched;  // the seats the batch in progress wrote
  bool left_pending = false;  // the batch in progress left an event for the dispatcher
  explicit writer(const std::string& path)
      : db((configure_first(path), path)),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        select_item(db, "SELECT item FROM tickets WHERE seat = ?"),
        insert_ticket(db, "INSERT INTO tickets (seat, item, movie) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
        update_ticket(db, "UPDATE tickets SET item = ?, movie = ? WHERE seat = ?"),
        update_item(db, "UPDATE tickets SET item = ? WHERE seat = ?"),
        delete_ticket(db, "DELETE FROM tickets WHERE seat = ? RETURNING item"),
        insert_event(db, "INSERT INTO events (event_id, event_type, seat, body, status) VALUES (?, ?, ?, ?, ?)"),
        delivered(db, "UPDATE events SET status = 'delivered', reason = NULL WHERE seq = ? AND status = 'pending'"),
        failed(db, "UPDATE events SET status = ?, attempts = ?, next_attempt_ms = ?, reason = ? WHERE seq = ?"),
        count_movie(db, "INSERT INTO movie_counts (movie, tickets) VALUES (?, 1) "
                        "ON CONFLICT (movie) DO UPDATE SET tickets = tickets + 1"),
        uncount_movie(db, "UPDATE movie_counts SET tickets = tickets - 1 WHERE movie = ?"),
        drop_movie(db, "DELETE FROM movie_counts WHERE movie = ? AND tickets <= 0") {}

  // The schema must exist before statements are prepared against it.
  static int configure_first(const std::string& path) {
    connection c(path);
    configure(c);
    c.exec(schema);
    c.exec(migrations);
    return 0;
  }

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
    touched.push_back(seat);
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

bool sqlite_store::dispatched(std::string_view event_type) const {
  for (const auto& t : opts_.dispatched_types)
    if (t == event_type) return true;
  return false;
}

sqlite_store::sqlite_store(options opts) : opts_(std::move(opts)) {
  writer_ = std::make_unique<writer>(opts_.path);
  writer_->configure_writer(this);
  index_db_ = std::make_unique<connection>(opts_.path);
  index_db_->exec("SELECT count(*) FROM sqlite_master");  // maps the WAL index
  commit_counter_ = wal_commit_counter(*index_db_);
  if (!commit_counter_) log_line("warn", "no WAL commit counter: reads are not cached");
  if (commit_counter_ && opts_.item_cache_bytes)
    cache_ = std::make_unique<item_cache>(opts_.item_cache_bytes, load(commit_counter_));
  checkpoint_db_ = std::make_unique<connection>(opts_.path, SQLITE_OPEN_READWRITE, writeback_vfs());
  // A connection only sees the WAL once it has read: until then a checkpoint does nothing.
  checkpoint_db_->exec("SELECT count(*) FROM sqlite_master");
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tb-writer");
    writer_loop();
  });
  checkpoint_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tb-checkpoint");
    checkpoint_loop();
  });
}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  writer_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  checkpoint_thread_.join();
}

void sqlite_store::wal_grew(int pages) {
  if (pages < opts_.checkpoint_pages) return;
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_wanted_ = true;
  }
  checkpoint_cv_.notify_one();
}

void sqlite_store::checkpoint_loop() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_wanted_; });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what no reader still needs and never blocks the writer or the readers.
    int wal_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, nullptr);
    if ((rc != SQLITE_OK && rc != SQLITE_BUSY) || wal_frames < 0)
      log_line("warn", "checkpoint failed", {{"reason", sqlite3_errmsg(checkpoint_db_->get())}});
  }
}

void sqlite_store::on_event_recorded(std::function<void()> f) {
  std::lock_guard lock(queue_mutex_);
  on_event_recorded_ = std::move(f);
}

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

template <class T, class Apply>
void sqlite_store::submit(Apply apply, completion<T> done) {
  auto slot = std::make_shared<std::optional<result<T>>>();
  write_op op;
  op.apply = [slot, apply = std::move(apply)](writer& w) mutable { slot->emplace(apply(w)); };
  op.finish = [slot, done = std::move(done)](bool committed) {
    if (!committed || !slot->has_value())
      return done(error{errc::unavailable, "Store failure: the write was not committed"});
    done(std::move(**slot));
  };
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      op.finish = nullptr;
    }
  }
  if (op.finish) return op.finish(false);  // shutting down: refuse rather than lose it
  queue_cv_.notify_one();
}

void sqlite_store::writer_loop() {
  writer& w = *writer_;
  std::vector<write_op> batch;
  for (;;) {
    bool resync = false;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || resync_wanted_.load(); });
      resync = resync_wanted_.exchange(false);
      if (queue_.empty() && stopping_) return;  // every queued write is done
      while (!queue_.empty() && batch.size() < opts_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Between batches no commit of this process is in flight: a counter ahead of the cache means
    // another process wrote.
    if (resync && cache_) cache_->resync(load(commit_counter_));
    if (batch.empty()) continue;
    std::uint32_t before = 0;
    // The batch is one transaction. An op that throws (disk full, corruption: never a client's
    // mistake, those are results) rolls the transaction back; the batch then runs again without
    // it, so one bad write cannot take the others down.
    std::vector<bool> failed(batch.size(), false);
    bool committed = false;
    for (bool retry = true; retry;) {
      retry = false;
      w.left_pending = false;
      w.touched.clear();
      try {
        w.begin.step();
        // BEGIN IMMEDIATE holds the write lock: no other commit until ours, which adds one.
        if (commit_counter_) before = load(commit_counter_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (failed[i]) continue;
          try {
            batch[i].apply(w);
          } catch (const std::exception& e) {
            log_line("error", "write failed", {{"reason", e.what()}});
            failed[i] = true;
            retry = true;
            break;
          }
        }
        if (!retry) {
          w.commit.step();
          committed = true;
        }
      } catch (const std::exception& e) {
        log_line("error", "commit failed", {{"reason", e.what()}});
        retry = false;
      }
      if (!committed) {
        try {
          w.rollback.step();
        } catch (const std::exception&) {
          // no transaction left to roll back
        }
      }
    }
    // The cache forgets what the batch wrote before any writer hears back: a client that reads
    // after its write's answer reads the write.
    if (cache_ && committed) cache_->committed(before, w.touched);
    if (cache_ && !committed) cache_->resync(load(commit_counter_));  // whatever the failure left
    {
      log_batch lines;  // the requests' lines, one write per commit
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].finish(committed && !failed[i]);
    }
    batch.clear();
    {
      std::lock_guard lock(queue_mutex_);
      // Under the lock: once on_event_recorded(nullptr) returns, the old callback never runs.
      if (committed && w.left_pending && on_event_recorded_) on_event_recorded_();
    }
  }
}

result<item_text> sqlite_store::get(std::string_view seat) {
  std::uint32_t counter = 0;
  if (cache_) {
    counter = load(commit_counter_);
    if (auto hit = cache_->find(seat, counter)) return hit;
  }
  auto item = with_reader([&](reader& r) -> result<item_text> {
    reset_guard g(r.get);
    r.get.bind(1, seat);
    if (!r.get.step()) return item_text();
    return std::make_shared<const std::string>(r.get.text(0));
  });
  if (cache_ && item && *item && !cache_->offer(seat, counter, *item)) request_resync();
  return item;
}

void sqlite_store::request_resync() {
  if (resync_wanted_.exchange(true)) return;
  // Through the queue's lock: a writer between checking for work and sleeping cannot miss it.
  { std::lock_guard lock(queue_mutex_); }
  queue_cv_.notify_one();
}

result<std::optional<std::string>> sqlite_store::scan(std::string_view after, std::size_t limit,
                                                      const item_visitor& visit) {
  return with_reader([&](reader& r) -> result<std::optional<std::string>> {
    reset_guard g(r.scan);
    // One more row than asked tells whether more remain.
    r.scan.bind(1, after).bind(2, static_cast<std::int64_t>(limit) + 1);
    std::size_t visited = 0;
    std::string last;
    while (r.scan.step()) {
      if (visited == limit) return std::optional<std::string>(std::move(last));
      visit(r.scan.text(1));
      last.assign(r.scan.text(0));  // reuses its buffer: no allocation per row
      ++visited;
    }
    return std::optional<std::string>();
  });
}

result<std::vector<std::string>> sqlite_store::movies() {
  return with_reader([&](reader& r) -> result<std::vector<std::string>> {
    reset_guard g(r.movies);
    std::vector<std::string> out;
    while (r.movies.step()) out.emplace_back(r.movies.text(0));
    return out;
  });
}

std::optional<std::uint64_t> sqlite_store::version() {
  if (!commit_counter_) return std::nullopt;
  return load(commit_counter_);
}

result<void> sqlite_store::ping() {
  return with_reader([&](reader& r) -> result<void> {
    reset_guard g(r.ping);
    r.ping.step();
    return ok;
  });
}

void sqlite_store::create(json::object item, completion<void> done) {
  submit<void>(
      [item = std::move(item)](writer& w) -> result<void> {
        reset_guard g(w.insert_ticket);
        w.insert_ticket.bind(1, seat_of(item)).bind(2, json::serialize(item));
        w.bind_movie(w.insert_ticket, 3, item);
        w.insert_ticket.step();
        if (w.db.changes() == 0) return error{errc::conflict, "Ticket already exists"};
        w.touched.emplace_back(seat_of(item));
        w.count(movie_of(item));
        return ok;
      },
      std::move(done));
}

void sqlite_store::update(update_command cmd, completion<update_outcome> done) {
  if (cmd.update.is_price_change && opts_.handle_price_changes) {
    // The handling is logged as the bus's is, once it is committed (in the batch's log lines).
    done = [done = std::move(done), id = cmd.event_id](result<update_outcome> r) {
      if (r) log_line("info", "price change handled", {{"eventId", id}, {"outcome", "applied"}});
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
};

price_change_plan plan_price_change(std::string text, const update_command& cmd, handling h) {
  json::object old_item = parse_item(text);
  auto write = change_price(old_item, *cmd.update.value.if_number(), cmd.now, cmd.event_id, h);
  return {std::move(text), std::move(old_item), std::move(write)};
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
        auto text = w.load_text(cmd.update.seat);
        if (!text) return not_found("Ticket not found");
        if (!planned || planned->from != *text) planned = plan_price_change(std::move(*text), cmd, h);
        if (!planned->write) return planned->write.err();
        ticket_write& write = *planned->write;
        w.store(cmd.update.seat, planned->old_item, write.item, write.item_json);
        record(w, cmd.update.seat, write.events, handled);
        return update_outcome{std::move(planned->old_item), std::move(write.item), std::move(write.item_json), true};
      },
      std::move(done));
}

void sqlite_store::remove(std::string seat, completion<json::object> done) {
  submit<json::object>(
      [seat = std::move(seat)](writer& w) -> result<json::object> {
        reset_guard g(w.delete_ticket);
        w.delete_ticket.bind(1, seat);
        if (!w.delete_ticket.step()) return not_found("Ticket not found");
        json::object item = parse_item(w.delete_ticket.text(0));
        while (w.delete_ticket.step()) {
        }
        w.touched.push_back(seat);
        w.uncount(movie_of(item));
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
