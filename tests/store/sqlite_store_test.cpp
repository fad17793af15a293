// The store contract on the SQLite adapter, plus what only the local store promises: the outbox.
#include "sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "sqlite/sqlite.hpp"
#include "sqlite/writeback_vfs.hpp"
#include "store/counting_vfs.hpp"
#include "store/ticket_store_contract.hpp"

namespace tb::test {

struct sqlite_adapter {};

namespace {
// Each test's database lives in one directory, removed when the test program ends.
class scratch_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::random_device rd;
    dir = std::filesystem::temp_directory_path() / ("tb-store-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};
auto* const scratch = ::testing::AddGlobalTestEnvironment(new scratch_environment);
std::filesystem::path scratch_dir() { return static_cast<scratch_environment*>(scratch)->dir; }

// Runs SQL on a connection of its own, beside the store's, as another process would.
::testing::AssertionResult exec_beside(const std::filesystem::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(db_path.c_str(), &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  std::string message = db ? sqlite3_errmsg(db) : "out of memory";
  sqlite3_close(db);
  if (rc == SQLITE_OK) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << sql << ": " << message;
}
}  // namespace

template <>
struct store_traits<sqlite_adapter> {
  static std::unique_ptr<ticket_store> make() {
    static int n = 0;
    return std::make_unique<sqlite::sqlite_store>(
        sqlite::sqlite_store::options{(scratch_dir() / ("t" + std::to_string(++n) + ".db")).string()});
  }
};

using Adapters = ::testing::Types<sqlite_adapter>;
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, TicketStoreContract, Adapters);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, TicketStoreRaces, Adapters);

TEST(SqliteOutbox, PriceChangeEventIsStoredWithTheWriteAndProcessedOnce) {
  sqlite::sqlite_store store({(scratch_dir() / "outbox.db").string()});
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  update_command cmd{{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-42"};
  ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { store.update(std::move(cmd), done); }));

  auto pending = store.pending_events(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].event_id, "evt-42");
  EXPECT_NE((*pending)[0].body.find(R"("eventType":"PriceChangeInitiated")"), std::string::npos);

  ASSERT_TRUE(wait_for<void>([&](auto done) { store.mark_delivered({(*pending)[0].seq}, done); }));
  EXPECT_TRUE(store.pending_events(10)->empty());
  auto log = store.events_after(0, 10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].status, "delivered");
}

TEST(SqliteOutbox, FailedEventsWaitForRetryThenParkAsDead) {
  sqlite::sqlite_store store({(scratch_dir() / "dead.db").string()});
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  update_command cmd{{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-1"};
  ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { store.update(std::move(cmd), done); }));
  auto seq = (*store.pending_events(1))[0].seq;
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.mark_failed(seq, 1, 123, false, "timeout", done); }));
  auto retry = *store.pending_events(1);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempts, 1);
  EXPECT_EQ(retry[0].next_attempt_ms, 123);
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.mark_failed(seq, 2, 0, true, "bad event", done); }));
  EXPECT_TRUE(store.pending_events(1)->empty());
  auto log = *store.events_after(0, 1);
  EXPECT_EQ(log[0].status, "dead");
  EXPECT_EQ(log[0].reason, "bad event");
}

TEST(SqliteStore, CheckpointsMoveTheWalIntoTheDatabaseWhileRunning) {
  auto path = scratch_dir() / "checkpoint.db";
  sqlite::sqlite_store::options opts{path.string()};
  opts.checkpoint_pages = 1000;
  const auto writebacks_before = sqlite::writebacks_started();
  sqlite::sqlite_store store(opts);
  // ~3,000 pages of writes: well past the checkpoint threshold of 1,000 WAL pages.
  const std::string notes(3000, 'n');
  std::vector<std::future<result<void>>> writes;
  std::vector<std::promise<result<void>>> promises(3000);
  for (std::size_t i = 0; i < promises.size(); ++i) {
    writes.push_back(promises[i].get_future());
    store.create(obj(R"({"Theatre-Seat":"s)" + std::to_string(i) + R"(","Movie":"M","Notes":")" + notes + "\"}"),
                 [p = &promises[i]](result<void> r) { p->set_value(std::move(r)); });
  }
  for (auto& w : writes) ASSERT_TRUE(w.get());
  // The checkpointer runs in the background: give it a bounded moment.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::filesystem::file_size(path) < 4'000'000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(std::filesystem::file_size(path), 4'000'000u) << "the WAL was never checkpointed";
  // The checkpoint started each copied page's writeback as it went, not only in its final fsync.
  EXPECT_GE(sqlite::writebacks_started() - writebacks_before, 4'000'000u / 4096);
}

