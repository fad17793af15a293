// What serve does at its front door besides keys and framing: GET /metrics (valid for promtool,
// counters that move), request ids and one log line per request, the Host check against DNS
// rebinding, HEAD, and silent connections that can no longer lock clients out.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/harness.hpp"
#include "e2e/raw_connection.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* key = "tb-front-door-key-4c1e9a7b2d";

std::string ticket(std::string_view seat) {
  return "{\"Theatre-Seat\":\"" + std::string(seat) + "\",\"Movie\":\"Dune\",\"Price\":15.99}";
}

// The value of the series `series` (name and labels, exactly as exposed); 0 when absent.
double value_of_series(const std::string& exposition, const std::string& series) {
  for (const auto& line : lines_of(exposition))
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return 0;
}

class FrontDoor : public ::testing::Test {
 protected:
  temp_dir tmp;
  std::filesystem::path data_dir() const { return tmp.path() / "data"; }
  std::filesystem::path keys_file() const {
    std::ofstream(tmp.path() / "keys") << key << "\n";
    return tmp.path() / "keys";
  }
};

// --- Metrics ----------------------------------------------------------------------------------

TEST_F(FrontDoor, MetricsPassPromtoolAndTheirCountersMove) {
  server_process server(data_dir());
  const auto port = server.port();
  const std::string before = get(port, "/metrics").body;

  for (const char* seat : {"1-A1", "1-A2", "1-A3"}) ASSERT_EQ(request(port, "POST", "/ticket", ticket(seat)).status, 201);
  ASSERT_EQ(request(port, "PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":9.99})").status,
            200);
  ASSERT_EQ(get(port, "/ticket?Theatre-Seat=nope").status, 404);
  ASSERT_EQ(get(port, "/no/such/path").status, 404);
  {  // HEAD by hand: a client library would wait for the body a HEAD answer never has.
    raw_connection head(port);
    ASSERT_TRUE(head.send("HEAD /tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::string answer;
    while (answer.find("\r\n\r\n") == std::string::npos) {
      auto more = head.read_some(10s);
      ASSERT_TRUE(more && !more->empty()) << answer;
      answer += *more;
    }
    ASSERT_EQ(statuses_in(answer), std::vector<int>{200}) << answer;
  }

  // A request is counted once its answer is written, on its connection's thread: the last answer
  // can reach the client a moment before it is counted. Read again until all are (5 s at most).
  auto r = get(port, "/metrics");
  auto moved = [&](const std::string& series) { return value_of_series(r.body, series) - value_of_series(before, series); };
  const auto all_counted = [&] {
    return moved(R"(ticket_booking_http_requests_total{method="HEAD",route="/tickets",status="200"})") >= 1 &&
           moved(R"(ticket_booking_http_request_duration_seconds_count{route="/ticket"})") >= 5;
  };
  for (const auto give_up = std::chrono::steady_clock::now() + 5s;
       r.status == 200 && !all_counted() && std::chrono::steady_clock::now() < give_up;) {
    std::this_thread::sleep_for(10ms);
    r = get(port, "/metrics");
  }
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& after = r.body;
  EXPECT_EQ(moved(R"(ticket_booking_http_requests_total{method="POST",route="/ticket",status="201"})"), 3) << after;
  EXPECT_EQ(moved(R"(ticket_booking_http_requests_total{method="PATCH",route="/ticket",status="200"})"), 1);
  EXPECT_EQ(moved(R"(ticket_booking_http_requests_total{method="GET",route="/ticket",status="404"})"), 1);
  // A made-up path counts under "other": clients cannot grow the series.
  EXPECT_EQ(moved(R"(ticket_booking_http_requests_total{method="GET",route="other",status="404"})"), 1);
  EXPECT_EQ(after.find("/no/such/path"), std::string::npos);
  EXPECT_EQ(moved(R"(ticket_booking_http_requests_total{method="HEAD",route="/tickets",status="200"})"), 1);
  EXPECT_EQ(moved(R"(ticket_booking_http_request_duration_seconds_count{route="/ticket"})"), 5);
  EXPECT_EQ(moved(R"(ticket_booking_http_request_duration_seconds_bucket{route="/ticket",le="+Inf"})"), 5);
  // Four writes, each acknowledged after a commit: at least one commit, at most four, carrying four.
  const double commits = moved("ticket_booking_store_commit_batch_size_count");
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, 4);
  EXPECT_EQ(moved("ticket_booking_store_commit_batch_size_sum"), 4);
  EXPECT_EQ(moved("ticket_booking_store_fsync_seconds_count"), commits);
  EXPECT_GT(moved("ticket_booking_store_fsync_seconds_sum"), 0);
  EXPECT_EQ(moved("ticket_booking_event_handling_lag_seconds_count"), 1);
  // The price change's two events, handled: none pending or dead.
  EXPECT_EQ(value_of_series(after, R"(ticket_booking_events{status="delivered"})") +
                value_of_series(after, R"(ticket_booking_events{status="pending"})"),
            2) << after;
  EXPECT_EQ(value_of_series(after, R"(ticket_booking_events{status="dead"})"), 0);
  EXPECT_GT(value_of_series(after, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value_of_series(after, "process_open_fds"), 3);
  EXPECT_GT(value_of_series(after, "process_cpu_seconds_total"), 0);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(value_of_series(after, "process_start_time_seconds"), now, 600);

  // promtool, Prometheus's own linter, reads it without a complaint.
  const auto file = tmp.path() / "metrics.txt";
  std::ofstream(file, std::ios::binary) << after;
  child_process promtool({.args = {"/bin/sh", "-c", std::string(TB_PROMTOOL) + " check metrics < '" + file.string() + "'"},
                          .output = tmp.path() / "promtool.out"});
  EXPECT_EQ(promtool.wait(), 0) << promtool.output();
  EXPECT_EQ(promtool.output(), "") << promtool.output();
}

TEST_F(FrontDoor, MetricsNeedTheKeyUnlessPublic) {
  {
    server_process server(data_dir(), {"--api-keys-file", keys_file().string()});
    EXPECT_EQ(get(server.port(), "/metrics").status, 401);
    auto r = request(server.port(), "GET", "/metrics", "", {{"X-Api-Key", key}});
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("# TYPE ticket_booking_http_requests_total counter"), std::string::npos);
    EXPECT_EQ(request(server.port(), "POST", "/metrics").status, 405);  // the key is for reading them
  }
  server_process server(data_dir(), {"--api-keys-file", keys_file().string(), "--metrics-public"});
  EXPECT_EQ(get(server.port(), "/metrics").status, 200);
  auto post = request(server.port(), "POST", "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET,HEAD,OPTIONS");
}

