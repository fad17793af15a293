// What must hold when clients and the machine misbehave: one booking per seat under a race,
// acknowledged writes that survive kill -9, a clean SIGTERM that still answers the request in
// flight, and HTTP that is malformed, oversized or hostile getting a 4xx (or a clean close),
// never a 5xx or a dead server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "e2e/harness.hpp"
#include "e2e/raw_connection.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;


// The contract's content type and CORS headers, in the head of a raw response.
bool has_standard_headers(const std::string& response) {
  const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
  for (const char* line : {"\r\nContent-Type: application/json\r\n", "\r\nAccess-Control-Allow-Origin: *\r\n",
                           "\r\nAccess-Control-Allow-Methods: GET,POST,PATCH,DELETE,OPTIONS\r\n",
                           "\r\nAccess-Control-Allow-Headers: "
                           "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token\r\n"})
    if (head.find(line) == std::string::npos) return false;
  return true;
}


// A literal with its embedded NULs.
template <std::size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string json_quoted(std::string_view s) {
  std::string out;
  json::append_quoted(out, s);
  return out;
}

std::string ticket_body(std::string_view seat, std::string_view extra = "") {
  std::string body = "{\"Theatre-Seat\":" + json_quoted(seat) + ",\"Movie\":\"Dune\"";
  if (!extra.empty()) {
    body += ',';
    body += extra;
  }
  return body + "}";
}

std::optional<json::value> parse_json(const std::string& text) {
  auto parsed = json::parse(text);
  if (auto* v = std::get_if<json::value>(&parsed)) return std::move(*v);
  return std::nullopt;
}

// Equal as JSON: the same members with the same values, in any member order.
::testing::AssertionResult same_json(const std::string& actual, const std::string& expected) {
  auto a = parse_json(actual);
  auto b = parse_json(expected);
  if (a && b && *a == *b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << actual << "\n want " << expected;
}

::testing::AssertionResult is_error(const http_response& r, int status, const std::string& message) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "status " << r.status << ", want " << status << "; body " << r.body;
  json::object want;
  want.append_new("error", message);
  auto body = parse_json(r.body);
  if (!body || !(*body == json::value(want)))
    return ::testing::AssertionFailure() << "body " << r.body << ", want " << json::serialize(want);
  if (r.header("content-type") != "application/json" || r.header("access-control-allow-origin") != "*")
    return ::testing::AssertionFailure() << "missing content type or CORS headers";
  return ::testing::AssertionSuccess();
}

// {"error": "<message>"} with the contract's headers, where the message is not fixed.
bool is_error_body(const http_response& r) {
  auto body = parse_json(r.body);
  const json::object* o = body ? body->if_object() : nullptr;
  const json::value* e = o && o->size() == 1 ? o->find("error") : nullptr;
  return e && e->if_string() && !e->if_string()->empty() && r.header("content-type") == "application/json" &&
         r.header("access-control-allow-origin") == "*";
}

::testing::AssertionResult is_healthy(unsigned short port) {
  try {
    auto r = get(port, "/health");
    if (r.status == 200 && r.body == R"({"status":"ok"})") return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "GET /health: " << r.status << " " << r.body;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "GET /health failed: " << e.what();
  }
}

// Waits (up to 15 s) for the process to exit on its own; it stays a zombie until reaped, so a
// later terminate() only collects its exit status and cannot be what stopped it.
bool exited_by_itself(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos || line.substr(close_paren + 2, 1) == "Z") return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::string post_head(std::size_t content_length, std::string_view extra_headers = "") {
  return "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(content_length) + "\r\n" + std::string(extra_headers) + "\r\n";
}

class Robustness : public ::testing::Test {
 protected:
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  temp_dir dir_;
};

// --- Concurrency --------------------------------------------------------------------------------

