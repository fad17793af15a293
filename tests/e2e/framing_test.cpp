// Request smuggling: a request whose body length two readers could take differently is answered
// 400 and its connection closed, so the bytes behind it (here a DELETE of a ticket that exists)
// are never run as a request. Each case goes out on one raw socket, as an attacker would send it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e/harness.hpp"
#include "e2e/raw_connection.hpp"

namespace tb::test {
namespace {

constexpr const char* seat_body = R"({"Theatre-Seat":"1-A1"})";

// The request that must never run: it would delete the ticket.
std::string smuggled_delete() {
  return "DELETE /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(std::string(seat_body).size()) + "\r\n\r\n" + seat_body;
}

struct smuggling_case {
  const char* name;
  std::string framing;  // header lines after Host, each ending in \r\n
  std::string body;     // what follows the header, before the smuggled DELETE
};

class Framing : public ::testing::Test {
 protected:
  temp_dir tmp;
  std::filesystem::path data_dir() const { return tmp.path() / "data"; }

  // Sends `head` + `body` + the DELETE on one connection; the ticket must survive it.
  void expect_refused(unsigned short port, const smuggling_case& c) {
    SCOPED_TRACE(c.name);
    raw_connection conn(port);
    ASSERT_TRUE(conn.send("POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + c.framing + "\r\n" + c.body +
                          smuggled_delete()));
    auto answer = conn.read_to_close(10s);
    ASSERT_TRUE(answer) << "the connection stayed open";
    const auto statuses = statuses_in(*answer);
    ASSERT_EQ(statuses, std::vector<int>{400}) << *answer;
    EXPECT_NE(answer->find("\r\nConnection: close\r\n"), std::string::npos) << *answer;
    EXPECT_NE(answer->find("{\"error\":\"Bad Request"), std::string::npos) << *answer;
    EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A1").status, 200) << "the smuggled DELETE ran";
  }
};

TEST_F(Framing, ASmuggledRequestNeverRuns) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"1-A1","Movie":"Dune","Price":9})").status,
            201);
  const std::vector<smuggling_case> cases{
      {"Transfer-Encoding: identity", "Transfer-Encoding: identity\r\n", ""},
      {"Transfer-Encoding: gzip", "Transfer-Encoding: gzip\r\n", ""},
      {"Transfer-Encoding: xchunked", "Transfer-Encoding: xchunked\r\n", ""},
      {"Transfer-Encoding: chunked, identity", "Transfer-Encoding: chunked, identity\r\n", ""},
      {"Transfer-Encoding: identity, chunked", "Transfer-Encoding: identity, chunked\r\n", "0\r\n\r\n"},
      {"Transfer-Encoding twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
      {"Transfer-Encoding with Content-Length", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
      {"Content-Length with Transfer-Encoding", "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", "0\r\n\r\n"},
      {"two different Content-Lengths", "Content-Length: 0\r\nContent-Length: 5\r\n", ""},
      {"a chunk size that is not hex", "Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"},
      {"a chunk size past 64 bits", "Transfer-Encoding: chunked\r\n", "1ffffffffffffffff0\r\n"},
      {"a negative chunk size", "Transfer-Encoding: chunked\r\n", "-5\r\n"},
  };
  for (const auto& c : cases) expect_refused(server.port(), c);
  // And the server still serves.
  EXPECT_EQ(get(server.port(), "/health").status, 200);
}

// The control: the same DELETE behind a well-framed request does run, so the cases above prove
// something.
TEST_F(Framing, ARequestBehindAWellFramedOneRuns) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"1-A1","Movie":"Dune","Price":9})").status,
            201);
  raw_connection conn(server.port());
  ASSERT_TRUE(conn.send("POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                        smuggled_delete()));
  std::string answers;
  while (statuses_in(answers).size() < 2) {
    auto more = conn.read_some(10s);
    ASSERT_TRUE(more && !more->empty()) << answers;
    answers += *more;
  }
  EXPECT_EQ(statuses_in(answers), (std::vector<int>{405, 200})) << answers;
  EXPECT_EQ(get(server.port(), "/ticket?Theatre-Seat=1-A1").status, 404);
}

// A chunked body that is well formed is still read as one (curl sends these).
TEST_F(Framing, AChunkedBodyIsAccepted) {
  server_process server(data_dir());
  const std::string body = R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":9})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  raw_connection conn(server.port());
  ASSERT_TRUE(conn.send("POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n"));
  auto answer = conn.read_response(10s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(statuses_in(*answer), std::vector<int>{201}) << *answer;
}

}  // namespace
}  // namespace tb::test
