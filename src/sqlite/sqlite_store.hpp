// The embedded store: tickets and the event outbox in one SQLite file
// (WAL, fsync on commit). One writer thread applies writes in batches, one transaction and one
// fsync per batch (group commit); reads run on the caller's thread from a connection pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/ports.hpp"

namespace tb::sqlite {

class connection;
class item_cache;
struct reader;
struct writer;

struct outbox_event {
  std::int64_t seq = 0;
  std::string event_id;
  std::string seat;
  std::string body;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_ms = 0;  // unix ms; 0 means now
};

class sqlite_store final : public ticket_store, public event_log {
 public:
  struct options {
    std::string path;                // the database file
    std::size_t max_batch = 512;     // writes per transaction
    std::size_t item_cache_bytes = 4 << 20;  // tickets kept in memory for GET; 0: none
    // The writer asks for a checkpoint once the WAL holds this many pages; the checkpointer
    // thread does it, so the database file's fsync is never on a commit's path. A checkpoint
    // copies each changed page once however often it changed: every 8,000 pages (32 MB of WAL)
    // costs the disk less than every 1,000 (PATCH +10%, its p99 -15% in A/B runs).
    int checkpoint_pages = 8000;
    // Only the process that owns the data (serve) checkpoints. Another (invoke, events) leaves
    // the WAL to it rather than contend with its checkpointer, and SQLite checkpoints at the last
    // close when no one else has the file open.
    bool checkpoints = true;
    // Event types the local bus delivers to a subscriber; others are recorded as delivered.
    std::vector<std::string> dispatched_types{std::string(price_change_initiated)};
    // A price change is handled in its own write (change_price's in_same_write): the metadata and
    // PriceChangeProcessed commit, and reach the disk, with the price, and the bus only carries
    // events this process did not record (other processes', earlier runs'). For the process
    // whose handler takes PriceChangeInitiated.
    bool handle_price_changes = false;
  };

  explicit sqlite_store(options opts);  // throws sqlite_error when the file cannot be opened
  ~sqlite_store() override;             // finishes queued writes, then stops the writer

  result<item_text> get(std::string_view seat) override;
  result<std::optional<std::string>> scan(std::string_view after, std::size_t limit,
                                          const item_visitor& visit) override;
  result<std::vector<std::string>> movies() override;
  result<void> ping() override;
  std::optional<std::uint64_t> version() override;
  void create(json::object item, completion<void> done) override;
  void update(update_command cmd, completion<update_outcome> done) override;
  void remove(std::string seat, completion<json::object> done) override;
  void apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) override;

  result<std::vector<logged_event>> events_after(std::int64_t after, std::size_t limit) override;

  // The local bus's side of the outbox.
  // The oldest pending events after seq `after`, in order.
  result<std::vector<outbox_event>> pending_events(std::size_t limit, std::int64_t after = 0);
  void mark_delivered(std::vector<std::int64_t> seqs, completion<void> done);
  void mark_failed(std::int64_t seq, std::int64_t attempts, std::int64_t next_attempt_ms, bool dead,
                   std::string reason, completion<void> done);
  // Called (on the writer thread) after a commit that left at least one event pending for the
  // dispatcher. It must not call back into the store. After on_event_recorded(nullptr) returns, no
  // earlier callback runs.
  void on_event_recorded(std::function<void()> f);
  // The WAL holds `pages` pages after a commit: past options.checkpoint_pages, checkpoint it on the
  // background thread.
  void wal_grew(int pages);

 private:
  struct write_op {
    std::function<void(writer&)> apply;       // inside the batch's transaction
    // After the commit: nullptr when it committed, else why not (what the op or the commit threw).
    std::function<void(const error* failure)> finish;
    std::string request_id;  // of the request that submitted it: its log lines carry it
  };

  // A batch the writer is done with, for the completer: what each op is told, and the ops to free.
  struct finished_batch {
    std::vector<write_op> ops;
    std::vector<std::optional<error>> failed;  // per op: why it alone was not applied
    std::optional<error> failure;              // set when the batch did not commit
  };

  template <class T, class Apply>
  void submit(Apply apply, completion<T> done);
  void change_price(update_command cmd, completion<update_outcome> done);
  void record(writer& w, const std::string& seat, const std::vector<recorded_event>& events, bool initiated_handled);
  void writer_loop();
  void completer_loop();
  bool dispatched(std::string_view event_type) const;
  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<reader&>()));

  options opts_;
  std::unique_ptr<writer> writer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<reader>> readers_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<write_op> queue_;
  bool stopping_ = false;
  std::function<void()> on_event_recorded_;
  std::thread writer_thread_;

  // The completer thread runs the completions of committed batches, and frees them, in commit
  // order, so the writer's next batch never waits for that work.
  std::deque<finished_batch> finished_;  // under queue_mutex_
  std::condition_variable finished_cv_;
  bool completer_stopping_ = false;
  std::thread completer_thread_;

  // Holds the WAL index mapped, whose commit counter versions the store and the item cache.
  std::unique_ptr<connection> index_db_;
  const std::uint32_t* commit_counter_ = nullptr;
  std::unique_ptr<item_cache> cache_;
  std::atomic<bool> resync_wanted_{false};  // a reader found the cache behind the counter
  void request_resync();

  void checkpoint_loop();
  std::unique_ptr<connection> checkpoint_db_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stopping_ = false;
  // The checkpointer copied what the WAL held when it started; the writer, between batches (no
  // commit of ours in flight), copies what came after, so that the WAL can start over.
  std::atomic<bool> catch_up_wanted_{false};  // set under checkpoint_mutex_, read without it
  std::atomic<int> wal_pages_{0};     // the WAL's pages after this process's last commit
  std::atomic<int> copied_pages_{0};  // of them, copied by the checkpointer's last pass
  static constexpr int catch_up_pages = 128;  // the most the writer copies itself (512 KiB)
  void set_catch_up_wanted(bool wanted);
  std::thread checkpoint_thread_;
};

}  // namespace tb::sqlite
