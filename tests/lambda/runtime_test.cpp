// The Lambda runtime loop (tb::lambda::run_handler) in this process, against the fake Runtime
// API: what it asks for, what it posts back, and when it stops.
#include "lambda/runtime.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>

#include "lambda/fake_runtime_api.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;
using tb::lambda::outcome;

lambda::runtime_address address_of(const fake_runtime_api& api) {
  auto a = lambda::parse_address(api.address());
  if (!a) throw std::runtime_error(a.err().message);
  return *a;
}

// Runs the loop on its own thread; the fixture stops the API and collects why the loop ended.
class RuntimeTest : public ::testing::Test {
 protected:
  void start(lambda::handler h) {
    stopped_ = std::async(std::launch::async,
                          [this, h = std::move(h)] { return lambda::run_handler(address_of(api_), h); });
  }
  // The API goes away; the loop must end, and say why.
  error stop() {
    api_.stop();
    if (stopped_.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "the loop did not end when the Runtime API went away";
      std::abort();  // a thread still blocked in the loop cannot be joined
    }
    return stopped_.get();
  }
  void TearDown() override {
    if (stopped_.valid()) stop();
  }

  fake_runtime_api api_;
  std::future<error> stopped_;
};

TEST_F(RuntimeTest, ServesQueuedInvocationsInOrderOnOneConnection) {
  queued_invocation first;
  first.payload = R"({"n":1})";
  first.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  first.function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:createTicket";
  first.trace_id = "Root=1-abc";
  // A minute from now, on the wall clock, as Lambda gives it.
  const auto queued_at = std::chrono::steady_clock::now();
  const auto epoch = std::chrono::system_clock::now().time_since_epoch();
  first.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(epoch + 60s).count();
  api_.enqueue(first);
  const std::string second = api_.enqueue(R"({"n":2})");

  std::vector<lambda::invocation> seen;
  std::vector<std::chrono::steady_clock::time_point> seen_at;
  start([&seen, &seen_at](const lambda::invocation& inv) {
    seen.push_back(inv);
    seen_at.push_back(std::chrono::steady_clock::now());
    return outcome::success("{\"echo\":" + inv.payload + "}");
  });
  ASSERT_TRUE(api_.wait_for_posts(2));
  auto posts = api_.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, "response");
  EXPECT_EQ(posts[0].request_id, first.request_id);
  EXPECT_EQ(posts[0].body, R"({"echo":{"n":1}})");
  EXPECT_EQ(posts[1].kind, "response");
  EXPECT_EQ(posts[1].request_id, second);
  EXPECT_EQ(posts[1].body, R"({"echo":{"n":2}})");

  error why = stop();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].function_arn, first.function_arn);
  EXPECT_EQ(seen[0].trace_id, first.trace_id);
  // The deadline is a minute after it was queued, less no more than the time it took to arrive
  // (and a millisecond of rounding each way): neither unbounded nor taken as already past.
  ASSERT_TRUE(seen[0].deadline.bounded());
  const auto left = seen[0].deadline.remaining(seen_at[0]);
  EXPECT_LE(left, 60001ms);
  EXPECT_GE(left, 60000ms - std::chrono::ceil<std::chrono::milliseconds>(seen_at[0] - queued_at) - 1ms);
  EXPECT_EQ(api_.connections(), 1u) << "the connection was not kept alive";
  EXPECT_EQ(why.code, errc::unavailable);
  EXPECT_FALSE(why.message.empty());
}

TEST_F(RuntimeTest, EachInvocationSeesItsOwnTraceIdAndNoneBetween) {
  ::setenv(lambda::trace_id_variable, "Root=left-over", 1);
  queued_invocation traced;
  traced.payload = "1";
  traced.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  api_.enqueue(traced);
  queued_invocation untraced;
  untraced.payload = "2";
  untraced.trace_id = "";
  api_.enqueue(untraced);
  queued_invocation other;
  other.payload = "3";
  other.trace_id = "Root=1-00000000-000000000000000000000003;Sampled=0";
  api_.enqueue(other);

  start([](const lambda::invocation&) {
    const char* v = std::getenv(lambda::trace_id_variable);
    return outcome::success(v ? "\"" + std::string(v) + "\"" : "null");
  });
  ASSERT_TRUE(api_.wait_for_posts(3));
  auto posts = api_.posts();
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[0].body, "\"" + traced.trace_id + "\"");
  EXPECT_EQ(posts[1].body, "null") << "an invocation without a trace id saw another's";
  EXPECT_EQ(posts[2].body, "\"" + other.trace_id + "\"");
  // Between invocations (the loop is waiting in `next`), no trace id is left behind.
  ASSERT_TRUE(api_.wait_until_waiting(3));
  EXPECT_EQ(std::getenv(lambda::trace_id_variable), nullptr);
}

