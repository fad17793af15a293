// The group-commit writer: one thread applies queued writes in batches, one transaction and one
// fsync per batch; the completer thread tells the writes how they went; the checkpointer thread
// copies the WAL back into the database file.
#include <pthread.h>

#include "metrics/metrics.hpp"
#include "sqlite/item_cache.hpp"
#include "sqlite/store_internals.hpp"
#include "sqlite/writeback_vfs.hpp"

namespace tb::sqlite {

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
  completer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tb-complete");
    completer_loop();
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
    std::lock_guard lock(queue_mutex_);
    completer_stopping_ = true;
  }
  finished_cv_.notify_all();
  completer_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  checkpoint_thread_.join();
}

void sqlite_store::wal_grew(int pages) {
  wal_pages_ = pages;
  if (!opts_.checkpoints || pages < opts_.checkpoint_pages) return;
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_wanted_ = true;
  }
  checkpoint_cv_.notify_one();
}

void sqlite_store::set_catch_up_wanted(bool wanted) {
  {
    std::lock_guard lock(checkpoint_mutex_);
    catch_up_wanted_ = wanted;
  }
  checkpoint_cv_.notify_one();
}

void sqlite_store::checkpoint_loop() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      // Not while the writer's catch-up is pending: the two would only find each other busy.
      checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || (checkpoint_wanted_ && !catch_up_wanted_); });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what no reader still needs and never blocks the writer or the readers.
    int wal_frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    // Busy: another process is checkpointing (or holds the database); the next one catches up.
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) continue;
    if (rc != SQLITE_OK || wal_frames < 0)
      log_line("warn", "checkpoint failed", {{"reason", sqlite3_errmsg(checkpoint_db_->get())}});
    else {
      copied_pages_ = copied;
      set_catch_up_wanted(true);
    }
  }
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
    // Under steady writes the checkpointer never copies the whole WAL (commits keep landing
    // behind it), so SQLite never starts the WAL over: the file grows without bound and every
    // commit's fsync extends it. Between batches nothing of ours is in flight, and copying what
    // came after the checkpointer's pass is a short job; once all is copied the next commit
    // writes the WAL from its start. A failure (busy: a reader still on old pages) waits for the
    // next pass. A long rest (the checkpointer fell behind) is not copied here, where every write
    // would wait for it: the checkpointer makes another pass first.
    if (catch_up_wanted_) {
      const int rest = wal_pages_ - copied_pages_;  // negative: the WAL has started over since
      if (rest >= 0 && rest <= catch_up_pages) {
        sqlite3_wal_checkpoint_v2(w.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      } else if (rest > catch_up_pages) {
        std::lock_guard lock(checkpoint_mutex_);
        checkpoint_wanted_ = true;
      }
      set_catch_up_wanted(false);  // the checkpointer may go again
    }
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
      w.written.clear();
      try {
        w.begin.step();
        // BEGIN IMMEDIATE holds the write lock: no other commit until ours, which adds one.
        if (commit_counter_) before = load(commit_counter_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (failed[i]) continue;
          request_scope scope(batch[i].request_id);
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
          const auto commit_started = std::chrono::steady_clock::now();
          w.commit.step();  // synchronous=FULL: the WAL's fsync is in here
          metrics::observe_commit(batch.size(), std::chrono::steady_clock::now() - commit_started);
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
    // The cache holds what the batch wrote before any writer hears back: a client that reads
    // after its write's answer reads the write.
    if (cache_ && committed) cache_->committed(before, w.written);
    if (cache_ && !committed) cache_->resync(load(commit_counter_));  // whatever the failure left
    {
      std::lock_guard lock(queue_mutex_);
      // Under the lock: once on_event_recorded(nullptr) returns, the old callback never runs.
      if (committed && w.left_pending && on_event_recorded_) on_event_recorded_();
      finished_.push_back({std::move(batch), std::move(failed), committed ? std::nullopt : batch_failure});
    }
    finished_cv_.notify_one();
    batch = {};
  }
}

// Telling the writes of a batch how they went (their completions build the answers and hand them
// to the connections' threads) and freeing them is a third of the work of a price change on the
// writer thread; here it runs beside the next batch's.
void sqlite_store::completer_loop() {
  for (;;) {
    finished_batch done;
    {
      std::unique_lock lock(queue_mutex_);
      finished_cv_.wait(lock, [&] { return completer_stopping_ || !finished_.empty(); });
      if (finished_.empty()) return;  // stopping, and the writer (stopped) has handed over its last batch
      done = std::move(finished_.front());
      finished_.pop_front();
    }
    {
      log_batch lines;  // the requests' lines, one write per batch
      for (std::size_t i = 0; i < done.ops.size(); ++i) {
        request_scope scope(done.ops[i].request_id);
        done.ops[i].finish(done.failed[i] ? &*done.failed[i] : done.failure ? &*done.failure : nullptr);
      }
    }
    done = {};  // the ops are freed here too, not on the writer thread
  }
}

}  // namespace tb::sqlite
