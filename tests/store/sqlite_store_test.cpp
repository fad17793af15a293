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

// Under writes that never pause, the checkpointer alone never copies the whole WAL (commits land
// behind it), so SQLite never starts it over and the file grows with everything written. The
// writer finishes each checkpoint between batches: the WAL stays near the checkpoint threshold.
TEST(SqliteStore, UnderSteadyWritesTheWalStartsOverAndStaysSmall) {
  auto path = scratch_dir() / "steady.db";
  sqlite::sqlite_store::options opts{path.string()};
  opts.checkpoint_pages = 256;  // 1 MiB
  sqlite::sqlite_store store(opts);
  const std::string notes(3000, 'n');  // an item a page
  constexpr int seats = 2000, in_flight = 64, rounds = 160;  // ~40 MiB of pages written
  for (int i = 0; i < seats; i += in_flight) {
    std::vector<std::promise<result<void>>> promises(in_flight);
    for (int j = 0; j < in_flight; ++j)
      store.create(obj(R"({"Theatre-Seat":"s)" + std::to_string(i + j) + R"(","Notes":")" + notes + "\"}"),
                   [p = &promises[j]](result<void> r) { p->set_value(std::move(r)); });
    for (auto& p : promises) ASSERT_TRUE(p.get_future().get());
  }
  const auto wal = path.string() + "-wal";
  std::uintmax_t largest = 0;
  std::mt19937 random(7);
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::promise<result<update_outcome>>> promises(in_flight);
    for (int j = 0; j < in_flight; ++j) {
      update_command cmd{{"s" + std::to_string(random() % seats), "Round", json::value(std::to_string(round)), false},
                         "t0", "e0"};
      store.update(std::move(cmd), [p = &promises[j]](result<update_outcome> r) { p->set_value(std::move(r)); });
    }
    for (auto& p : promises) ASSERT_TRUE(p.get_future().get());
    largest = std::max(largest, std::filesystem::file_size(wal));
  }
  EXPECT_LT(largest, 12u << 20) << "the WAL grew with what was written: it never started over";
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

// A completion that throws on the completer thread: logged, told once more of a failure (so its
// request can still be answered), and the writer goes on with the next writes.
TEST(SqliteStore, ACompletionThatThrowsFailsItsRequestAndNotTheWriter) {
  sqlite::sqlite_store store({(scratch_dir() / "throwing.db").string()});
  std::promise<std::string> second_call;
  int calls = 0;
  store.create(obj(R"({"Theatre-Seat":"s","Movie":"M"})"), [&](result<void> r) {
    if (++calls == 1) throw std::runtime_error("bug in a completion");
    second_call.set_value(r ? "ok" : r.err().message);
  });
  auto told = second_call.get_future();
  ASSERT_EQ(told.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(told.get(), "completion failed: bug in a completion");
  // The write itself committed, and the writer still takes writes.
  EXPECT_TRUE(*store.get("s"));
  EXPECT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"t","Movie":"M"})"), done); }));
}

