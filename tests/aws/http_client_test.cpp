// http_client against a real HTTP server on loopback (tests/aws/http_test_server.py): what
// comes back, what counts as a transport failure, and the limits.
#include "aws/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "support/child_process.hpp"

namespace tb::aws {
namespace {

constexpr std::chrono::seconds server_start_timeout{30};

class HttpClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<test::child_process>(
        test::child_process::options{.args = {TB_PYTHON, TB_HTTP_TEST_SERVER}});
    // Ready once it prints its port: it listens before printing.
    const auto port_printed = [] { return server_->output().find('\n') != std::string::npos; };
    // A failure here is each test's (gtest would skip them, and ctest count that as no failure).
    if (!server_->wait_until(port_printed, server_start_timeout)) {
      setup_error_ = "the test server did not start: " + server_->output();
      return;
    }
    const std::string out = server_->output();
    base_ = "http://127.0.0.1:" + out.substr(0, out.find('\n'));
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static void TearDownTestSuite() { server_.reset(); }

  static inline std::unique_ptr<test::child_process> server_;
  static inline std::string base_;
  static inline std::string setup_error_;
};

TEST_F(HttpClient, PostRoundTrip) {
  http_client client;
  const std::string body = "Action=Publish&Message=%7B%22a%22%3A1%7D";
  auto r =
      client.send({"POST", base_ + "/echo", {{"X-Custom", "one two"}, {"Content-Type", "text/plain"}}, body});
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
  // Names come back lower-cased whatever the server wrote (X-Echo-Method).
  EXPECT_EQ(r->header("x-echo-method"), "POST");
  EXPECT_EQ(r->header("x-echo-custom"), "one two");
  EXPECT_EQ(r->header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(r->header("X-Echo-Method"), "");
}

TEST_F(HttpClient, OtherMethodsAndEmptyBodies) {
  http_client client;
  auto get = client.send({"GET", base_ + "/echo", {}, ""});
  ASSERT_TRUE(get) << get.err().message;
  EXPECT_EQ(get->header("x-echo-method"), "GET");
  EXPECT_EQ(get->body, "");
  auto put = client.send({"PUT", base_ + "/echo", {}, "put body"});
  ASSERT_TRUE(put) << put.err().message;
  EXPECT_EQ(put->header("x-echo-method"), "PUT");
  EXPECT_EQ(put->body, "put body");
}

TEST_F(HttpClient, NoExpectContinueForALargeBody) {
  // curl asks for a 100 Continue before a large body unless told not to: a round trip lost.
  http_client client;
  const std::string body(2 * 1024 * 1024, 'b');
  auto r = client.send({"POST", base_ + "/echo", {}, body});
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->header("x-echo-expect"), "");
  EXPECT_EQ(r->body.size(), body.size());
}

TEST_F(HttpClient, AnyStatusIsAResponse) {
  http_client client;
  for (int status : {201, 400, 403, 404, 500, 503}) {
    auto r = client.send({"GET", base_ + "/status/" + std::to_string(status), {}, ""});
    ASSERT_TRUE(r) << r.err().message;
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->body, "status " + std::to_string(status));
  }
}

TEST_F(HttpClient, ReusesTheConnection) {
  http_client client;
  auto first = client.send({"GET", base_ + "/echo", {}, ""});
  auto second = client.send({"GET", base_ + "/echo", {}, ""});
  ASSERT_TRUE(first && second);
  // The same client port: the second request went over the first one's connection.
  EXPECT_EQ(first->header("x-echo-client-port"), second->header("x-echo-client-port"));
  EXPECT_FALSE(first->header("x-echo-client-port").empty());
}

TEST_F(HttpClient, RefusedConnectionIsUnavailable) {
  http_client client;
  const std::string url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/";
  auto r = client.send({"GET", url, {}, ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_NE(r.err().message.find("onnect"), std::string::npos) << r.err().message;  // curl's reason
  EXPECT_NE(r.err().message.find(url), std::string::npos) << r.err().message;
}

TEST_F(HttpClient, ResponseOverTheLimitIsAnError) {
  http_client client({std::chrono::milliseconds(2000), std::chrono::milliseconds(10000), 1000});
  auto at_limit = client.send({"GET", base_ + "/bytes/1000", {}, ""});
  ASSERT_TRUE(at_limit) << at_limit.err().message;
  EXPECT_EQ(at_limit->body.size(), 1000u);

  auto over = client.send({"GET", base_ + "/bytes/1001", {}, ""});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.err().code, errc::unavailable);
  EXPECT_NE(over.err().message.find("larger than 1000 bytes"), std::string::npos) << over.err().message;

  // The client is still usable after an aborted transfer.
  auto after = client.send({"GET", base_ + "/status/204", {}, ""});
  ASSERT_TRUE(after) << after.err().message;
  EXPECT_EQ(after->status, 204);
}

TEST_F(HttpClient, SlowServerTimesOut) {
  http_client client({std::chrono::milliseconds(1000), std::chrono::milliseconds(300), 1 << 20});
  const auto start = std::chrono::steady_clock::now();
  auto r = client.send({"GET", base_ + "/slow/3000", {}, ""});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_NE(r.err().message.find("imeout"), std::string::npos) << r.err().message;  // "Timeout was reached"
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

// The call's deadline (an invocation's) cuts an attempt whose own timeout is longer, and one that
// starts after it fails without sending anything.
TEST_F(HttpClient, TheCallsDeadlineCutsTheAttempt) {
  http_client client({std::chrono::milliseconds(1000), std::chrono::milliseconds(10000), 1 << 20});
  const auto start = std::chrono::steady_clock::now();
  http_request slow{"GET", base_ + "/slow/3000", {}, ""};
  slow.deadline = start + std::chrono::milliseconds(300);
  auto r = client.send(slow);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_LT(took, std::chrono::milliseconds(2500));  // not the 3 s the server takes, nor the 10 s timeout

  http_request late{"GET", base_ + "/echo", {}, ""};
  late.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  auto passed = client.send(late);
  ASSERT_FALSE(passed);
  EXPECT_NE(passed.err().message.find("deadline passed"), std::string::npos) << passed.err().message;
}

TEST_F(HttpClient, ConcurrentSends) {
  http_client client;
  constexpr int threads = 6, each = 10;
  std::vector<std::thread> workers;
  std::atomic<int> good{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto r = client.send({"POST", base_ + "/echo", {}, body});
        if (r && r->status == 200 && r->body == body) ++good;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(good.load(), threads * each);
}

}  // namespace
}  // namespace tb::aws
