// The DynamoDB JSON API (x-amz-json-1.0) over the AWS HTTP client: one signed POST per call,
// bounded retries of what a retry can fix, and errors kept typed so a store can tell a failed
// condition from a failure.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/http_client.hpp"
#include "aws/settings.hpp"
#include "aws/sigv4.hpp"
#include "core/result.hpp"

namespace tb::dynamodb {

inline constexpr std::string_view conditional_check_failed = "ConditionalCheckFailedException";
inline constexpr std::string_view transaction_canceled = "TransactionCanceledException";

// One entry of a TransactionCanceledException, in the order of the transaction's items.
struct cancellation_reason {
  std::string code;  // "None", "ConditionalCheckFailed", ...
  std::string message;
  boost::json::object item;  // the item as it stood, with ReturnValuesOnConditionCheckFailure ALL_OLD
};

struct call_error {
  std::string type;  // the __type after '#'; empty for a transport failure
  std::string message;
  int http_status = 0;  // 0: no response
  std::vector<cancellation_reason> cancellation_reasons;
  boost::json::object item;  // ConditionalCheckFailed with ReturnValuesOnConditionCheckFailure ALL_OLD
  // An earlier attempt of this call got no answer (a transport failure or a 5xx, or curl's own
  // resend on a new connection): it may have landed, so a failed condition now may be this
  // call's own write.
  bool earlier_attempt_unknown = false;

  bool is(std::string_view t) const { return type == t; }
  // As the core reports a store failure.
  error to_error() const;
};

// An error answer as DynamoDB (JSON) or an emulator (XML) writes it, typed. Public for the fuzzer.
call_error error_from(int status, const std::string& body);

class call_result {
 public:
  call_result(boost::json::object body) : body_(std::move(body)), ok_(true) {}
  call_result(call_error e) : err_(std::move(e)) {}
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  boost::json::object& value() { return body_; }
  boost::json::object& operator*() { return body_; }
  boost::json::object* operator->() { return &body_; }
  const call_error& err() const { return err_; }

 private:
  boost::json::object body_;
  call_error err_;
  bool ok_ = false;
};

// Whether a write failed for sure (a 4xx is an answer) or may have landed (no answer, or a 5xx).
enum class write_state { refused, unknown };
write_state state_of(const call_error& e);

struct retry_limits {
  // Attempts of one call, the first included: throttling, 5xx and transport failures only.
  int max_attempts = 4;
  // Full jitter: each wait is uniform in [0, min(max_backoff, base_backoff * 2^retry)].
  std::chrono::milliseconds base_backoff{25};
  std::chrono::milliseconds max_backoff{1000};
};

// One attempt's limits: a DynamoDB call answers in milliseconds, so an attempt that takes longer
// is retried rather than waited for (the invocation's deadline bounds the whole call).
inline constexpr aws::http_limits attempt_limits{std::chrono::milliseconds(1000), std::chrono::milliseconds(2000),
                                                 16 * 1024 * 1024};

class dynamodb_client {
 public:
  // api: the X-Amz-Target prefix; DynamoDB Streams is "DynamoDBStreams_20120810".
  explicit dynamodb_client(const aws::settings& s, retry_limits retries = {}, aws::http_limits http = attempt_limits,
                           std::string api = "DynamoDB_20120810");

  // POSTs `request` as operation `op` ("PutItem", ...). Never throws. Safe from several threads.
  // Attempts and retries stop at the deadline when one is set.
  call_result call(std::string_view op, const boost::json::object& request);

  // The budget of every call from now on (an invocation's deadline); nullopt: none.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  call_result attempt(std::string_view op, const std::string& body, std::chrono::steady_clock::time_point deadline);

  std::string api_;
  std::atomic<std::chrono::steady_clock::rep> deadline_{std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
  std::string url_;
  aws::sigv4_signer signer_;
  retry_limits retries_;
  aws::http_client http_;
};

}  // namespace tb::dynamodb