TEST(SqliteStore, AWriteThatFailsInsideABatchTakesNoOtherWriteDown) {
  auto path = scratch_dir() / "failing.db";
  sqlite::sqlite_store store({path.string()});
  // The failure comes from SQLite itself: a trigger refuses one seat, as a full disk would.
  ASSERT_TRUE(exec_beside(path, "CREATE TRIGGER refuse BEFORE INSERT ON tickets WHEN NEW.seat = 'bad' "
                                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"));
  // Submitted together, so they share batches with the failing one.
  std::vector<std::string> seats{"good-1", "bad", "good-2", "good-3"};
  std::vector<std::promise<result<void>>> promises(seats.size());
  for (std::size_t i = 0; i < seats.size(); ++i)
    store.create(obj(R"({"Theatre-Seat":")" + seats[i] + R"(","Movie":"M"})"),
                 [p = &promises[i]](result<void> r) { p->set_value(std::move(r)); });
  for (std::size_t i = 0; i < seats.size(); ++i) {
    auto r = promises[i].get_future().get();
    auto item = store.get(seats[i]);
    ASSERT_TRUE(item);
    if (seats[i] == "bad") {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.err().code, errc::internal);  // reported, never acknowledged; no retry fixes it
      EXPECT_FALSE(*item);
    } else {
      EXPECT_TRUE(r) << seats[i];
      EXPECT_TRUE(*item) << seats[i];
    }
  }
}

// Reads are served from memory once made; a write by this store, by another store on the same
// file or by any other connection must show in the next reads.
TEST(SqliteStore, ReadsFromMemorySeeEveryCommitOfAnyConnection) {
  const std::string path = (scratch_dir() / "cache.db").string();
  sqlite::sqlite_store store({path});
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Price":1})"), done); }));
  auto read_once = [&] {
    auto item = store.get("s");
    return item && *item ? **item : std::string("<none>");
  };
  // Reads twice, a while apart: the first read after another's commit comes from the file, the
  // second from memory.
  auto read = [&] {
    std::string first = read_once();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::string second = read_once();
    return first == second ? first : first + " then " + second;
  };
  EXPECT_EQ(read(), R"({"Theatre-Seat":"s","Price":1})");

  {  // another writer, as another process would be
    sqlite::sqlite_store other({path});
    update_command cmd{{"s", "Price", json::value(*decimal::parse("2")), false}, "t0", "e0"};
    ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { other.update(std::move(cmd), done); }));
  }
  EXPECT_EQ(read(), R"({"Theatre-Seat":"s","Price":2})");

  {  // a bare connection: no store of ours involved at all
    sqlite::connection raw(path);
    raw.exec(R"(UPDATE tickets SET item = '{"Theatre-Seat":"s","Price":3}' WHERE seat = 's')");
  }
  EXPECT_EQ(read(), R"({"Theatre-Seat":"s","Price":3})");

  // This store's own writes, with a reader racing to put what it reads in memory.
  std::atomic<bool> stop{false};
  std::thread racer([&] {
    while (!stop) (void)store.get("s");
  });
  for (int i = 4; i < 200; ++i) {  // no ASSERT here: the racer must be joined
    update_command cmd{{"s", "Price", json::value(*decimal::parse(std::to_string(i))), false}, "t0", "e0"};
    const bool updated = wait_for<update_outcome>([&](auto done) { store.update(std::move(cmd), done); }).has_value();
    const std::string expected = R"({"Theatre-Seat":"s","Price":)" + std::to_string(i) + "}";
    const std::string seen = read_once();
    if (!updated || seen != expected) {
      ADD_FAILURE() << "after update " << i << ": " << seen;
      break;
    }
  }
  stop = true;
  racer.join();
  ASSERT_TRUE(wait_for<json::object>([&](auto done) { store.remove("s", done); }));
  EXPECT_EQ(read(), "<none>");
}

TEST(SqliteStore, DataSurvivesReopening) {
  auto path = (scratch_dir() / "reopen.db").string();
  {
    sqlite::sqlite_store store({path});
    ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M"})"), done); }));
  }
  sqlite::sqlite_store store({path});
  auto item = store.get("s");
  ASSERT_TRUE(item && *item);
  EXPECT_EQ(**item, R"({"Theatre-Seat":"s","Movie":"M"})");
}

// ---- the local path: price changes handled in their own transaction ------------------------

