#include "dynamodb/stream_relay.hpp"

#include <boost/json/value.hpp>

#include "log/log.hpp"

namespace tb::dynamodb {
namespace {

const json::object* object_member(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  return v ? v->if_object() : nullptr;
}

std::string string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  const std::string* s = v ? v->if_string() : nullptr;
  return s ? *s : std::string();
}

// An attribute of a stream image: {"S": text}.
std::string image_text(const json::object& image, std::string_view name) {
  const json::object* av = object_member(image, name);
  return av ? string_member(*av, "S") : std::string();
}

result<void> publish(event_publisher& publisher, const stream_record& r) {
  if (r.event_id.empty() || r.event_json.empty())
    return bad_request("the record's image has no eventId and event");
  try {
    return wait_for<void>([&](auto done) { publisher.publish(r.event_json, r.event_id, done); });
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("publisher failure: ") + e.what()};
  }
}

}  // namespace

result<std::vector<stream_record>> stream_records(const json::value& event) {
  const json::object* e = event.if_object();
  const json::value* records = e ? e->find("Records") : nullptr;
  if (!records || !records->if_array()) return bad_request("a DynamoDB Streams event needs a Records array");
  std::vector<stream_record> out;
  for (const auto& record : *records->if_array()) {
    const json::object* r = record.if_object();
    const json::object* ddb = r ? object_member(*r, "dynamodb") : nullptr;
    if (!ddb) return bad_request("each record needs its dynamodb member");
    stream_record s{string_member(*ddb, "SequenceNumber"), string_member(*r, "eventName"), {}, {}};
    if (s.sequence_number.empty()) return bad_request("each record needs dynamodb.SequenceNumber");
    if (const json::object* image = object_member(*ddb, "NewImage")) {
      s.event_id = image_text(*image, "eventId");
      s.event_json = image_text(*image, "event");
    }
    out.push_back(std::move(s));
  }
  return out;
}

json::value relay_batch(const std::vector<stream_record>& records, event_publisher& publisher) {
  json::array failures;
  for (const auto& r : records) {
    if (r.event_name != "INSERT") continue;  // a row expiring (REMOVE) publishes nothing
    auto published = publish(publisher, r);
    if (published) continue;
    log_line("error", "event not published",
             {{"eventId", r.event_id}, {"sequenceNumber", r.sequence_number}, {"reason", published.err().message}});
    json::object failure;
    failure.append_new("itemIdentifier", r.sequence_number);
    failures.emplace_back(std::move(failure));
    break;
  }
  json::object out;
  out.append_new("batchItemFailures", std::move(failures));
  return out;
}

}  // namespace tb::dynamodb