TEST_F(Robustness, HundredSimultaneousBookingsOfOneSeatYieldOne201) {
  server_process server(data_dir());
  constexpr int clients = 100;
  std::vector<http_response> answers(clients);
  std::latch ready(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      ready.arrive_and_wait();  // all at once, each on its own connection
      answers[i] = request(server.port(), "POST", "/ticket", ticket_body("1-A9", "\"Buyer\":" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  int created = 0, conflicts = 0, winner = -1;
  for (int i = 0; i < clients; ++i) {
    if (answers[i].status == 201) {
      ++created;
      winner = i;
    } else if (is_error(answers[i], 409, "Ticket already exists")) {
      ++conflicts;
    } else {
      ADD_FAILURE() << "client " << i << ": " << answers[i].status << " " << answers[i].body;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, clients - 1);
  ASSERT_GE(winner, 0);
  // The one acknowledged booking is the one stored: no later request overwrote it.
  auto stored = get(server.port(), "/ticket?Theatre-Seat=1-A9");
  EXPECT_TRUE(same_json(stored.body, ticket_body("1-A9", "\"Buyer\":" + std::to_string(winner))));
}

TEST_F(Robustness, UpdatesRacingADeleteNeverBringTheTicketBack) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("1-A9", "\"Price\":15.99")).status, 201);
  constexpr int updaters = 40;
  std::vector<int> statuses(updaters);
  int delete_status = 0;
  std::latch ready(updaters + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < updaters; ++i) {
    threads.emplace_back([&, i] {
      ready.arrive_and_wait();
      const std::string key = i % 2 ? "Price" : "Note";
      statuses[i] =
          request(server.port(), "PATCH", "/ticket",
                  R"({"Theatre-Seat":"1-A9","updateKey":")" + key + R"(","updateValue":)" + std::to_string(i) + "}")
              .status;
    });
  }
  threads.emplace_back([&] {
    ready.arrive_and_wait();
    delete_status = request(server.port(), "DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})").status;
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(delete_status, 200);
  for (int s : statuses) EXPECT_TRUE(s == 200 || s == 404) << s;
  EXPECT_TRUE(is_error(get(server.port(), "/ticket?Theatre-Seat=1-A9"), 404, "Ticket not found"));
  EXPECT_EQ(get(server.port(), "/tickets").body, R"({"tickets":[]})");
}

// --- Durability ---------------------------------------------------------------------------------

TEST_F(Robustness, AcknowledgedCreatesSurviveKill9) {
  constexpr int count = 50;
  std::vector<std::string> bodies;
  {
    server_process server(data_dir());
    http_client client(server.port());
    for (int i = 0; i < count; ++i) {
      char seat[16];
      std::snprintf(seat, sizeof seat, "K-%03d", i);
      bodies.push_back(
          ticket_body(seat, "\"Price\":" + std::to_string(i) + ".50,\"Tags\":[\"t\"," + std::to_string(i) + "]"));
      ASSERT_EQ(client.send("POST", "/ticket", bodies.back()).status, 201);
    }
    server.kill9();  // right after the last acknowledgement
  }
  server_process restarted(data_dir());
  std::string expected = "{\"tickets\":[";
  for (int i = 0; i < count; ++i) {
    if (i) expected += ',';
    expected += bodies[i];
  }
  EXPECT_TRUE(same_json(get(restarted.port(), "/tickets").body, expected + "]}"));
}

TEST_F(Robustness, AcknowledgedUpdateAndDeleteSurviveKill9) {
  {
    server_process server(data_dir());
    for (const char* seat : {"1-A1", "1-A2", "1-A3"})
      ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body(seat, "\"Price\":15.99")).status, 201);
    ASSERT_EQ(request(server.port(), "PATCH", "/ticket",
                      R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":"Arrival"})")
                  .status,
              200);
    ASSERT_EQ(request(server.port(), "DELETE", "/ticket", R"({"Theatre-Seat":"1-A2"})").status, 200);
    ASSERT_EQ(
        request(server.port(), "PATCH", "/ticket", R"({"Theatre-Seat":"1-A3","updateKey":"Price","updateValue":12.99})")
            .status,
        200);
    server.kill9();
  }
  server_process restarted(data_dir());
  auto a1 = get(restarted.port(), "/ticket?Theatre-Seat=1-A1");
  EXPECT_TRUE(same_json(a1.body, R"({"Theatre-Seat":"1-A1","Movie":"Arrival","Price":15.99})"));
  EXPECT_TRUE(is_error(get(restarted.port(), "/ticket?Theatre-Seat=1-A2"), 404, "Ticket not found"));
  auto a3 = get(restarted.port(), "/ticket?Theatre-Seat=1-A3");
  ASSERT_EQ(a3.status, 200);
  EXPECT_NE(a3.body.find(R"("Price":12.99)"), std::string::npos) << a3.body;
  EXPECT_NE(a3.body.find(R"("PreviousPrice":15.99)"), std::string::npos) << a3.body;
  // The price change's event was acknowledged with it (priceChangeEventPublished) and survives too.
  auto events = get(restarted.port(), "/events");
  EXPECT_NE(events.body.find(R"("eventType":"PriceChangeInitiated")"), std::string::npos) << events.body;
}

// --- Shutdown -----------------------------------------------------------------------------------

TEST_F(Robustness, SigtermExitsZeroAndKeepsTheData) {
  {
    server_process server(data_dir());
    ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("1-A1")).status, 201);
    EXPECT_EQ(server.terminate(), 0);
    EXPECT_NE(server.log().find("shutting down"), std::string::npos) << server.log();
  }
  server_process restarted(data_dir());
  EXPECT_EQ(get(restarted.port(), "/ticket?Theatre-Seat=1-A1").status, 200);
}

