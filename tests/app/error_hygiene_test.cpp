// Error hygiene, against real failures of a real SQLite store: the router in process over a store
// whose tables are dropped, whose database another connection locks, whose disk fills (a VFS that
// fails writes as a full disk does) or whose items are damaged. Each failure answers the original
// service's message with the right status, never SQL or SQLite's text, and logs the detail.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "app/router.hpp"
#include "e2e/harness.hpp"
#include "sqlite/sqlite.hpp"
#include "sqlite/sqlite_store.hpp"
#include "sqlite/vfs_shim.hpp"

namespace tb {
namespace {

using test::temp_dir;

// A disk that fills on demand: the default VFS, every write failing as a full disk's does (SQLite
// reads ENOSPC as SQLITE_FULL) while `disk_full` is set.
std::atomic<bool> disk_full{false};
struct full_disk_file {
  sqlite3_file base;
};
sqlite3_vfs* plain_vfs = nullptr;
sqlite3_vfs full_disk_vfs;

const sqlite3_io_methods full_disk_methods = [] {
  sqlite3_io_methods m = sqlite::forwarding_methods<full_disk_file>();
  m.xWrite = [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    if (disk_full) return SQLITE_FULL;
    sqlite3_file* real = sqlite::underlying<full_disk_file>(f);
    return real->pMethods->xWrite(real, buf, n, off);
  };
  return m;
}();

void install_full_disk_vfs() {
  static const bool installed = [] {
    sqlite::initialize();
    plain_vfs = sqlite3_vfs_find(nullptr);
    full_disk_vfs = *plain_vfs;
    full_disk_vfs.szOsFile = static_cast<int>(sizeof(full_disk_file)) + plain_vfs->szOsFile;
    full_disk_vfs.zName = "tb-test-full-disk";
    full_disk_vfs.xOpen = [](sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
      sqlite3_file* real = sqlite::underlying<full_disk_file>(f);
      const int rc = plain_vfs->xOpen(plain_vfs, name, real, flags, out);
      f->pMethods = real->pMethods ? &full_disk_methods : nullptr;
      return rc;
    };
    return sqlite3_vfs_register(&full_disk_vfs, 1) == SQLITE_OK;  // the default from now on
  }();
  ASSERT_TRUE(installed);
}

std::string error_body(std::string_view message) { return R"({"error":")" + std::string(message) + "\"}"; }

// Nothing of SQL, SQLite or the store's own words reaches a client.
void expect_no_internals(const api_response& r) {
  for (const char* internal : {"SELECT", "INSERT", "UPDATE", "DELETE", "sqlite", "SQLite", "no such table",
                               "locked", "full", "Store failure", "tickets WHERE"})
    EXPECT_EQ(r.body.find(internal), std::string::npos) << internal << " in " << r.body;
}

class StoreFailures : public ::testing::Test {
 protected:
  temp_dir dir;
  std::string path = (dir.path() / "tickets.db").string();
  system_clock clock;
  std::unique_ptr<sqlite::sqlite_store> store;
  std::unique_ptr<router> routes;

  void open(sqlite::sqlite_store::options opts = {}) {
    routes.reset();
    store.reset();
    opts.path = path;
    store = std::make_unique<sqlite::sqlite_store>(std::move(opts));
    routes = std::make_unique<router>(*store, store.get(), clock);
  }
  void SetUp() override { open(); }

  api_response send(std::string method, std::string target_path, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> query = {}) {
    api_request req;
    req.method = std::move(method);
    req.path = std::move(target_path);
    req.query = std::move(query);
    req.body = std::move(body);
    return routes->handle_sync(std::move(req));
  }
  api_response get_ticket(const std::string& seat) { return send("GET", "/ticket", {}, {{"Theatre-Seat", seat}}); }
  api_response create(const std::string& seat, const std::string& movie) {
    return send("POST", "/ticket", R"({"Theatre-Seat":")" + seat + R"(","Movie":")" + movie + R"(","Price":10})");
  }
  // SQL run by another connection, as another process (or an operator) would.
  void sql(const char* statements) {
    sqlite::connection other(path);
    other.exec(statements);
  }

