// Error hygiene and data hygiene through the real binary on loopback: a store failure under a
// running server answers the original message (503 with Retry-After when temporary), a damaged
// item in tickets.db (integrity_check still ok) is a 500 that listings skip and DELETE removes,
// a 400 quotes little of its input, and the data files are the owner's alone.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "e2e/harness.hpp"
#include "sqlite/sqlite.hpp"

namespace tb::test {
namespace {

const std::string dune = R"({"Theatre-Seat":"1-A1","Movie":"Dune","Price":15.99})";

std::string error_body(std::string_view message) { return R"({"error":")" + std::string(message) + "\"}"; }

class Hygiene : public ::testing::Test {
 protected:
  temp_dir dir;
  std::filesystem::path db = dir.path() / "tickets.db";
};

TEST_F(Hygiene, AStoreFailureUnderARunningServerAnswersTheOriginalMessageOnly) {
  server_process server(dir.path());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", dune).status, 201);
  {
    sqlite::connection other(db.string());
    other.exec("DROP TABLE tickets");
  }
  auto r = get(server.port(), "/ticket?Theatre-Seat=1-A1");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, error_body("Failed to retrieve ticket"));
  EXPECT_EQ(r.header("retry-after"), "");
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto created = request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"2-B2","Movie":"Heat"})");
  EXPECT_EQ(created.status, 500);
  EXPECT_EQ(created.body, error_body("Failed to create ticket"));
  // The detail is in the server's log, beside the message the client got.
  const std::string log = server.log();
  EXPECT_NE(log.find("no such table: tickets"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("msg":"Failed to retrieve ticket")"), std::string::npos) << log;
}

TEST_F(Hygiene, ALockedDatabaseIs503WithRetryAfter) {
  server_process server(dir.path());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", dune).status, 201);
  sqlite::connection other(db.string());
  other.exec("BEGIN IMMEDIATE");
  auto r = request(server.port(), "PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":9})");
  other.exec("ROLLBACK");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, error_body("Failed to update ticket"));
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(request(server.port(), "PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":9})").status, 200);
}

// Bytes overwritten inside an item in tickets.db: SQLite's own check still passes, so only
// reading the item can tell.
TEST_F(Hygiene, AnItemDamagedOnDiskIsA500ListingsSkipItAndDeleteRemovesIt) {
  {
    server_process server(dir.path());
    for (const char* seat : {"1-A1", "1-A2", "1-A3"})
      ASSERT_EQ(request(server.port(), "POST", "/ticket",
                        std::string(R"({"Theatre-Seat":")") + seat + R"(","Movie":"Dune","Note":"damage-me-)" + seat + "\"}")
                    .status,
                201);
    ASSERT_EQ(server.terminate(), 0);  // the last close checkpoints: the items are in tickets.db
  }
  std::string bytes;
  {
    std::ifstream in(db, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string item_start = R"({"Theatre-Seat":"1-A2")";
  const auto at = bytes.find(item_start);
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '#';  // no longer JSON, same length
  {
    std::ofstream out(db, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  {
    sqlite::connection check(db.string());
    sqlite::statement integrity(check, "PRAGMA integrity_check");
    ASSERT_TRUE(integrity.step());
    EXPECT_EQ(integrity.text(0), "ok");
    integrity.reset();
  }
  server_process server(dir.path());
  auto r = get(server.port(), "/ticket?Theatre-Seat=1-A2");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, error_body("Failed to retrieve ticket"));
  auto listing = get(server.port(), "/tickets");
  ASSERT_EQ(listing.status, 200);
  auto tickets = object_of(listing.body);  // valid JSON, whatever the damage
  EXPECT_EQ(tickets.find("tickets")->if_array()->size(), 2u) << listing.body;
  EXPECT_EQ(listing.body.find("damage-me-1-A2"), std::string::npos);
  EXPECT_NE(server.log().find("a damaged stored item is left out of a listing"), std::string::npos);
  auto deleted = request(server.port(), "DELETE", "/ticket", R"({"Theatre-Seat":"1-A2"})");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(get(server.port(), "/ticket?Theatre-Seat=1-A2").status, 404);
  EXPECT_EQ(get(server.port(), "/movies").body, R"({"movies":["Dune"]})");
}

// A 200,000-digit price once came back as a 200,061-byte error.
TEST_F(Hygiene, A400QuotesAtMost64BytesOfTheInput) {
  server_process server(dir.path());
  const std::string digits(200000, '9');
  auto r = request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"1-A1","Movie":"Dune","Price":)" + digits + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, error_body("Number " + digits.substr(0, 64) + "... has more than 38 significant digits"));
  EXPECT_EQ(get(server.port(), "/ticket?Theatre-Seat=1-A1").status, 404);
}

TEST_F(Hygiene, UpdateValueNullIsRequiredAndChangesNothing) {
  server_process server(dir.path());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", dune).status, 201);
  for (const char* body : {R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":null})",
                           R"({"Theatre-Seat":"1-A1","updateKey":"Movie"})"}) {
    auto r = request(server.port(), "PATCH", "/ticket", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body, error_body("updateValue is required"));
  }
  EXPECT_EQ(str(object_of(get(server.port(), "/ticket?Theatre-Seat=1-A1").body), "Movie"), "Dune");
}

TEST_F(Hygiene, TheDataFilesAreTheOwnersAlone) {
  server_process server(dir.path());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", dune).status, 201);
  for (const char* name : {"tickets.db", "tickets.db-wal", "tickets.db-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir.path() / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

}  // namespace
}  // namespace tb::test