// Completions run beside the writer: while one is still at work, the next write commits.
TEST(SqliteStore, TheNextWriteCommitsWhileACompletionIsStillRunning) {
  sqlite::sqlite_store store({(scratch_dir() / "beside.db").string()});
  std::promise<bool> saw_next;
  std::promise<void> first_told;
  store.create(obj(R"({"Theatre-Seat":"a","Movie":"M"})"), [&](result<void>) {
    first_told.set_value();
    // Holds the completer until the next write is readable, or gives up.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool seen = false;
    while (!seen && std::chrono::steady_clock::now() < give_up) {
      auto b = store.get("b");
      seen = b && *b;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    saw_next.set_value(seen);
  });
  first_told.get_future().wait();
  store.create(obj(R"({"Theatre-Seat":"b","Movie":"M"})"), [](result<void>) {});
  auto seen = saw_next.get_future();
  ASSERT_EQ(seen.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(seen.get()) << "the second write waited for the first one's completion";
}

// ---- the local path: price changes handled in their own write ---------------------------

namespace {

sqlite::sqlite_store::options handling(const std::filesystem::path& path) {
  sqlite::sqlite_store::options o;
  o.path = path.string();
  o.handle_price_changes = true;
  return o;
}

result<update_outcome> change(sqlite::sqlite_store& store, const std::string& seat, const char* price,
                              const std::string& id) {
  update_command cmd{{seat, "Price", json::value(*decimal::parse(price)), true}, "t0", id};
  return wait_for<update_outcome>([&](auto done) { store.update(std::move(cmd), done); });
}

TEST(SqliteLocalHandling, APriceChangeIsHandledAndDeliveredInItsOwnWrite) {
  sqlite::sqlite_store store(handling(scratch_dir() / "local.db"));
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  auto r = change(store, "s", "8", "evt-1");
  ASSERT_TRUE(r);
  const std::string stored = R"({"Theatre-Seat":"s","Movie":"M","Price":8,"PreviousPrice":10,)"
                             R"("LastPriceChangeTimestamp":"t0","LastPriceChangeEventId":"evt-1",)"
                             R"("DiscountPercentage":20,"IsDiscounted":true})";
  EXPECT_EQ(r->new_item_json, stored);  // the answer shows the metadata
  EXPECT_EQ(**store.get("s"), stored);
  // Nothing is left for the dispatcher: both events are delivered, by this write alone.
  EXPECT_TRUE(store.pending_events(10)->empty());
  auto log = *store.events_after(0, 10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].status, "delivered");
  EXPECT_NE(log[0].event_json.find(R"("eventId":"evt-1")"), std::string::npos);
  EXPECT_EQ(log[1].status, "delivered");
  EXPECT_NE(log[1].event_json.find(R"("eventId":")" + processed_event_id("evt-1") + R"(","causationId":"evt-1")"),
            std::string::npos)
      << log[1].event_json;
  EXPECT_NE(log[1].event_json.find(R"("updatedItem":)" + stored + "}"), std::string::npos) << log[1].event_json;
}

// A batch in which one write fails runs again without it: the price changes it held are carried
// out again, whole, from what they planned (which the first run must not have used up).
TEST(SqliteLocalHandling, PriceChangesInABatchThatRunsAgainAreWrittenWhole) {
  auto path = scratch_dir() / "rerun.db";
  sqlite::sqlite_store store(handling(path));
  ASSERT_TRUE(exec_beside(path, "CREATE TRIGGER refuse BEFORE INSERT ON tickets WHEN NEW.seat = 'bad' "
                                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"));
  constexpr int seats = 60;
  const auto name = [](const char* prefix, int i) {
    std::string n(prefix);
    n += std::to_string(i);
    return n;
  };
  for (int i = 0; i < seats; ++i) {
    const std::string seat = name("p", i);
    ASSERT_TRUE(wait_for<void>([&](auto done) {
      store.create(obj(R"({"Theatre-Seat":")" + seat + R"(","Movie":"M","Price":10})"), done);
    }));
  }
  // Submitted in one burst, so that failing writes share batches with the changes.
  std::vector<std::promise<result<update_outcome>>> changed(seats);
  std::vector<std::promise<result<void>>> refused(seats / 5);
  for (int i = 0; i < seats; ++i) {
    update_command cmd{{name("p", i), "Price", json::value(*decimal::parse("8")), true}, "t0",
                       name("evt-", i)};
    store.update(std::move(cmd), [p = &changed[i]](result<update_outcome> r) { p->set_value(std::move(r)); });
    if (i % 5 == 4)
      store.create(obj(R"({"Theatre-Seat":"bad","Movie":"M"})"),
                   [p = &refused[i / 5]](result<void> r) { p->set_value(std::move(r)); });
  }
  for (auto& p : refused) EXPECT_FALSE(p.get_future().get());
  for (int i = 0; i < seats; ++i) {
    const std::string id = name("evt-", i);
    auto r = changed[i].get_future().get();
    ASSERT_TRUE(r) << i;
    std::string stored = R"({"Theatre-Seat":"p)";
    stored.append(std::to_string(i))
        .append(R"(","Movie":"M","Price":8,"PreviousPrice":10,"LastPriceChangeTimestamp":"t0",)")
        .append(R"("LastPriceChangeEventId":")")
        .append(id)
        .append(R"(","DiscountPercentage":20,"IsDiscounted":true})");
    EXPECT_EQ(r->new_item_json, stored);
    auto item = store.get(name("p", i));
    ASSERT_TRUE(item && *item) << i;
    EXPECT_EQ(**item, stored);
  }
  // Each change recorded its two events once, whatever number of runs its batch took.
  auto log = store.events_after(0, 4 * seats);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), 2u * seats);
}