namespace {

// Stands in for the price-change handler: fixed times and ids, and every outcome it is told of.
class recording_handler final : public local_price_change_handler {
 public:
  metadata_command command_for(price_change_event event) override {
    std::lock_guard lock(mutex_);
    return {std::move(event), "t1", "processed-" + std::to_string(++made_)};
  }
  void handled(const std::string& event_id, const result<metadata_outcome>& outcome) override {
    std::lock_guard lock(mutex_);
    outcomes_.emplace_back(event_id, outcome ? (*outcome == metadata_outcome::applied ? "applied" : "other")
                                             : "error: " + outcome.err().message);
    cv_.notify_all();
  }
  std::size_t told() {
    std::lock_guard lock(mutex_);
    return outcomes_.size();
  }
  // The outcomes once there are n of them (none after 5 s).
  std::vector<std::pair<std::string, std::string>> wait(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return outcomes_.size() >= n; });
    return outcomes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int made_ = 0;
  std::vector<std::pair<std::string, std::string>> outcomes_;
};

void price_change(sqlite::sqlite_store& store, const std::string& seat, const char* price, const std::string& id) {
  update_command cmd{{seat, "Price", json::value(*decimal::parse(price)), true}, "t0", id};
  ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { store.update(std::move(cmd), done); }));
}

std::string status_of(sqlite::sqlite_store& store, std::int64_t seq) {
  auto log = store.events_after(seq - 1, 1);
  if (!log || log->empty()) return "none";
  return log->front().status;
}

TEST(SqliteLocalHandling, APriceChangeIsHandledAndDeliveredInItsOwnTransaction) {
  recording_handler handler;
  sqlite::sqlite_store store({(scratch_dir() / "local.db").string()});
  store.handle_locally(&handler);
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  std::size_t told_at_ack = 0;
  ASSERT_TRUE(wait_for<update_outcome>([&](auto done) {
    store.update({{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-1"},
                 [&, done](result<update_outcome> r) {
                   told_at_ack = handler.told();
                   done(std::move(r));
                 });
  }));

  EXPECT_EQ(told_at_ack, 1u);  // handled, and committed, by the time the change is acknowledged
  EXPECT_EQ(handler.wait(1), (std::vector<std::pair<std::string, std::string>>{{"evt-1", "applied"}}));
  auto item = store.get("s");
  ASSERT_TRUE(item && *item);
  EXPECT_EQ(**item, R"({"Theatre-Seat":"s","Movie":"M","Price":8,"PreviousPrice":10,)"
                    R"("LastPriceChangeTimestamp":"t1","DiscountPercentage":20,"IsDiscounted":true})");
  // Nothing is left for the dispatcher: both events are delivered, by this store alone.
  EXPECT_TRUE(store.pending_events(10)->empty());
  auto log = *store.events_after(0, 10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].status, "delivered");
  EXPECT_NE(log[0].event_json.find(R"("eventId":"evt-1")"), std::string::npos);
  EXPECT_EQ(log[1].status, "delivered");
  EXPECT_NE(log[1].event_json.find(R"("eventId":"processed-1","causationId":"evt-1")"), std::string::npos);
  store.handle_locally(nullptr);
}

// Two changes of one ticket in one batch: each is handled right after it, the second from the
// item the first one's handling left.
TEST(SqliteLocalHandling, TwoQuickPriceChangesEndWithTheLatestPriceAndItsDiscount) {
  recording_handler handler;
  sqlite::sqlite_store store({(scratch_dir() / "local-twice.db").string()});
  store.handle_locally(&handler);
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  // Writes queued ahead keep the writer busy, so both changes wait for, and share, one batch.
  std::vector<std::promise<bool>> done(302);
  for (int i = 0; i < 300; ++i)
    store.create(obj(R"({"Theatre-Seat":"o)" + std::to_string(i) + R"(","Movie":"M"})"),
                 [p = &done[i]](result<void> r) { p->set_value(r.has_value()); });
  store.update({{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-1"},
               [p = &done[300]](result<update_outcome> r) { p->set_value(r.has_value()); });
  store.update({{"s", "Price", json::value(*decimal::parse("6")), true}, "t0", "evt-2"},
               [p = &done[301]](result<update_outcome> r) { p->set_value(r.has_value()); });
  for (auto& p : done) ASSERT_TRUE(p.get_future().get());
  auto outcomes = handler.wait(2);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0], (std::pair<std::string, std::string>{"evt-1", "applied"}));
  EXPECT_EQ(outcomes[1], (std::pair<std::string, std::string>{"evt-2", "applied"}));
  EXPECT_EQ(**store.get("s"), R"({"Theatre-Seat":"s","Movie":"M","Price":6,"PreviousPrice":8,)"
                              R"("LastPriceChangeTimestamp":"t1","DiscountPercentage":25,"IsDiscounted":true})");
  store.handle_locally(nullptr);
}

// Earlier versions handled a change in the next transaction, its event claimed until then.
TEST(SqliteLocalHandling, WhatAnEarlierVersionLeftClaimedGoesToTheDispatcher) {
  auto path = scratch_dir() / "crashed.db";
  sqlite::sqlite_store store({path.string()});
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  price_change(store, "s", "8", "evt-1");
  // As a run that crashed between an event's transaction and its handling left it.
  ASSERT_TRUE(exec_beside(path, "UPDATE events SET status = 'delivered'; INSERT INTO local_claims SELECT seq FROM events"));
  EXPECT_EQ(status_of(store, 1), "pending");    // to anyone reading the log, it is pending
  EXPECT_TRUE(store.pending_events(10)->empty());  // but not the dispatcher's
  recording_handler handler;
  store.handle_locally(&handler);  // a new run takes over
  auto pending = *store.pending_events(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event_id, "evt-1");
  store.handle_locally(nullptr);
}

TEST(SqliteLocalHandling, AHandlingThatFailsLeavesTheEventToTheDispatcher) {
  auto path = scratch_dir() / "local-failing.db";
  recording_handler handler;
  sqlite::sqlite_store store({path.string()});
  store.handle_locally(&handler);
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  // The handler's write fails inside SQLite, as a full disk would make it.
  ASSERT_TRUE(exec_beside(path, "CREATE TRIGGER refuse BEFORE INSERT ON handled_events "
                                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"));
  price_change(store, "s", "8", "evt-1");  // the price change itself succeeds
  auto outcomes = handler.wait(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].first, "evt-1");
  EXPECT_EQ(outcomes[0].second.rfind("error: Store failure: ", 0), 0u) << outcomes[0].second;
  auto pending = *store.pending_events(10);  // given back in the price change's own transaction
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event_id, "evt-1");
  EXPECT_EQ(**store.get("s"), R"({"Theatre-Seat":"s","Movie":"M","Price":8,"PreviousPrice":10,)"
                              R"("LastPriceChangeTimestamp":"t0"})");  // no metadata half-written
  store.handle_locally(nullptr);
}

TEST(SqliteLocalHandling, AnEventTheHandlerCannotApplyGoesToTheDispatcherInTheSameWrite) {
  recording_handler handler;
  sqlite::sqlite_store store({(scratch_dir() / "local-too-big.db").string()});
  store.handle_locally(&handler);
  // After the price change the item is 5 bytes short of the limit: its metadata does not fit.
  json::object item = obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10,"Notes":""})");
  json::object changed = item;
  apply_price_change(changed, *decimal::parse("8"), "t0");
  const std::size_t size = json::serialize(json::value(changed)).size();
  item.set("Notes", std::string(max_item_bytes - 5 - size, 'n'));
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(std::move(item), done); }));
  price_change(store, "s", "8", "evt-1");
  auto outcomes = handler.wait(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].second, "error: Item size exceeds the 400 KB limit");
  auto pending = *store.pending_events(10);  // already: the same transaction gave it back
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event_id, "evt-1");
  store.handle_locally(nullptr);
}

