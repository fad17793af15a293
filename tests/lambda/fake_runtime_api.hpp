// A fake of the AWS Lambda Runtime API on loopback: the one fake in the tests, because nothing
// real can run here. It hands out queued invocations on `next` (holding the request until there
// is one, as Lambda does) and records every response, error and init error posted back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tb::test {

struct runtime_post {
  std::string kind;        // "response", "error" or "init_error"
  std::string request_id;  // empty for an init error
  std::string error_type;  // the Lambda-Runtime-Function-Error-Type header
  std::string content_type;
  std::string body;
};

struct queued_invocation {
  std::string request_id;
  std::string payload;
  std::string function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ticket-booking-dev";
  std::string trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  std::int64_t deadline_ms = 0;  // 0: 30 s after it is handed out
};

class fake_runtime_api {
 public:
  fake_runtime_api();  // listens on 127.0.0.1, on a free port
  ~fake_runtime_api();
  fake_runtime_api(const fake_runtime_api&) = delete;
  fake_runtime_api& operator=(const fake_runtime_api&) = delete;

  std::string address() const;  // host:port, for AWS_LAMBDA_RUNTIME_API

  // Queues an event (a request id is made up when it has none); returns its request id.
  std::string enqueue(std::string payload);
  std::string enqueue(queued_invocation inv);
  // Each `next` answers no sooner than this after it came, even with an event queued.
  void hold_next(std::chrono::milliseconds hold);

  // Waits for the outcome posted for that request id; nullopt after the timeout.
  std::optional<runtime_post> wait_for_outcome(const std::string& request_id,
                                               std::chrono::seconds timeout = std::chrono::seconds(30));
  // Waits until `count` posts (of any kind) have come; false after the timeout.
  bool wait_for_posts(std::size_t count, std::chrono::seconds timeout = std::chrono::seconds(30));
  // Waits until a client is blocked in `next` with nothing queued: the runtime is ready. Only
  // the `next` requests after the first `after` count (those of a runtime started since).
  bool wait_until_waiting(std::size_t after = 0, std::chrono::seconds timeout = std::chrono::seconds(30));

  std::vector<runtime_post> posts() const;
  std::size_t nexts() const;        // `next` requests received
  std::size_t connections() const;  // connections accepted

  // The API goes away: the listener and every connection close, a waiting `next` unanswered.
  void stop();

 private:
  struct state;
  void accept_loop();
  void serve(int fd);

  std::unique_ptr<state> s_;
  std::thread acceptor_thread_;
};

}  // namespace tb::test