TEST_F(Robustness, SigintExitsZeroToo) {
  server_process server(data_dir());
  ASSERT_EQ(::kill(server.pid(), SIGINT), 0);
  ASSERT_TRUE(exited_by_itself(server.pid())) << server.log();
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_NE(server.log().find(R"("msg":"stopped")"), std::string::npos) << server.log();
}

TEST_F(Robustness, SigtermStillAnswersTheRequestInFlight) {
  std::optional<std::string> answer;
  {
    server_process server(data_dir());
    // An idle keep-alive connection, to observe that shutdown has begun: it is closed.
    raw_connection idle(server.port());
    ASSERT_TRUE(idle.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(idle.read_response());

    // A POST whose headers are in but whose body is still on its way. 100-continue tells us
    // when the server has read the headers.
    const std::string body = ticket_body("1-A1", "\"Price\":9.99");
    raw_connection slow(server.port());
    ASSERT_TRUE(slow.send(post_head(body.size(), "Expect: 100-continue\r\n")));
    auto cont = slow.read_some(10s);
    ASSERT_TRUE(cont && cont->starts_with("HTTP/1.1 100")) << cont.value_or("<timeout>");

    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    ASSERT_EQ(idle.read_to_close(), std::string()) << "the idle connection was not closed at shutdown";

    slow.send(body);
    answer = slow.read_to_close();
    ASSERT_TRUE(exited_by_itself(server.pid())) << server.log();
    EXPECT_EQ(server.terminate(), 0);
  }
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->starts_with("HTTP/1.1 201")) << *answer;
  EXPECT_NE(answer->find(R"({"message":"Ticket created successfully","Theatre-Seat":"1-A1","Movie":"Dune"})"),
            std::string::npos)
      << *answer;
  server_process restarted(data_dir());
  EXPECT_TRUE(
      same_json(get(restarted.port(), "/ticket?Theatre-Seat=1-A1").body, ticket_body("1-A1", "\"Price\":9.99")));
}

// --- Oversized and malformed input ----------------------------------------------------------------

