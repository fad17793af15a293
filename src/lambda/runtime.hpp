// The AWS Lambda custom runtime, after awslabs/aws-lambda-cpp: a client of the Runtime API that
// takes each invocation, hands it to one handler and posts back what the handler made of it.
// It knows nothing of the functions: main gives it a handler and the Runtime API's address.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "core/deadline.hpp"
#include "core/result.hpp"

namespace tb::lambda {

// Lambda refuses a synchronous invocation's response above 6 MB; the runtime reports a larger
// one as the function's error itself, so the caller gets a reason rather than a lost reply.
inline constexpr std::size_t max_response_bytes = 6 * 1024 * 1024;
// A guard on the event body `next` hands over: well above Lambda's own 6 MB cap on event
// payloads, so that it stops only a runaway body, never a valid event.
inline constexpr std::size_t max_event_bytes = 16 * 1024 * 1024;
// Failed exchanges with the Runtime API in a row (each on a new connection) before the loop
// gives up: inside Lambda the API is local, so a few failures in a row mean it has gone.
inline constexpr int max_consecutive_failures = 3;

// AWS_LAMBDA_RUNTIME_API: "host:port".
struct runtime_address {
  std::string host;
  std::string port;
};
result<runtime_address> parse_address(std::string_view text);

struct invocation {
  std::string request_id;
  // From Lambda-Runtime-Deadline-Ms: when Lambda stops the function. Every call the handler makes
  // for this invocation must end by then (unbounded when the header is missing or malformed).
  tb::deadline deadline;
  std::string function_arn;
  std::string trace_id;
  std::string payload;
};

struct function_error {
  std::string type;  // errorType, and the Lambda-Runtime-Function-Error-Type header
  std::string message;
};

// What a handler made of an invocation: a response payload, or an error to report.
class outcome {
 public:
  static outcome success(std::string payload) { return outcome(std::move(payload)); }
  static outcome failure(std::string type, std::string message) {
    return outcome(function_error{std::move(type), std::move(message)});
  }
  bool is_success() const { return v_.index() == 0; }
  const std::string& payload() const { return std::get<0>(v_); }
  const function_error& failure() const { return std::get<1>(v_); }

 private:
  explicit outcome(std::string payload) : v_(std::move(payload)) {}
  explicit outcome(function_error e) : v_(std::move(e)) {}
  std::variant<std::string, function_error> v_;
};

using handler = std::function<outcome(const invocation&)>;

// Error types the runtime reports on the handler's behalf, in the Category.Reason form Lambda
// recommends for Lambda-Runtime-Function-Error-Type.
inline constexpr std::string_view handler_exception_type = "Function.UnhandledException";
inline constexpr std::string_view response_too_large_type = "Function.ResponseSizeTooLarge";

// The variable X-Ray's SDKs read the invocation's trace header from, as Lambda's own runtimes set it.
inline constexpr const char* trace_id_variable = "_X_AMZN_TRACE_ID";

// Serves invocations one after another, on one kept-alive connection. During each, the
// environment's _X_AMZN_TRACE_ID is that invocation's Lambda-Runtime-Trace-Id (unset when it has
// none, and between invocations). A handler that throws
// is reported as that invocation's error and the loop goes on. Returns only when the Runtime
// API cannot be reached (max_consecutive_failures in a row): the reason.
error run_handler(const runtime_address& address, const handler& h);

// Tells Lambda that initialization failed (before run_handler); Lambda then ends the runtime.
result<void> report_init_error(const runtime_address& address, const function_error& e);

}  // namespace tb::lambda
