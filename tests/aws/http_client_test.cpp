// http_client against a real HTTP server on loopback (tests/aws/http_test_server.py): what
// comes back, what counts as a transport failure, and the limits.
#include "aws/http_client.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tb::aws {
namespace {

constexpr int server_start_timeout_ms = 30'000;

class HttpClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const char* argv[] = {TB_PYTHON, TB_HTTP_TEST_SERVER, nullptr};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the test process dies
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out[1], STDOUT_FILENO);
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    ::close(out[1]);
    // Ready once it prints its port: it listens before printing.
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    char c = 0;
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, server_start_timeout_ms) == 1 &&
           ::read(out[0], &c, 1) == 1) {
      line += c;
    }
    ::close(out[0]);
    ASSERT_NE(line.find('\n'), std::string::npos) << "the test server did not start";
    base_ = "http://127.0.0.1:" + line.substr(0, line.find('\n'));
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  static inline pid_t pid_ = -1;
  static inline std::string base_;
};

// A loopback port nobody listens on (bound, then released).
int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

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
  const std::string url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/";
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
