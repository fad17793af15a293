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
  -- Earlier versions handled a price change in the transaction after its own, its event claimed
  -- here until then. A crash between the two left the claim, which the next serve gives to the
  -- dispatcher (handle_locally); price changes are now handled in their own transaction.
  CREATE TABLE IF NOT EXISTS local_claims (seq INTEGER PRIMARY KEY);
  CREATE TABLE IF NOT EXISTS handled_events (
    event_id   TEXT PRIMARY KEY,
    outcome    TEXT NOT NULL,
    handled_at TEXT NOT NULL
  ) WITHOUT ROWID;
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
        events(db, "SELECT seq, iif(EXISTS (SELECT 1 FROM local_claims c WHERE c.seq = events.seq), 'pending', "
                   "status), body, reason FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
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
  statement begin, commit, rollback, savepoint, rollback_to_savepoint, release_savepoint;
  statement select_item, insert_ticket, update_ticket, update_item, delete_ticket, insert_event;
  statement handled, insert_handled, delivered, failed, give_back;
  statement count_movie, uncount_movie, drop_movie;
  std::vector<std::string> touched;  // the seats the batch in progress wrote
  bool left_pending = false;  // the batch in progress left an event for the dispatcher
  // The local handler's outcomes in the batch in progress, told to it once the batch commits.
  std::vector<std::pair<std::string, result<metadata_outcome>>> handled_here;
  explicit writer(const std::string& path)
      : db((configure_first(path), path)),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        savepoint(db, "SAVEPOINT handler"),
        rollback_to_savepoint(db, "ROLLBACK TO handler"),
        release_savepoint(db, "RELEASE handler"),
        select_item(db, "SELECT item FROM tickets WHERE seat = ?"),
        insert_ticket(db, "INSERT INTO tickets (seat, item, movie) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
        update_ticket(db, "UPDATE tickets SET item = ?, movie = ? WHERE seat = ?"),
        update_item(db, "UPDATE tickets SET item = ? WHERE seat = ?"),
        delete_ticket(db, "DELETE FROM tickets WHERE seat = ? RETURNING item, movie"),
        insert_event(db, "INSERT INTO events (event_id, event_type, seat, body, status) VALUES (?, ?, ?, ?, ?)"),
        handled(db, "SELECT 1 FROM handled_events WHERE event_id = ?"),
        insert_handled(db, "INSERT OR IGNORE INTO handled_events (event_id, outcome, handled_at) VALUES (?, ?, ?)"),
        delivered(db, "UPDATE events SET status = 'delivered', reason = NULL WHERE seq = ? AND status = 'pending'"),
        failed(db, "UPDATE events SET status = ?, attempts = ?, next_attempt_ms = ?, reason = ? WHERE seq = ?"),
        give_back(db, "UPDATE events SET status = 'pending' WHERE seq = ?"),
        count_movie(db, "INSERT INTO movie_counts (movie, tickets) VALUES (?, 1) "
                        "ON CONFLICT (movie) DO UPDATE SET tickets = tickets + 1"),
        uncount_movie(db, "UPDATE movie_counts SET tickets = tickets - 1 WHERE movie = ?"),
        drop_movie(db, "DELETE FROM movie_counts WHERE movie = ? AND tickets <= 0") {}

  // The schema must exist before statements are prepared against it.
  static int configure_first(const std::string& path) {
    create_private_file(path);
    connection c(path);
    configure(c);
    c.exec(schema);
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
    auto old_movie = movie_of(old_item), movie = movie_of(item);
    if (old_movie == movie) {
      reset_guard g(update_item);
      update_item.bind(1, text).bind(2, seat);
      update_item.step();
      return text;
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
    return text;
  }

  // status: pending (for the dispatcher) or delivered (an event no subscriber takes, or one this
  // process's local handler takes in the same transaction). Returns its seq.
  std::int64_t record_event(std::string_view event_id, std::string_view type, std::string_view seat,
                            std::string_view body, std::string_view status) {
    reset_guard g(insert_event);
    insert_event.bind(1, event_id).bind(2, type).bind(3, seat).bind(4, body);
    insert_event.bind(5, status);
    insert_event.step();
    if (status == "pending") left_pending = true;
    return sqlite3_last_insert_rowid(db.get());
  }

  // Makes an event pending: the dispatcher's to deliver.
  void to_dispatcher(std::int64_t seq) {
    reset_guard g(give_back);
    give_back.bind(1, seq);
    give_back.step();
    left_pending = true;
  }

  void remember(const std::string& event_id, std::string_view outcome, const std::string& now) {
    reset_guard g(insert_handled);
    insert_handled.bind(1, event_id).bind(2, outcome).bind(3, now);
    insert_handled.step();
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
  if (!opts_.checkpoints || pages < opts_.checkpoint_pages) return;
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
    // Busy: another process is checkpointing (or holds the database); the next one catches up.
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) continue;
    if (rc != SQLITE_OK || wal_frames < 0)
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
  op.finish = [slot, done = std::move(done)](const error* failure) {
    if (failure) return done(*failure);
    if (!slot->has_value()) return done(error{errc::internal, "Store failure: the write was not applied"});
    done(std::move(**slot));
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
      batch_local_ = batch.empty() ? nullptr : local_;
    }
    // Between batches no commit of this process is in flight: a counter ahead of the cache means
    // another process wrote.
    if (resync && cache_) cache_->resync(load(commit_counter_));
    if (batch.empty()) continue;
    std::uint32_t before = 0;
    // The batch is one transaction. An op that throws (disk full, corruption: never a client's
    // mistake, those are results) rolls the transaction back; the batch then runs again without
    // it, so one bad write cannot take the others down.
    std::vector<std::optional<error>> failed(batch.size());
    std::optional<error> batch_failure;  // set whenever the batch did not commit
    bool committed = false;
    for (bool retry = true; retry;) {
      retry = false;
      w.left_pending = false;
      w.handled_here.clear();
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
            failed[i] = store_failure(e);
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
        batch_failure = store_failure(e);
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
      log_batch lines;  // the handler's outcomes and the requests', one write per commit
      if (committed)
        for (const auto& [event_id, outcome] : w.handled_here) batch_local_->handled(event_id, outcome);
      for (std::size_t i = 0; i < batch.size(); ++i)
        batch[i].finish(failed[i] ? &*failed[i] : committed ? nullptr : &*batch_failure);
    }
    batch.clear();
    {
      std::lock_guard lock(queue_mutex_);
      // Under the lock: once on_event_recorded(nullptr) returns, the old callback never runs.
      if (committed && w.left_pending && on_event_recorded_) on_event_recorded_();
      batch_local_ = nullptr;
    }
    local_cv_.notify_all();
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
    // A damaged item (bytes changed on disk) is never served as if it were JSON.
    if (!json::is_object_text(r.get.text(0)))
      return error{errc::internal, "Store failure: the stored item of " + std::string(seat) + " is not a JSON object"};
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
      // A damaged item is left out, so one bad row cannot break every listing; it still takes
      // its place in the page, so the cursor moves past it.
      if (json::is_object_text(r.scan.text(1))) visit(r.scan.text(1));
      else log_line("error", "a damaged stored item is left out of a listing", {{"seat", std::string(r.scan.text(0))}});
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
  submit<update_outcome>(
      [this, cmd = std::move(cmd)](writer& w) -> result<update_outcome> {
        auto old_item = w.load(cmd.update.seat);
        if (!old_item) return not_found("Ticket not found");
        json::object item = *old_item;
        if (cmd.update.is_price_change)
          apply_price_change(item, *cmd.update.value.if_number(), cmd.now);
        else
          item.set(cmd.update.key, cmd.update.value);
        auto stored = w.store(cmd.update.seat, *old_item, item);
        if (!stored) return stored.err();
        w.touched.push_back(cmd.update.seat);
        update_outcome out{std::move(*old_item), std::move(item), std::move(*stored), false};
        if (cmd.update.is_price_change) {
          json::value event = price_change_initiated_fields(cmd.event_id, out.old_item, out.new_item, cmd.now);
          std::string body = with_updated_item(*event.if_object(), out.new_item_json);
          std::optional<price_change_event> local;
          if (batch_local_ && dispatched(price_change_initiated))
            if (auto parsed = parse_price_change_event(event, cmd.event_id); parsed && *parsed) local = std::move(**parsed);
          const bool pending = !local && dispatched(price_change_initiated);
          auto seq = w.record_event(cmd.event_id, price_change_initiated, cmd.update.seat, body,
                                    pending ? "pending" : "delivered");
          if (local) handle_in_transaction(w, seq, std::move(*local), out.new_item);
          out.event_recorded = true;
        }
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
        w.touched.push_back(seat);
        w.uncount(movie);
        return item;
      },
      std::move(done));
}

void sqlite_store::apply_price_metadata(metadata_command cmd, completion<metadata_outcome> done) {
  submit<metadata_outcome>(
      [this, cmd = std::move(cmd)](writer& w) { return write_metadata(w, cmd, false, std::nullopt); },
      std::move(done));
}

// known_new: the event cannot have been handled before (this transaction recorded it).
// current: the ticket's item as it stands, when the caller knows it; read otherwise.
result<metadata_outcome> sqlite_store::write_metadata(writer& w, const metadata_command& cmd, bool known_new,
                                                      std::optional<json::object> current) {
  const price_change_event& e = cmd.event;
  if (!known_new) {
    reset_guard g(w.handled);
    w.handled.bind(1, e.event_id);
    if (w.handled.step()) return metadata_outcome::duplicate;
  }
  auto item = current ? std::move(current) : w.load(e.seat);
  if (!item) {
    w.remember(e.event_id, "missing", cmd.now);
    return metadata_outcome::missing;
  }
  const json::value* price = item->find(price_key);
  if (!price || !price->if_number() || !(*price->if_number() == e.new_price)) {
    w.remember(e.event_id, "stale", cmd.now);
    return metadata_outcome::stale;
  }
  for (const auto& [k, v] : price_change_metadata(e, cmd.now)) item->set(k, v);
  // An event that cannot be applied is not remembered: the bus parks it with this reason.
  auto stored = w.store(e.seat, *item, *item);  // Movie unchanged
  if (!stored) return stored.err();
  w.touched.push_back(e.seat);
  w.record_event(cmd.processed_event_id, price_change_processed, e.seat,
                 with_updated_item(price_change_processed_fields(cmd.processed_event_id, e, *item, cmd.now), *stored),
                 dispatched(price_change_processed) ? "pending" : "delivered");
  w.remember(e.event_id, "applied", cmd.now);
  return metadata_outcome::applied;
}

// The local handler's part of a price change, after its event in the same transaction, from the
// item the change wrote. An outcome that is an error, or a failure inside SQLite, is undone to a
// savepoint and gives the event to the dispatcher, which retries it or parks it with the reason;
// the price change stands. A failure that ends the whole transaction (the savepoint gone with it)
// fails the batch's run like any write's.
void sqlite_store::handle_in_transaction(writer& w, std::int64_t seq, price_change_event event, json::object item) {
  metadata_command cmd = batch_local_->command_for(std::move(event));
  w.savepoint.step();
  auto outcome = [&]() -> result<metadata_outcome> {
    try {
      return write_metadata(w, cmd, true, std::move(item));
    } catch (const std::exception& e) {
      return store_failure(e);
    }
  }();
  if (!outcome) {
    w.rollback_to_savepoint.step();
    w.to_dispatcher(seq);
  }
  w.release_savepoint.step();
  w.handled_here.emplace_back(std::move(cmd.event.event_id), std::move(outcome));
}

void sqlite_store::handle_locally(local_price_change_handler* h) {
  if (h) {
    auto r = wait_for<int>([&](auto done) {
      submit<int>(
          [](writer& w) -> result<int> {
            w.db.exec("UPDATE events SET status = 'pending' WHERE seq IN (SELECT seq FROM local_claims)");
            const int n = w.db.changes();
            w.left_pending = w.left_pending || n > 0;
            w.db.exec("DELETE FROM local_claims");
            return n;
          },
          std::move(done));
    });
    if (!r)
      log_line("error", "events an earlier run left claimed stay so", {{"reason", r.err().message}});
    else if (*r > 0)
      log_line("info", "events an earlier run left claimed go to the bus", {{"events", std::to_string(*r)}});
  }
  std::unique_lock lock(queue_mutex_);
  local_ = h;
  local_cv_.wait(lock, [&] { return batch_local_ == nullptr; });  // no batch holds the old one
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