// A redelivery of a change handled in its write (the bus of another process) changes nothing.
TEST(SqliteLocalHandling, TheBusFindsAChangeHandledInItsWriteADuplicate) {
  sqlite::sqlite_store store(handling(scratch_dir() / "local-dup.db"));
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  ASSERT_TRUE(change(store, "s", "8", "evt-1"));
  const std::string before = **store.get("s");
  auto log = *store.events_after(0, 10);
  price_change_event e = **parse_price_change_event(std::get<json::value>(json::parse(log[0].event_json)), "");
  metadata_command cmd{std::move(e), "t9", processed_event_id("evt-1")};
  auto r = wait_for<price_change_outcome>([&](auto done) { store.apply_price_metadata(std::move(cmd), done); });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, price_change_outcome::duplicate);
  EXPECT_EQ(**store.get("s"), before);
  EXPECT_EQ(store.events_after(0, 10)->size(), 2u);
}

// Two changes of one ticket in one batch: each from the item the one before it left.
TEST(SqliteLocalHandling, TwoQuickPriceChangesEndWithTheLatestPriceAndItsDiscount) {
  sqlite::sqlite_store store(handling(scratch_dir() / "local-twice.db"));
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
  EXPECT_EQ(**store.get("s"), R"({"Theatre-Seat":"s","Movie":"M","Price":6,"PreviousPrice":8,)"
                              R"("LastPriceChangeTimestamp":"t0","LastPriceChangeEventId":"evt-2",)"
                              R"("DiscountPercentage":25,"IsDiscounted":true})");
}

// Earlier versions handled a change in the next transaction, its event claimed until then, and
// kept handled eventIds in a table of their own.
TEST(SqliteLocalHandling, WhatAnEarlierVersionLeftClaimedGoesToTheDispatcher) {
  auto path = scratch_dir() / "crashed.db";
  {
    sqlite::sqlite_store store({path.string()});
    ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
    ASSERT_TRUE(change(store, "s", "8", "evt-1"));
  }
  // As a run that crashed between an event's transaction and its handling left it.
  ASSERT_TRUE(exec_beside(path, "UPDATE events SET status = 'delivered'; "
                                "CREATE TABLE local_claims (seq INTEGER PRIMARY KEY); "
                                "INSERT INTO local_claims SELECT seq FROM events; "
                                "CREATE TABLE handled_events (event_id TEXT PRIMARY KEY)"));
  sqlite::sqlite_store store({path.string()});  // a new run takes over
  auto pending = *store.pending_events(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event_id, "evt-1");
  EXPECT_FALSE(exec_beside(path, "SELECT 1 FROM local_claims"));  // gone, and handled_events too
  EXPECT_FALSE(exec_beside(path, "SELECT 1 FROM handled_events"));
}

// The metadata would take the item past the size limit: the change is refused whole.
TEST(SqliteLocalHandling, AChangeWhoseMetadataDoesNotFitIsRefusedWhole) {
  sqlite::sqlite_store store(handling(scratch_dir() / "local-too-big.db"));
  // After the price change alone the item is 5 bytes short of the limit.
  json::object item = obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10,"Notes":""})");
  auto bare = change_price(item, *decimal::parse("8"), "t0", "evt-1");
  ASSERT_TRUE(bare);
  item.set("Notes", std::string(max_item_bytes - 5 - bare->item_json.size(), 'n'));
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(item, done); }));
  const std::string before = **store.get("s");
  auto r = change(store, "s", "8", "evt-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().message, "Item size exceeds the 400 KB limit");
  EXPECT_EQ(**store.get("s"), before);
  EXPECT_TRUE(store.events_after(0, 10)->empty());
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

// A change handled in its write is on the disk, metadata and both events, when acknowledged.
TEST(SqliteDurability, AHandledPriceChangeIsOnTheDiskWhenAcknowledged) {
  counting_vfs vfs;
  sqlite::sqlite_store store(handling(scratch_dir() / "durable-local.db"));
  ASSERT_TRUE(wait_for<void>([&](auto done) { store.create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  const int before = vfs.wal_syncs();
  const int at_ack = syncs_at_ack<update_outcome>(vfs, [&](auto done) {
    store.update({{"s", "Price", json::value(*decimal::parse("8")), true}, "t0", "evt-1"}, std::move(done));
  });
  EXPECT_GT(at_ack, before);
  EXPECT_NE((**store.get("s")).find("DiscountPercentage"), std::string::npos);
  EXPECT_EQ(store.events_after(0, 10)->size(), 2u);
}

}  // namespace
}  // namespace tb::test