  // Every route's failure, with the status each must answer.
  void expect_every_route_fails(int status) {
    const std::string retry_after = status == 503 ? "1" : "";
    struct call {
      api_response r;
      std::string_view message;
    };
    std::vector<call> calls;
    calls.push_back({get_ticket("1-A1"), "Failed to retrieve ticket"});
    calls.push_back({send("GET", "/tickets"), "Failed to retrieve tickets"});
    calls.push_back({send("GET", "/tickets", {}, {{"limit", "5"}}), "Failed to retrieve tickets"});
    calls.push_back({send("GET", "/movies"), "Failed to retrieve movies"});
    calls.push_back({create("2-B2", "Heat"), "Failed to create ticket"});
    calls.push_back({send("PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":"X"})"),
                     "Failed to update ticket"});
    calls.push_back({send("DELETE", "/ticket", R"({"Theatre-Seat":"1-A1"})"), "Failed to delete ticket"});
    for (const auto& [r, message] : calls) {
      SCOPED_TRACE(message);
      EXPECT_EQ(r.status, status);
      EXPECT_EQ(r.body, error_body(message));
      EXPECT_EQ(r.retry_after, retry_after);
      expect_no_internals(r);
    }
  }
};

TEST_F(StoreFailures, MissingTablesAnswer500WithTheOriginalMessagesAndLogTheDetail) {
  ASSERT_EQ(create("1-A1", "Dune").status, 201);
  sql("DROP TABLE tickets; DROP TABLE movie_counts");
  testing::internal::CaptureStderr();
  expect_every_route_fails(500);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("no such table: tickets"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("msg":"Failed to create ticket")"), std::string::npos) << log;
}

TEST_F(StoreFailures, ALockedDatabaseAnswers503WithRetryAfterThenRecovers) {
  ASSERT_EQ(create("1-A1", "Dune").status, 201);
  {
    sqlite::connection other(path);
    other.exec("BEGIN IMMEDIATE");  // the write lock, held past the store's busy timeout
    testing::internal::CaptureStderr();
    auto r = create("2-B2", "Heat");
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, error_body("Failed to create ticket"));
    EXPECT_EQ(r.retry_after, "1");
    expect_no_internals(r);
    EXPECT_NE(log.find("database is locked"), std::string::npos) << log;
    EXPECT_EQ(get_ticket("1-A1").status, 200);  // readers are not blocked by a writer
    other.exec("ROLLBACK");
  }
  EXPECT_EQ(create("2-B2", "Heat").status, 201);  // and the retry the 503 asked for succeeds
}

TEST_F(StoreFailures, AFullDiskAnswers503WithRetryAfterAndLosesNothing) {
  install_full_disk_vfs();
  open();  // on the full-disk VFS, now the default
  ASSERT_EQ(create("1-A1", "Dune").status, 201);
  disk_full = true;
  testing::internal::CaptureStderr();
  auto created = create("2-B2", "Heat");
  auto updated = send("PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":5})");
  auto deleted = send("DELETE", "/ticket", R"({"Theatre-Seat":"1-A1"})");
  const std::string log = testing::internal::GetCapturedStderr();
  disk_full = false;
  for (const auto& [r, message] : {std::pair{created, "Failed to create ticket"}, std::pair{updated, "Failed to update ticket"},
                                   std::pair{deleted, "Failed to delete ticket"}}) {
    SCOPED_TRACE(message);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, error_body(message));
    EXPECT_EQ(r.retry_after, "1");
    expect_no_internals(r);
  }
  EXPECT_NE(log.find("database or disk is full"), std::string::npos) << log;
  // Room again: what was acknowledged is there, what was refused is not, and writes work.
  auto kept = get_ticket("1-A1");
  EXPECT_EQ(kept.status, 200);
  EXPECT_NE(kept.body.find(R"("Price":10)"), std::string::npos) << kept.body;
  EXPECT_EQ(get_ticket("2-B2").status, 404);
  EXPECT_EQ(create("2-B2", "Heat").status, 201);
}

