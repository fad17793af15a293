// The group-commit writer: one thread applies queued writes in batches, one transaction and one
// fsync per batch; the checkpointer thread copies the WAL back into the database file.
#include <pthread.h>

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

}  // namespace tb::sqlite