// --- Request ids and logs ---------------------------------------------------------------------

TEST_F(FrontDoor, ASaneRequestIdIsKeptAnInsaneOneReplaced) {
  server_process server(data_dir());
  auto sane = request(server.port(), "GET", "/health", "", {{"X-Request-Id", "abc-123_X.y:z"}});
  EXPECT_EQ(sane.header("x-request-id"), "abc-123_X.y:z");

  for (const std::string& insane : {std::string(129, 'a'), std::string("a b"), std::string("a\"b"),
                                    std::string("\xc3\xa9t\xc3\xa9"), std::string("x\\n{}")}) {
    auto r = request(server.port(), "GET", "/health", "", {{"X-Request-Id", insane}});
    const std::string id = r.header("x-request-id");
    EXPECT_NE(id, insane);
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f-]{36}"))) << id;
  }
  // None sent: a new one each time, on errors too.
  const std::string a = get(server.port(), "/health").header("x-request-id");
  const std::string b = get(server.port(), "/nope").header("x-request-id");
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
  // A framing error's answer carries one too.
  raw_connection conn(server.port());
  ASSERT_TRUE(conn.send("POST /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: smuggler-1\r\n"
                        "Transfer-Encoding: gzip\r\n\r\n"));
  auto answer = conn.read_to_close(10s);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->find("\r\nX-Request-Id: smuggler-1\r\n"), std::string::npos) << *answer;
}

TEST_F(FrontDoor, EachRequestLogsOneJsonLine) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1"), {{"X-Request-Id", "req-create-1"}}).status, 201);
  ASSERT_EQ(request(server.port(), "GET", "/ticket?Theatre-Seat=1-A1", "", {{"X-Request-Id", "req-read-1"}}).status,
            200);
  const std::string body = get(server.port(), "/ticket?Theatre-Seat=1-A1").body;
  // Lines are written after the response: wait for them (bounded).
  std::vector<json::object> lines;
  for (int i = 0; i < 100; ++i) {
    lines.clear();
    for (const auto& line : lines_of(server.log())) {
      auto o = object_of(line);  // every line is one JSON object
      if (str(o, "msg") == "request") lines.push_back(o);
    }
    if (lines.size() >= 3) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(lines.size(), 3u) << server.log();
  // A write's line is written by the writer thread and a read's by the I/O
  // thread, so the order of lines is not the order of requests: find each by id.
  auto line_with_id = [&](const std::string& id) -> const json::object* {
    for (const auto& line : lines)
      if (str(line, "requestId") == id) return &line;
    return nullptr;
  };
  const json::object* create = line_with_id("req-create-1");
  const json::object* read = line_with_id("req-read-1");
  ASSERT_NE(create, nullptr) << server.log();
  ASSERT_NE(read, nullptr) << server.log();
  EXPECT_EQ(str(*create, "method"), "POST");
  EXPECT_EQ(str(*create, "route"), "/ticket");
  EXPECT_EQ(str(*create, "status"), "201");
  EXPECT_EQ(str(*read, "bytes"), std::to_string(body.size()));
  EXPECT_TRUE(std::regex_match(str(*read, "durationMs"), std::regex(R"(\d+\.\d{3})"))) << str(*read, "durationMs");
  EXPECT_TRUE(std::regex_match(str(*read, "remote"), std::regex(R"(127\.0\.0\.1:\d+)"))) << str(*read, "remote");
  int generated = 0;
  for (const auto& line : lines)
    if (std::regex_match(str(line, "requestId"), std::regex("[0-9a-f-]{36}"))) ++generated;
  EXPECT_EQ(generated, 1) << server.log();
}