// A damaged item (bytes changed under the store: not JSON, or JSON but not an object) answers its
// GET with a 500, is left out of listings (which stay valid JSON) and can be deleted.
TEST_F(StoreFailures, ADamagedItemIsA500SkippedInListingsAndDeletable) {
  ASSERT_EQ(create("1-A1", "Dune").status, 201);
  ASSERT_EQ(create("1-A2", "Heat").status, 201);
  ASSERT_EQ(create("1-A3", "Up").status, 201);
  ASSERT_EQ(create("1-A4", "Alien").status, 201);
  ASSERT_EQ(get_ticket("1-A2").status, 200);  // in the item cache too
  sql(R"(UPDATE tickets SET item = '{"Theatre-Seat":"1-A2","Mov' WHERE seat = '1-A2';
         UPDATE tickets SET item = '[1,2]' WHERE seat = '1-A3')");
  testing::internal::CaptureStderr();
  for (const char* seat : {"1-A2", "1-A3"}) {
    auto r = get_ticket(seat);
    EXPECT_EQ(r.status, 500) << seat;
    EXPECT_EQ(r.body, error_body("Failed to retrieve ticket"));
    EXPECT_TRUE(r.retry_after.empty());
  }
  auto whole = send("GET", "/tickets");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body.find("1-A2"), std::string::npos) << whole.body;
  auto listing = test::object_of(whole.body);  // throws unless valid JSON
  ASSERT_TRUE(listing.find("tickets") && listing.find("tickets")->if_array());
  EXPECT_EQ(listing.find("tickets")->if_array()->size(), 2u) << whole.body;
  // Paged, one at a time: every page valid JSON, the cursor moving past the damaged ones.
  std::vector<std::string> seats;
  std::vector<std::pair<std::string, std::string>> query{{"limit", "1"}};
  for (int page = 0; page < 10; ++page) {
    auto r = send("GET", "/tickets", {}, query);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = test::object_of(r.body);
    for (const auto& t : *body.find("tickets")->if_array()) seats.push_back(test::str(*t.if_object(), "Theatre-Seat"));
    const json::value* next = body.find("nextCursor");
    if (!next) break;
    query = {{"limit", "1"}, {"cursor", *next->if_string()}};
  }
  EXPECT_EQ(seats, (std::vector<std::string>{"1-A1", "1-A4"}));
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(R"("seat":"1-A2")"), std::string::npos) << log;

  auto deleted = send("DELETE", "/ticket", R"({"Theatre-Seat":"1-A2"})");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(test::raw(test::object_of(deleted.body), "deletedItem"), R"({"Theatre-Seat":"1-A2"})");
  EXPECT_EQ(get_ticket("1-A2").status, 404);
  EXPECT_EQ(send("DELETE", "/ticket", R"({"Theatre-Seat":"1-A3"})").status, 200);
  // The movies the damaged items were counted under go with them.
  EXPECT_EQ(send("GET", "/movies").body, R"({"movies":["Alien","Dune"]})");
}

// invoke and events do not own the data: they never checkpoint (serve's checkpointer does), so
// they neither contend with it nor warn about it.
TEST_F(StoreFailures, AStoreThatDoesNotOwnTheDataNeverCheckpoints) {
  sqlite::sqlite_store::options opts;
  opts.checkpoints = false;
  opts.checkpoint_pages = 1;  // an owner would checkpoint after every commit
  open(opts);
  constexpr int tickets = 40;
  for (int i = 0; i < tickets; ++i) ASSERT_EQ(create("S-" + std::to_string(i), "Dune").status, 201);
  sqlite::connection other(path);
  sqlite::statement checkpoint(other, "PRAGMA wal_checkpoint(PASSIVE)");
  ASSERT_TRUE(checkpoint.step());
  // Every commit is still in the WAL, none copied back yet: the log holds a frame per commit at least.
  EXPECT_GE(checkpoint.integer(1), tickets);
  checkpoint.reset();
}

}  // namespace
}  // namespace tb