TEST_F(RuntimeTest, AFailureOutcomeIsPostedAsAnErrorWithItsType) {
  const std::string id = api_.enqueue("{}");
  start([](const lambda::invocation&) {
    return outcome::failure("EventNotHandled", "Store failure: \"busy\"\n");
  });
  auto post = api_.wait_for_outcome(id);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->kind, "error");
  EXPECT_EQ(post->error_type, "EventNotHandled");
  EXPECT_EQ(post->content_type, "application/json");
  EXPECT_EQ(post->body,
            R"({"errorMessage":"Store failure: \"busy\"\n","errorType":"EventNotHandled","stackTrace":[]})");
}

TEST_F(RuntimeTest, AHandlerThatThrowsIsReportedAndTheNextInvocationIsServed) {
  const std::string bad = api_.enqueue(R"("throw")");
  const std::string good = api_.enqueue(R"("answer")");
  start([](const lambda::invocation& inv) {
    if (inv.payload == R"("throw")") throw std::runtime_error("boom");
    return outcome::success(R"("fine")");
  });
  auto failed = api_.wait_for_outcome(bad);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->kind, "error");
  EXPECT_EQ(failed->error_type, lambda::handler_exception_type);
  EXPECT_NE(failed->body.find("\"errorMessage\":\"boom\""), std::string::npos) << failed->body;
  auto served = api_.wait_for_outcome(good);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->kind, "response");
  EXPECT_EQ(served->body, R"("fine")");
}

TEST_F(RuntimeTest, AResponseOverTheSizeLimitIsReportedAsAnError) {
  const std::string over = api_.enqueue(std::to_string(lambda::max_response_bytes + 1));
  const std::string at = api_.enqueue(std::to_string(lambda::max_response_bytes));
  start([](const lambda::invocation& inv) {
    return outcome::success(std::string(std::stoul(inv.payload), 'x'));
  });
  auto too_big = api_.wait_for_outcome(over);
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->kind, "error");
  EXPECT_EQ(too_big->error_type, lambda::response_too_large_type);
  EXPECT_LT(too_big->body.size(), 1000u);
  auto largest = api_.wait_for_outcome(at);
  ASSERT_TRUE(largest);
  EXPECT_EQ(largest->kind, "response");
  EXPECT_EQ(largest->body.size(), lambda::max_response_bytes);
}

TEST_F(RuntimeTest, NextMayTakeLongerThanAReadTimeoutWouldAllow) {
  // Lambda holds `next` until an event comes; a runtime that timed out and reconnected would
  // show as a second connection or a second `next`.
  api_.hold_next(3s);
  const std::string id = api_.enqueue("{}");
  start([](const lambda::invocation&) { return outcome::success("{}"); });
  auto post = api_.wait_for_outcome(id);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->kind, "response");
  EXPECT_EQ(api_.connections(), 1u);
}

TEST_F(RuntimeTest, TheLoopEndsWithAReasonWhenTheRuntimeApiGoesAway) {
  start([](const lambda::invocation&) { return outcome::success("{}"); });
  ASSERT_TRUE(api_.wait_until_waiting());
  error why = stop();
  EXPECT_EQ(why.code, errc::unavailable);
  EXPECT_NE(why.message.find("Runtime API"), std::string::npos) << why.message;
  EXPECT_EQ(api_.nexts(), 1u);
}

TEST(RuntimeInitError, IsPostedWithItsTypeAndMessage) {
  fake_runtime_api api;
  auto reported = lambda::report_init_error(address_of(api), {"Runtime.HandlerNotFound", "no such function"});
  ASSERT_TRUE(reported) << reported.err().message;
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].error_type, "Runtime.HandlerNotFound");
  EXPECT_EQ(posts[0].body,
            R"({"errorMessage":"no such function","errorType":"Runtime.HandlerNotFound","stackTrace":[]})");
  api.stop();
  EXPECT_FALSE(lambda::report_init_error(address_of(api), {"x", "y"})) << "a closed API took the report";
}

TEST(RuntimeAddress, IsHostColonPort) {
  auto a = lambda::parse_address("127.0.0.1:9001");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "9001");
  auto v6 = lambda::parse_address("[::1]:9001");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad :
       {"", "localhost", ":9001", "localhost:", "localhost:0", "localhost:65536", "localhost:90x"})
    EXPECT_FALSE(lambda::parse_address(bad)) << bad;
}

}  // namespace
}  // namespace tb::test