TEST_F(Robustness, BodyOverOneMebibyteIs413) {
  server_process server(data_dir());
  constexpr std::size_t mib = 1024 * 1024;
  {
    // Declared too large: refused before the body is read.
    raw_connection c(server.port());
    ASSERT_TRUE(c.send(post_head(mib + 1)));
    auto answer = c.read_to_close();
    ASSERT_TRUE(answer);
    EXPECT_EQ(statuses_in(*answer), std::vector<int>{413}) << *answer;
    EXPECT_TRUE(has_standard_headers(*answer)) << *answer;
  }
  {
    // Sent in chunks, so the size is only known as it arrives.
    raw_connection c(server.port());
    std::string chunked = "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string piece(64 * 1024, ' ');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    for (std::size_t sent = 0; sent <= mib; sent += piece.size()) chunked += size_line + piece + "\r\n";
    chunked += "0\r\n\r\n";
    c.send(chunked);  // the server may stop reading once it has seen enough
    auto answer = c.read_to_close();
    ASSERT_TRUE(answer);
    EXPECT_EQ(statuses_in(*answer), std::vector<int>{413}) << answer->substr(0, 300);
  }
  // Exactly 1 MiB is within the limit: it is read and judged as JSON.
  auto at_limit = request(server.port(), "POST", "/ticket", std::string(mib, '['));
  EXPECT_TRUE(is_error(at_limit, 400, "Invalid JSON format"));
  // A client that writes its whole request before reading still gets to read the answer.
  for (std::size_t size : {mib + 1, 16 * mib}) {
    auto over = request(server.port(), "POST", "/ticket", std::string(size, ' '));
    EXPECT_EQ(over.status, 413) << size;
    EXPECT_TRUE(is_error_body(over)) << over.body;
  }
  EXPECT_TRUE(is_healthy(server.port()));
  EXPECT_EQ(get(server.port(), "/tickets").body, R"({"tickets":[]})");
}