// A price change is handled on the writer thread, in its own write: the line that says so carries
// the request's id, as the request's own line does.
TEST_F(FrontDoor, APriceChangesHandlingIsLoggedWithItsRequestId) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1")).status, 201);
  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":9.99})",
                    {{"X-Request-Id", "req-price-7"}})
                .status,
            200);
  std::vector<json::object> handled;
  for (int i = 0; i < 100 && handled.empty(); ++i) {
    for (const auto& line : lines_of(server.log()))
      if (auto o = object_of(line); str(o, "msg") == "price change handled") handled.push_back(o);
    if (handled.empty()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(handled.size(), 1u) << server.log();
  EXPECT_EQ(str(handled[0], "requestId"), "req-price-7") << server.log();
  EXPECT_EQ(str(handled[0], "outcome"), "applied");
}

TEST_F(FrontDoor, RequestLogsCanBeSwitchedOff) {
  server_process server(data_dir(), {"--log-requests=false"});
  ASSERT_EQ(get(server.port(), "/health").status, 200);
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1")).status, 201);
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_EQ(server.log().find("\"msg\":\"request\""), std::string::npos) << server.log();
}

// On Lambda the request id is API Gateway's; invoke runs the same path.
TEST_F(FrontDoor, AnApiGatewayRequestIdIsEchoed) {
  auto with_id = run_cli({"invoke", "retrieveMovies", "--data-dir", data_dir().string(), "--data",
                          R"({"httpMethod":"GET","path":"/movies","requestContext":{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}})"});
  ASSERT_EQ(with_id.status, 0) << with_id.err;
  auto reply = object_of(with_id.out);
  EXPECT_EQ(str(member_object(reply, "headers"), "X-Request-Id"), "c6af9ac6-7b61-11e6-9a41-93e8deadbeef") << with_id.out;
  auto without = run_cli({"invoke", "retrieveMovies", "--data-dir", data_dir().string(), "--data",
                          R"({"httpMethod":"GET","path":"/movies"})"});
  ASSERT_EQ(without.status, 0) << without.err;
  EXPECT_EQ(raw(member_object(object_of(without.out), "headers"), "X-Request-Id"), "<absent>") << without.out;
}

// --- Host (DNS rebinding) and HEAD ------------------------------------------------------------

TEST_F(FrontDoor, ALoopbackServerAnswersOnlyItsOwnHostNames) {
  server_process server(data_dir(), {"--allowed-host", "tickets.test"});
  const auto port = server.port();
  const std::string p = std::to_string(port);
  for (const std::string& host : std::vector<std::string>{"127.0.0.1", "127.0.0.1:" + p, "localhost:" + p, "LOCALHOST", "tickets.test:" + p,
                                  "Tickets.Test"})
    EXPECT_EQ(request(port, "GET", "/health", "", {{"Host", host}}).status, 200) << host;
  for (const std::string& host : std::vector<std::string>{"evil.example", "evil.example:" + p, "127.0.0.1.evil.example", "tickets.test.evil",
                                  "[::1]:" + p}) {
    auto r = request(port, "GET", "/health", "", {{"Host", host}});
    EXPECT_EQ(r.status, 421) << host;
    EXPECT_EQ(r.body, R"({"error":"Host not allowed"})");
  }
  // A rebound page's write is refused and changes nothing.
  EXPECT_EQ(request(port, "POST", "/ticket", ticket("1-A1"), {{"Host", "evil.example:" + p}}).status, 421);
  EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A1").status, 404);
  // HTTP/1.1 needs a Host (RFC 9112, 3.2); HTTP/1.0 may leave it out.
  for (const auto& [request_line, status] :
       std::vector<std::pair<std::string, int>>{{"GET /health HTTP/1.1", 400}, {"GET /health HTTP/1.0", 200}}) {
    raw_connection conn(port);
    ASSERT_TRUE(conn.send(request_line + "\r\n\r\n"));
    auto answer = conn.read_response(10s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(statuses_in(*answer), std::vector<int>{status}) << *answer;
  }
}

TEST_F(FrontDoor, AServerOnAnotherAddressTakesAnyHost) {
  server_process server(data_dir(), {"--host", "0.0.0.0", "--allow-anonymous-writes"});
  EXPECT_EQ(request(server.port(), "GET", "/health", "", {{"Host", "tickets.example.com"}}).status, 200);
}

TEST_F(FrontDoor, HeadIsGetWithoutTheBody) {
  server_process server(data_dir());
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1")).status, 201);
  const auto got = get(server.port(), "/ticket?Theatre-Seat=1-A1");
  for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
           {"/ticket?Theatre-Seat=1-A1", 200}, {"/movies", 200}, {"/tickets", 200}, {"/ticket?Theatre-Seat=x", 404}}) {
    // Pipelined behind a GET: a body after the HEAD answer would be read as the next response.
    raw_connection conn(server.port());
    ASSERT_TRUE(conn.send("HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::string answers;
    while (statuses_in(answers).size() < 2 || answers.find("{\"status\":\"ok\"}") == std::string::npos) {
      auto more = conn.read_some(10s);
      ASSERT_TRUE(more && !more->empty()) << answers;
      answers += *more;
    }
    EXPECT_EQ(statuses_in(answers), (std::vector<int>{status, 200})) << target << "\n" << answers;
    const auto head_end = answers.find("\r\n\r\n");
    EXPECT_TRUE(answers.substr(head_end + 4).starts_with("HTTP/1.1 200 OK\r\n")) << answers;
    if (target == "/ticket?Theatre-Seat=1-A1") {
      EXPECT_NE(answers.substr(0, head_end).find("\r\nContent-Length: " + std::to_string(got.body.size())),
                std::string::npos)
          << answers;
    }
  }
}

// --- Silent connections -----------------------------------------------------------------------

// Opens `n` connections that send nothing.
std::vector<std::unique_ptr<raw_connection>> silent_connections(unsigned short port, std::size_t n) {
  std::vector<std::unique_ptr<raw_connection>> conns;
  conns.reserve(n);
  for (std::size_t i = 0; i < n; ++i) conns.push_back(std::make_unique<raw_connection>(port));
  return conns;
}

// Closed by the server: a read sees the end of the stream (or a reset) at once.
bool closed_by_server(raw_connection& c, std::chrono::milliseconds within) {
  auto r = c.read_some(within);
  return r && r->empty();
}

TEST_F(FrontDoor, AtTheCapTheOldestSilentConnectionsMakeRoom) {
  server_process server(data_dir(), {"--max-connections", "20"});
  auto silent = silent_connections(server.port(), 30);
  // A client that talks is answered, although 30 silent ones came first.
  EXPECT_EQ(get(server.port(), "/health").status, 200);
  // The oldest were closed to make room, well before the 10 s header deadline; the newest are open.
  for (std::size_t i = 0; i < 10; ++i) EXPECT_TRUE(closed_by_server(*silent[i], 5s)) << i;
  for (std::size_t i = 20; i < 30; ++i) EXPECT_FALSE(closed_by_server(*silent[i], 10ms)) << i;
  // A connection in the middle of a request is not silent: it is never evicted for a new one.
  raw_connection talking(server.port());
  ASSERT_TRUE(talking.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  auto more = silent_connections(server.port(), 25);
  ASSERT_TRUE(talking.send("\r\n"));
  auto answer = talking.read_response(10s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(statuses_in(*answer), std::vector<int>{200});
}

TEST_F(FrontDoor, SilentConnectionsAreClosedAfterTheHeaderDeadline) {
  server_process server(data_dir());
  raw_connection silent(server.port());
  raw_connection half_a_header(server.port());
  ASSERT_TRUE(half_a_header.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_server(silent, 30s));
  EXPECT_TRUE(closed_by_server(half_a_header, 30s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 9s);   // the deadline is 10 s; not sooner
  EXPECT_LT(took, 25s);  // and not the 60 s of a keep-alive connection
}

// The real default cap (10,000) with 10,050 silent connections, as an attacker would hold them.
TEST_F(FrontDoor, TenThousandFiftySilentConnectionsDoNotLockAClientOut) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  constexpr rlim_t needed = 10'050 + 200;
  if (limit.rlim_cur < needed) {
    ASSERT_GE(limit.rlim_max, needed) << "the hard limit on open files is too low for this test";
    limit.rlim_cur = needed;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  server_process server(data_dir());  // inherits the raised limit
  const auto start = std::chrono::steady_clock::now();
  auto silent = silent_connections(server.port(), 10'050);
  // The cap was reached (and the oldest evicted) while every one was within its 10 s deadline,
  // or this would test the deadline instead.
  ASSERT_LT(std::chrono::steady_clock::now() - start, 8s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(server.port(), "/health").status, 200) << i;
  EXPECT_TRUE(closed_by_server(*silent.front(), 5s));
}

}  // namespace
}  // namespace tb::test
