#include "dynamodb/dynamodb_client.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <random>
#include <thread>

#include "aws/query_api.hpp"

namespace tb::dynamodb {
namespace {

// An item nests up to 32 levels, and each level is two in AttributeValue form (value, then M).
constexpr unsigned max_response_depth = 128;

bool retryable(const call_error& e) {
  if (e.http_status == 0 || e.http_status >= 500) return true;
  return e.is("ProvisionedThroughputExceededException") || e.is("ThrottlingException") ||
         e.is("RequestLimitExceeded") || e.is("LimitExceededException") ||
         e.is("TransactionInProgressException");
}

std::string string_member(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  const auto& s = it->value().get_string();
  return std::string(s.data(), s.size());
}

boost::json::object object_member(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return {};
  return it->value().get_object();
}

}  // namespace

call_error error_from(int status, const std::string& body) {
  call_error e;
  e.http_status = status;
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = max_response_depth;
  auto parsed = boost::json::parse(body, ec, {}, opts);
  const auto* o = ec ? nullptr : parsed.if_object();
  if (!o) {
    // An XML ErrorResponse (moto's answer to a bad signature or unknown key): its Code and
    // Message, so the reason reads as DynamoDB's own would, not as a cut-off XML document.
    auto code = aws::xml_text(body, "Code");
    auto message = aws::xml_text(body, "Message");
    if (code && message) {
      e.type = *code;
      e.message = *message;
      return e;
    }
    e.type = status >= 500 ? "InternalServerError" : "UnknownError";
    e.message = body.substr(0, 200);
    return e;
  }
  e.type = string_member(*o, "__type");
  if (auto hash = e.type.rfind('#'); hash != std::string::npos) e.type.erase(0, hash + 1);
  e.message = string_member(*o, "message");
  if (e.message.empty()) e.message = string_member(*o, "Message");
  e.item = object_member(*o, "Item");
  if (auto it = o->find("CancellationReasons"); it != o->end() && it->value().is_array()) {
    for (const auto& r : it->value().get_array()) {
      if (!r.is_object()) continue;
      const auto& ro = r.get_object();
      e.cancellation_reasons.push_back(
          {string_member(ro, "Code"), string_member(ro, "Message"), object_member(ro, "Item")});
    }
  }
  return e;
}

// What the retries could not get past: throttling, a 5xx or no answer is temporary (503); a
// refusal (a missing table, a bad signature, a request DynamoDB finds invalid) is not (500). Its
// text is for the log: the router never shows it to a client.
error call_error::to_error() const {
  return {retryable(*this) ? errc::unavailable : errc::internal,
          "Store failure: " + (type.empty() ? std::string("DynamoDB") : type) + ": " + message};
}

write_state state_of(const call_error& e) {
  return e.http_status >= 400 && e.http_status < 500 ? write_state::refused : write_state::unknown;
}

dynamodb_client::dynamodb_client(const aws::settings& s, retry_limits retries, aws::http_limits http,
                                 std::string api)
    : api_(std::move(api)),
      url_(s.dynamodb_endpoint),
      signer_(s.credentials, s.region, "dynamodb"),
      retries_(retries),
      http_(http, s.ca_bundle) {
  // The API lives at the endpoint's root; a URL without a path has none to sign.
  auto scheme = url_.find("://");
  if (url_.find('/', scheme == std::string::npos ? 0 : scheme + 3) == std::string::npos) url_ += '/';
}

void dynamodb_client::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
  deadline_ = deadline.value_or(std::chrono::steady_clock::time_point::max()).time_since_epoch().count();
}

call_result dynamodb_client::attempt(std::string_view op, const std::string& body,
                                     std::chrono::steady_clock::time_point deadline) {
  try {
    aws::http_request req;
    req.url = url_;
    req.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                   {"X-Amz-Target", api_ + "." + std::string(op)}};
    req.body = body;
    req.deadline = deadline;
    signer_.sign(req, std::chrono::system_clock::now());
    auto resp = http_.send(req);
    if (!resp) return call_error{"", resp.err().message, 0, {}, {}};
    if (resp->status != 200) {
      call_error e = error_from(resp->status, resp->body);
      e.earlier_attempt_unknown = resp->resent;  // curl may have sent it before, unanswered
      return e;
    }
    boost::system::error_code ec;
    boost::json::parse_options opts;
    opts.max_depth = max_response_depth;
    auto parsed = boost::json::parse(resp->body, ec, {}, opts);
    if (ec || !parsed.is_object())
      return call_error{"InternalServerError", "response is not a JSON object", 500, {}, {}};
    return std::move(parsed.get_object());
  } catch (const std::exception& e) {
    return call_error{"", std::string("client failure: ") + e.what(), 0, {}, {}};
  }
}

call_result dynamodb_client::call(std::string_view op, const boost::json::object& request) {
  std::string body;
  try {
    body = boost::json::serialize(request);
  } catch (const std::exception& e) {
    return call_error{"", std::string("client failure: ") + e.what(), 0, {}, {}};
  }
  thread_local std::minstd_rand jitter{std::random_device{}()};
  const std::chrono::steady_clock::time_point deadline{std::chrono::steady_clock::duration(deadline_.load())};
  bool unknown = false;
  for (int attempt_no = 1;; ++attempt_no) {
    auto r = attempt(op, body, deadline);
    if (r) return r;
    call_error e = r.err();
    e.earlier_attempt_unknown = e.earlier_attempt_unknown || unknown;
    unknown = unknown || state_of(e) == write_state::unknown;
    if (attempt_no >= retries_.max_attempts || !retryable(e)) return e;
    auto cap = std::min(retries_.max_backoff, retries_.base_backoff * (1 << std::min(attempt_no - 1, 16)));
    std::uniform_int_distribution<long long> wait(0, cap.count());
    const auto pause = std::chrono::milliseconds(wait(jitter));
    if (deadline - std::chrono::steady_clock::now() <= pause) return e;  // no time left for another try
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace tb::dynamodb