TEST_F(Robustness, MalformedHttpGets4xxOrACleanCloseNeverA5xx) {
  server_process server(data_dir());
  const std::string big_header(64 * 1024, 'a');
  const std::map<std::string, std::string> cases{
      {"garbage", bytes("\x00\x01\x02\xff\xfe garbage\r\n\r\n")},
      {"only CRLF", "\r\n\r\n\r\n"},
      {"request line without target", "GET\r\n\r\n"},
      {"request line with spaces", "GET / / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"unknown version", "GET /health HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"},
      {"lower-case method", "get /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"binary method", "G\x01T /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"header without colon", "GET /health HTTP/1.1\r\nHost x\r\n\r\n"},
      {"header with NUL", bytes("GET /health HTTP/1.1\r\nX-A: a\0b\r\n\r\n")},
      {"header over the limit", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + big_header + "\r\n\r\n"},
      {"many headers",
       [] {
         std::string s = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
         for (int i = 0; i < 5000; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
         return s + "\r\n";
       }()},
      {"Content-Length not a number", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n{}"},
      {"Content-Length negative", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n{}"},
      {"Content-Length overflowing",
       "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
      {"Content-Length twice, differing",
       "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"},
      {"Content-Length with chunked",
       "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: "
       "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"},
      {"bad chunk size", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
      {"truncated body", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"Theatre-Seat\":\"T-1\""},
      {"truncated headers", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len"},
      {"truncated chunked body", "POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"The"},
      {"bad percent-encoding", "GET /ticket?Theatre-Seat=%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"absolute-form target", "GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"control bytes in target", "GET /tick\x01t HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    {
      raw_connection c(server.port());
      c.send(bytes);
      c.close_sending();  // nothing more is coming: the server must not wait for it
      auto answer = c.read_to_close();
      ASSERT_TRUE(answer) << "no answer and no close";
      for (int status : statuses_in(*answer)) {
        EXPECT_GE(status, 200) << answer->substr(0, 300);
        EXPECT_LT(status, 500) << answer->substr(0, 300);
      }
      if (!answer->empty()) {
        EXPECT_TRUE(answer->starts_with("HTTP/1.1 4")) << answer->substr(0, 300);
        EXPECT_TRUE(has_standard_headers(*answer)) << answer->substr(0, 300);
      }
    }
    ASSERT_TRUE(is_healthy(server.port()));
  }
  EXPECT_EQ(get(server.port(), "/tickets").body, R"({"tickets":[]})");  // no half-read body was stored
}

TEST_F(Robustness, HeadIsAnsweredWithoutABody) {
  // A body after a HEAD answer would be read as the start of the next response.
  server_process server(data_dir());
  for (const char* path : {"/health", "/ticket", "/tickets", "/nope"}) {
    SCOPED_TRACE(path);
    raw_connection c(server.port());
    ASSERT_TRUE(c.send(std::string("HEAD ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                       "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    auto answer = c.read_to_close();
    ASSERT_TRUE(answer);
    auto head_end = answer->find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << *answer;
    EXPECT_LT(statuses_in(answer->substr(0, head_end))[0], 500);
    EXPECT_TRUE(answer->substr(head_end + 4).starts_with("HTTP/1.1 200 OK\r\n")) << *answer;
    EXPECT_TRUE(answer->ends_with(R"({"status":"ok"})")) << *answer;
  }
}

TEST_F(Robustness, PipelinedRequestsAreAnsweredInOrder) {
  server_process server(data_dir());
  raw_connection c(server.port());
  const std::string body = ticket_body("1-A1");
  ASSERT_TRUE(c.send(post_head(body.size()) + body + "GET /ticket?Theatre-Seat=1-A1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                     "GET /ticket?Theatre-Seat=none HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  auto answer = c.read_to_close();
  ASSERT_TRUE(answer);
  EXPECT_EQ(statuses_in(*answer), (std::vector<int>{201, 200, 404})) << *answer;
}

TEST_F(Robustness, DeeplyNestedJsonIs400) {
  server_process server(data_dir());
  const std::string deep_array = std::string(10'000, '[') + std::string(10'000, ']');
  std::string deep_object;
  for (int i = 0; i < 10'000; ++i) deep_object += "{\"a\":";
  deep_object += '1';
  deep_object.append(10'000, '}');
  for (const std::string& body : {deep_array, deep_object, ticket_body("1-A1", "\"Deep\":" + deep_array),
                                  ticket_body("1-A1", "\"Deep\":" + deep_object)}) {
    EXPECT_TRUE(is_error(request(server.port(), "POST", "/ticket", body), 400, "Invalid JSON format"));
    EXPECT_TRUE(is_error(request(server.port(), "PATCH", "/ticket", body), 400, "Invalid JSON format"));
    EXPECT_TRUE(is_error(request(server.port(), "DELETE", "/ticket", body), 400, "Invalid JSON format"));
  }
  // Unbalanced, as an attacker would send it.
  EXPECT_TRUE(
      is_error(request(server.port(), "POST", "/ticket", std::string(100'000, '{')), 400, "Invalid JSON format"));
  // Reasonable nesting is data, not an attack.
  std::string nested;
  for (int i = 0; i < 10; ++i) nested += "{\"n\":[";
  nested += '0';
  for (int i = 0; i < 10; ++i) nested += "]}";
  EXPECT_EQ(request(server.port(), "POST", "/ticket", ticket_body("1-A2", "\"Nested\":" + nested)).status, 201);
  EXPECT_TRUE(is_healthy(server.port()));
  EXPECT_TRUE(
      same_json(get(server.port(), "/ticket?Theatre-Seat=1-A2").body, ticket_body("1-A2", "\"Nested\":" + nested)));
  EXPECT_TRUE(is_error(get(server.port(), "/ticket?Theatre-Seat=1-A1"), 404, "Ticket not found"));
}

TEST_F(Robustness, InvalidUtf8IsRejected) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("1-A1")).status, 201);
  const std::string before = get(server.port(), "/tickets").body;
  for (const std::string bad :
       {"\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "abc\xe2\x82", "\\ud800", "\\udc00x"}) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    for (const std::string& body : {"{\"Theatre-Seat\":\"1-B1\",\"Movie\":\"" + bad + "\"}",
                                    "{\"Theatre-Seat\":\"1-B" + bad + "\",\"Movie\":\"M\"}",
                                    "{\"Theatre-Seat\":\"1-B1\",\"Movie\":\"M\",\"K" + bad + "\":1}"}) {
      EXPECT_TRUE(is_error(request(server.port(), "POST", "/ticket", body), 400, "Invalid JSON format"));
    }
    EXPECT_TRUE(is_error(request(server.port(), "PATCH", "/ticket",
                                 "{\"Theatre-Seat\":\"1-A1\",\"updateKey\":\"Movie\",\"updateValue\":\"" + bad + "\"}"),
                         400, "Invalid JSON format"));
  }
  EXPECT_EQ(get(server.port(), "/tickets").body, before);
  // Valid multi-byte text, raw or escaped, is kept as written.
  const std::string text = "\xc3\x9c \xe2\x82\xac \xf0\x9f\x8e\xac";
  ASSERT_EQ(request(server.port(), "POST", "/ticket",
                    R"({"Theatre-Seat":"1-C1","Movie":")" + text + R"(","Escaped":"\u00dc \u20ac \ud83c\udfac"})")
                .status,
            201);
  auto stored = get(server.port(), "/ticket?Theatre-Seat=1-C1");
  EXPECT_TRUE(same_json(stored.body, R"({"Theatre-Seat":"1-C1","Movie":")" + text + R"(","Escaped":")" + text + "\"}"));
}

// --- Connections and ports ------------------------------------------------------------------------

// Each open connection keeps a buffer for its next response: a large response (a page of big
// tickets) must not leave every idle connection holding that much memory.
TEST_F(Robustness, IdleConnectionsDoNotKeepTheirLargestResponse) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine by design; without the quarantine the server
  // gives freed blocks back as the normal build does, and the measurement means the same.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asan_before = asan ? asan : "";
  setenv("ASAN_OPTIONS", (asan_before + ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0").c_str(), 1);
  server_process server(data_dir());
  setenv("ASAN_OPTIONS", asan_before.c_str(), 1);
#else
  server_process server(data_dir());
#endif
  const std::string notes = "\"Notes\":\"" + std::string(6000, 'n') + "\"";
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("BIG-" + std::to_string(1000 + i), notes)).status,
              201);
  auto rss_kib = [&] {
    std::ifstream status("/proc/" + std::to_string(server.pid()) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1L;
  };
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < 20; ++i) {  // warm up whatever the server allocates once
    clients.push_back(std::make_unique<http_client>(server.port()));
    ASSERT_EQ(clients.back()->send("GET", "/tickets?limit=1000").status, 200);
  }
  const long before = rss_kib();
  for (int i = 0; i < 100; ++i) {  // each response is over 600 KB
    clients.push_back(std::make_unique<http_client>(server.port()));
    auto page = clients.back()->send("GET", "/tickets?limit=1000");
    ASSERT_EQ(page.status, 200);
    ASSERT_GT(page.body.size(), 600'000u);
  }
  const long grown_kib = rss_kib() - before;
  EXPECT_LT(grown_kib, 20 * 1024) << "100 idle connections grew the server by " << grown_kib << " KiB";
}

TEST_F(Robustness, KeepAliveAnswersHundredRequestsOnOneConnection) {
  server_process server(data_dir());
  http_client client(server.port());
  for (int i = 0; i < 100; ++i) {
    const std::string seat = "KA-" + std::to_string(i);
    http_response r;
    switch (i % 4) {
      case 0:
        r = client.send("POST", "/ticket", ticket_body(seat));
        break;
      case 1:
        r = client.send("GET", "/ticket?Theatre-Seat=KA-" + std::to_string(i - 1));
        break;
      case 2:
        r = client.send("POST", "/ticket", "{");
        break;  // an error keeps the connection too
      case 3:
        r = client.send("GET", "/ticket?Theatre-Seat=" + seat);
        break;
    }
    const int want[] = {201, 200, 400, 404};
    ASSERT_EQ(r.status, want[i % 4]) << "request " << i << ": " << r.body;
    EXPECT_NE(r.header("connection"), "close") << "request " << i;
  }
  EXPECT_EQ(client.send("GET", "/health").status, 200);
}

TEST_F(Robustness, PortZeroPicksAFreePortAndLogsIt) {
  temp_dir other;
  server_process a(data_dir());
  server_process b(other.path() / "data");
  EXPECT_NE(a.port(), 0);
  EXPECT_NE(b.port(), 0);
  EXPECT_NE(a.port(), b.port());
  for (const server_process* s : {&a, &b}) {
    EXPECT_TRUE(is_healthy(s->port()));
    // The logged address is the one that answers, and it is logged once.
    const std::string log = s->log();
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    std::vector<int> ports;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), listening); it != std::sregex_iterator(); ++it)
      ports.push_back(std::stoi((*it)[1]));
    EXPECT_EQ(ports, std::vector<int>{s->port()}) << log;
  }
  // Each has its own data.
  ASSERT_EQ(request(a.port(), "POST", "/ticket", ticket_body("1-A1")).status, 201);
  EXPECT_EQ(get(b.port(), "/ticket?Theatre-Seat=1-A1").status, 404);
}

}  // namespace
}  // namespace tb::test
