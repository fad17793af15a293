#include "dynamodb/outbox_table.hpp"

#include <chrono>

#include "core/ports.hpp"
#include "dynamodb/attribute_value.hpp"

namespace tb::dynamodb {
namespace {

constexpr std::string_view handled_prefix = "handled#";

boost::json::object key_of(std::string_view event_id) {
  return {{"eventId", S(event_id)}};
}

std::string now_text() {
  return iso8601(std::chrono::system_clock::now());
}

}  // namespace

write_state state_of(const call_error& e) {
  // A 4xx is an answer: the write did not happen. Without an answer (or with a 5xx) it may have.
  return e.http_status >= 400 && e.http_status < 500 ? write_state::refused : write_state::unknown;
}

outbox_table::outbox_table(std::shared_ptr<dynamodb_client> client, std::string table)
    : client_(std::move(client)), table_(std::move(table)) {}

result<void> outbox_table::prepare(const std::string& event_id, std::string_view event_type,
                                   const std::string& event_json) {
  boost::json::object item{{"eventId", S(event_id)},
                           {"event", S(event_json)},
                           {"eventType", S(event_type)},
                           {"status", S(status_prepared)},
                           {"recordedAt", S(now_text())},
                           {"attempts", N(0)},
                           {"pending", S("1")}};
  boost::json::object req{{"TableName", table_},
                          {"Item", std::move(item)},
                          {"ConditionExpression", "attribute_not_exists(eventId) OR #status = :prepared"},
                          {"ExpressionAttributeNames", {{"#status", "status"}}},
                          {"ExpressionAttributeValues", {{":prepared", S(status_prepared)}}}};
  auto r = client_->call("PutItem", req);
  if (!r && r.err().is(conditional_check_failed))
    return error{errc::internal, "event " + event_id + " is recorded already"};
  if (!r) return r.err().to_error();
  return ok;
}

result<void> outbox_table::promote(const std::string& event_id, const std::string& event_json) {
  boost::json::object req{
      {"TableName", table_},
      {"Key", key_of(event_id)},
      {"UpdateExpression",
       event_json.empty() ? "SET #status = :pending" : "SET #status = :pending, #event = :event"},
      {"ConditionExpression", "#status = :prepared"},
      {"ExpressionAttributeNames", {{"#status", "status"}}},
      {"ExpressionAttributeValues", {{":pending", S(status_pending)}, {":prepared", S(status_prepared)}}}};
  if (!event_json.empty()) {
    req["ExpressionAttributeNames"].as_object()["#event"] = "event";
    req["ExpressionAttributeValues"].as_object()[":event"] = S(event_json);
  }
  auto r = client_->call("UpdateItem", req);
  if (!r && !r.err().is(conditional_check_failed)) return r.err().to_error();
  return ok;  // a failed condition: a relay resolved it already
}

result<void> outbox_table::discard(const std::string& event_id) {
  boost::json::object req{{"TableName", table_},
                          {"Key", key_of(event_id)},
                          {"ConditionExpression", "#status = :prepared"},
                          {"ExpressionAttributeNames", {{"#status", "status"}}},
                          {"ExpressionAttributeValues", {{":prepared", S(status_prepared)}}}};
  auto r = client_->call("DeleteItem", req);
  if (!r && !r.err().is(conditional_check_failed)) return r.err().to_error();
  return ok;
}

result<std::optional<outbox_record>> outbox_table::get(const std::string& event_id) {
  auto r =
      client_->call("GetItem", {{"TableName", table_}, {"Key", key_of(event_id)}, {"ConsistentRead", true}});
  if (!r) return r.err().to_error();
  auto it = r->find("Item");
  if (it == r->end() || !it->value().is_object()) return std::optional<outbox_record>();
  const auto& item = it->value().get_object();
  outbox_record rec{
      event_id, attribute_text(item, "event"), attribute_text(item, "eventType"), attribute_text(item, "status"), attribute_text(item, "recordedAt"),
      0,        attribute_text(item, "reason")};
  try {
    rec.attempts = std::stoll(attribute_text(item, "attempts", "N"));
  } catch (const std::exception&) {
    rec.attempts = 0;  // absent or not an integer: count from here
  }
  return std::optional<outbox_record>(std::move(rec));
}

result<bool> outbox_table::settle(const std::string& event_id, std::string_view from,
                                  boost::json::object req) {
  req["TableName"] = table_;
  req["Key"] = key_of(event_id);
  req["ConditionExpression"] = "#status = :from";
  req["ExpressionAttributeNames"].as_object()["#status"] = "status";
  req["ExpressionAttributeValues"].as_object()[":from"] = S(from);
  auto r = client_->call("UpdateItem", req);
  if (!r && r.err().is(conditional_check_failed)) return false;
  if (!r) return r.err().to_error();
  return true;
}

result<bool> outbox_table::mark_delivered(const std::string& event_id, std::string_view from) {
  return settle(event_id, from,
                {{"UpdateExpression", "SET #status = :delivered REMOVE #pending"},
                 {"ExpressionAttributeNames", {{"#pending", "pending"}}},
                 {"ExpressionAttributeValues", {{":delivered", S(status_delivered)}}}});
}

result<bool> outbox_table::mark_dead(const std::string& event_id, std::string_view from, long long attempts,
                                     const std::string& reason) {
  return settle(
      event_id, from,
      {{"UpdateExpression", "SET #status = :dead, attempts = :attempts, reason = :reason REMOVE #pending"},
       {"ExpressionAttributeNames", {{"#pending", "pending"}}},
       {"ExpressionAttributeValues",
        {{":dead", S(status_dead)}, {":attempts", N(attempts)}, {":reason", S(reason)}}}});
}

result<bool> outbox_table::mark_attempt(const std::string& event_id, long long attempts) {
  return settle(event_id, status_pending,
                {{"UpdateExpression", "SET attempts = :attempts"},
                 {"ExpressionAttributeNames", boost::json::object()},
                 {"ExpressionAttributeValues", {{":attempts", N(attempts)}}}});
}

result<std::optional<handled_marker>> outbox_table::marker(const std::string& event_id) {
  auto key = key_of(std::string(handled_prefix) + event_id);
  auto r =
      client_->call("GetItem", {{"TableName", table_}, {"Key", std::move(key)}, {"ConsistentRead", true}});
  if (!r) return r.err().to_error();
  auto it = r->find("Item");
  if (it == r->end() || !it->value().is_object()) return std::optional<handled_marker>();
  const auto& item = it->value().get_object();
  return std::optional<handled_marker>(handled_marker{attribute_text(item, "outcome"), attribute_text(item, "processedEventId")});
}

result<std::optional<handled_marker>> outbox_table::remember(const std::string& event_id,
                                                             std::string_view outcome,
                                                             const std::string& processed_event_id) {
  boost::json::object item{{"eventId", S(std::string(handled_prefix) + event_id)}, {"outcome", S(outcome)}};
  if (!processed_event_id.empty()) item["processedEventId"] = S(processed_event_id);
  boost::json::object req{{"TableName", table_},
                          {"Item", std::move(item)},
                          {"ConditionExpression", "attribute_not_exists(eventId)"}};
  auto r = client_->call("PutItem", req);
  if (!r && r.err().is(conditional_check_failed)) return std::optional<handled_marker>();
  if (!r) return r.err().to_error();
  return std::optional<handled_marker>(handled_marker{std::string(outcome), processed_event_id});
}

}  // namespace tb::dynamodb
