#include "dynamodb/dynamodb_outbox.hpp"

#include <variant>

#include "log/log.hpp"
#include "core/ticket.hpp"
#include "dynamodb/attribute_value.hpp"

namespace tb::dynamodb {
namespace {

result<void> publish(event_publisher& publisher, const outbox_record& rec) {
  try {
    return wait_for<void>([&](auto done) { publisher.publish(rec.event_json, rec.event_id, done); });
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("publisher failure: ") + e.what()};
  }
}

const json::value* member(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o ? o->find(key) : nullptr;
}

// Exceptions stop here: the caller gets a failure to retry.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("Outbox failure: ") + e.what()};
  }
}

}  // namespace

dynamodb_outbox::dynamodb_outbox(std::shared_ptr<dynamodb_client> client, std::string events_table,
                                 std::string tickets_table, relay_limits limits)
    : outbox_(std::move(client), std::move(events_table)),
      tickets_table_(std::move(tickets_table)),
      limits_(limits) {}

result<relay_report> dynamodb_outbox::relay(event_publisher& publisher, std::size_t limit) {
  return guarded([&]() -> result<relay_report> {
    relay_report report;
    const std::string young = iso8601(std::chrono::system_clock::now() - limits_.prepared_grace);
    boost::json::object req{{"TableName", outbox_.name()},
                            {"IndexName", pending_index},
                            {"KeyConditionExpression", "#pending = :one"},
                            {"ExpressionAttributeNames", {{"#pending", "pending"}}},
                            {"ExpressionAttributeValues", {{":one", S("1")}}},
                            {"ScanIndexForward", true}};
    std::size_t settled = 0;
    while (settled < limit) {
      req["Limit"] = limit - settled;
      auto r = outbox_.client().call("Query", req);
      if (!r) return r.err().to_error();
      if (auto it = r->find("Items"); it != r->end() && it->value().is_array())
        for (const auto& wire : it->value().get_array()) {
          auto item = wire.is_object() ? from_item(wire.get_object()) : result<json::object>(json::object());
          if (!item) return item.err();
          const json::value* id = item->find("eventId");
          if (!id || !id->if_string()) continue;
          // The index is eventually consistent: the table says what the event is now.
          auto rec = outbox_.get(*id->if_string());
          if (!rec) return rec.err();
          if (!*rec || ((*rec)->status == status_prepared && (*rec)->recorded_at > young)) continue;
          if (auto s = settle(**rec, publisher, report); !s) return s.err();
          ++settled;
        }
      auto next = r->find("LastEvaluatedKey");
      if (next == r->end()) break;
      req["ExclusiveStartKey"] = next->value();
    }
    return report;
  });
}

result<relay_report> dynamodb_outbox::relay_one(const std::string& event_id, event_publisher& publisher) {
  return guarded([&]() -> result<relay_report> {
    relay_report report;
    auto rec = outbox_.get(event_id);
    if (!rec) return rec.err();
    // A prepared one is still its writer's; a relay takes it after the grace.
    if (*rec && (*rec)->status == status_pending)
      if (auto s = settle(**rec, publisher, report); !s) return s.err();
    return report;
  });
}

result<void> dynamodb_outbox::settle(const outbox_record& rec, event_publisher& publisher,
                                     relay_report& report) {
  std::string from = rec.status;
  if (from == status_prepared) {
    auto landed = write_landed(rec);
    if (!landed) return landed.err();
    if (!*landed) {
      ++report.discarded;
      return outbox_.discard(rec.event_id);
    }
    log_line("info", "outbox resolved a prepared event", {{"eventId", rec.event_id}});
  } else if (from != status_pending) {
    return ok;  // settled by another relay since the index listed it
  }
  auto published = publish(publisher, rec);
  if (published) {
    auto marked = outbox_.mark_delivered(rec.event_id, from);
    if (!marked) return marked.err();
    ++report.delivered;
    return ok;
  }
  const long long attempts = rec.attempts + 1;
  if (published.err().code == errc::bad_request || attempts >= limits_.max_attempts) {
    std::string reason =
        published.err().code == errc::bad_request
            ? published.err().message
            : "gave up after " + std::to_string(attempts) + " attempts: " + published.err().message;
    auto marked = outbox_.mark_dead(rec.event_id, from, attempts, reason);
    if (!marked) return marked.err();
    log_line("error", "outbox parked an event as dead", {{"eventId", rec.event_id}, {"reason", reason}});
    ++report.dead;
    return ok;
  }
  if (from == status_prepared)
    if (auto p = outbox_.promote(rec.event_id); !p) return p;
  auto marked = outbox_.mark_attempt(rec.event_id, attempts);
  if (!marked) return marked.err();
  log_line("warn", "outbox publish failed", {{"eventId", rec.event_id}, {"reason", published.err().message}});
  ++report.retried;
  return ok;
}

// Whether the write a prepared event describes happened: the ticket shows its price and the time
// stamp the write set (PriceChangeInitiated: timestamp; PriceChangeProcessed: processedAt). (A
// change overwritten by a later one before this runs reads as not landed: its event is dropped.)
result<bool> dynamodb_outbox::write_landed(const outbox_record& rec) {
  auto parsed = json::parse(rec.event_json);
  const auto* event = std::get_if<json::value>(&parsed);
  if (!event) return false;
  const bool processed = rec.event_type == price_change_processed;
  const json::value* seat = member(*event, "theatreSeat");
  const json::value* price = member(*event, processed ? "finalPrice" : "newPrice");
  const json::value* when = member(*event, processed ? "processedAt" : "timestamp");
  if (!seat || !seat->if_string() || !price || !when) return false;
  auto r = outbox_.client().call(
      "GetItem", {{"TableName", tickets_table_}, {"Key", ticket_key(*seat->if_string())}, {"ConsistentRead", true}});
  if (!r) return r.err().to_error();
  auto it = r->find("Item");
  if (it == r->end() || !it->value().is_object()) return false;
  auto ticket = from_item(it->value().get_object());
  if (!ticket) return ticket.err();
  const json::value* now_price = ticket->find(price_key);
  const json::value* now_when = ticket->find(last_change_key);
  return now_price && now_when && *now_price == *price && *now_when == *when;
}

}  // namespace tb::dynamodb
