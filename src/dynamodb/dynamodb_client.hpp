// The DynamoDB JSON API (x-amz-json-1.0) over the AWS HTTP client: one signed POST per call,
// bounded retries of what a retry can fix, and errors kept typed so a store can tell a failed
// condition from a failure.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
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

struct retry_limits {
  // Attempts of one call, the first included: throttling, 5xx and transport failures only.
  int max_attempts = 4;
  // Full jitter: each wait is uniform in [0, min(max_backoff, base_backoff * 2^retry)].
  std::chrono::milliseconds base_backoff{25};
  std::chrono::milliseconds max_backoff{1000};
};

class dynamodb_client {
 public:
  explicit dynamodb_client(const aws::settings& s, retry_limits retries = {}, aws::http_limits http = {});

  // POSTs `request` as operation `op` ("PutItem", ...). Never throws. Safe from several threads.
  call_result call(std::string_view op, const boost::json::object& request);

 private:
  call_result attempt(std::string_view op, const std::string& body);

  std::string url_;
  aws::sigv4_signer signer_;
  retry_limits retries_;
  aws::http_client http_;
};

}  // namespace tb::dynamodb