// ---- durability: which commits wait for the disk ------------------------------------------

// The completion's view: how many times the WAL was synced when the write was acknowledged.
template <class T, class Start>
int syncs_at_ack(const counting_vfs& vfs, Start&& start) {
  int at_ack = -1;
  auto r = wait_for<T>([&](auto done) {
    start([&, done](result<T> out) {
      at_ack = vfs.wal_syncs();
      done(std::move(out));
    });
  });
  EXPECT_TRUE(r);
  return at_ack;
}

TEST(SqliteDurability, AWriteIsOnTheDiskBeforeItIsAcknowledged) {
  counting_vfs vfs;
  sqlite::sqlite_store store({(scratch_dir() / "durable.db").string()});
  const int before = vfs.wal_syncs();
  EXPECT_GT(syncs_at_ack<void>(vfs, [&](auto done) {
              store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done);
            }),
            before);
}

// The local handler's writes share the price change's commit, and so its sync.
TEST(SqliteDurability, TheLocalHandlersWriteIsOnTheDiskWithItsPriceChange) {
  counting_vfs vfs;
  recording_handler handler;
  sqlite::sqlite_store store({(scratch_dir() / "durable-local.db").string()});
  store.handle_locally(&handler);
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  const int before = vfs.wal_syncs();
  std::size_t told_at_ack = 0;
  const int at_ack = syncs_at_ack<update_outcome>(vfs, [&](auto done) {
    store.update({{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-1"},
                 [&, done](result<update_outcome> r) {
                   told_at_ack = handler.told();
                   done(std::move(r));
                 });
  });
  EXPECT_GT(at_ack, before);  // on the disk when acknowledged
  EXPECT_EQ(told_at_ack, 1u);  // and handled by then: in the same commit
  EXPECT_NE((**store.get("s")).find("DiscountPercentage"), std::string::npos);
  store.handle_locally(nullptr);
}

}  // namespace
}  // namespace tb::test
