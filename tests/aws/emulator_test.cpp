// start_emulator's readiness: the port answering is not enough, the emulator it started must say
// it listens there (two test programs can pick the same free port; the later one fails to bind).
#include "aws/emulator.hpp"

#include <gtest/gtest.h>

#include "support/child_process.hpp"

namespace tb::test {
namespace {

TEST(Emulator, AnAnswerFromAnotherServerIsNotTheEmulatorStarting) {
  // The other server: a loopback HTTP server already up (it prints its port once it listens).
  child_process other(child_process::options{.args = {TB_PYTHON, TB_HTTP_TEST_SERVER}});
  ASSERT_TRUE(other.wait_until([&] { return other.output().find('\n') != std::string::npos; },
                               std::chrono::seconds(30)))
      << other.output();
  const std::string other_endpoint = "http://127.0.0.1:" + other.output().substr(0, other.output().find('\n'));

  // An "emulator" that never binds and soon exits, probed where the other server answers 200.
  auto started = start_emulator({.name = "impostor",
                                 .command = [](const std::string&) -> std::vector<std::string> {
                                   return {TB_PYTHON, "-c", "import time; time.sleep(0.3)"};
                                 },
                                 .env = std::nullopt,
                                 .probe =
                                     [&](const std::string&) {
                                       return aws::http_request{"GET", other_endpoint + "/status/200", {}, {}};
                                     },
                                 .listening = [](const std::string& port) { return "listening on " + port; },
                                 .start_timeout = std::chrono::seconds(10)});
  ASSERT_FALSE(started) << "took another server's answer for its own";
  EXPECT_EQ(started.err().code, errc::unavailable);
  EXPECT_NE(started.err().message.find("exited before answering"), std::string::npos) << started.err().message;
}

TEST(Emulator, IsReadyOnceItAnswersAndSaysItListens) {
  // The test server prints its port once it listens, which is what `listening` looks for.
  auto started = start_emulator({.name = "http_test_server",
                                 .command = [](const std::string& port) -> std::vector<std::string> {
                                   return {TB_PYTHON, TB_HTTP_TEST_SERVER, port};
                                 },
                                 .env = std::nullopt,
                                 .probe =
                                     [](const std::string& endpoint) {
                                       return aws::http_request{"GET", endpoint + "/status/200", {}, {}};
                                     },
                                 .listening = [](const std::string& port) { return port + "\n"; },
                                 .start_timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(started) << started.err().message;
  EXPECT_TRUE(started->process->running());
}

}  // namespace
}  // namespace tb::test
