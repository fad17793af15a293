// The outbox table's records: events stored beside a ticket write, and the handled-event markers.
// DynamoDB emulators differ in what they offer (dynalite has no TransactWriteItems), so a write
// and its event are made atomic by ordering instead of a transaction: the event is stored
// `prepared` first, the ticket written, then the event made `pending`. A prepared event whose
// writer died is resolved later from the ticket (dynamodb_outbox).
//
// Schema: partition key eventId (S); event (S, the event's JSON text), eventType (S), status (S:
// prepared | pending | delivered | dead), recordedAt (S, ISO-8601), attempts (N), reason (S, when
// dead), pending (S, "1" while prepared or pending) keyed by the GSI pending-index (pending,
// recordedAt). Markers: eventId "handled#<eventId>", outcome (S), processedEventId (S, applied).
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "dynamodb/dynamodb_client.hpp"

namespace tb::dynamodb {

inline constexpr std::string_view status_prepared = "prepared";
inline constexpr std::string_view status_pending = "pending";
inline constexpr std::string_view status_delivered = "delivered";
inline constexpr std::string_view status_dead = "dead";
inline constexpr std::string_view pending_index = "pending-index";

struct outbox_record {
  std::string event_id;
  std::string event_json;
  std::string event_type;
  std::string status;
  std::string recorded_at;
  long long attempts = 0;
  std::string reason;
};

struct handled_marker {
  std::string outcome;  // applied | stale | missing
  std::string processed_event_id;
};

// Whether a write succeeded, failed for sure, or may have landed (no answer came back).
enum class write_state { refused, unknown };
write_state state_of(const call_error& e);

class outbox_table {
 public:
  outbox_table(std::shared_ptr<dynamodb_client> client, std::string table);

  // Stores the event as prepared (again, if a try before left it so).
  result<void> prepare(const std::string& event_id, std::string_view event_type,
                       const std::string& event_json);
  // prepared -> pending: the relay's to deliver. `event_json`, when given, replaces the text
  // prepared: the item as the write actually left it.
  result<void> promote(const std::string& event_id, const std::string& event_json = {});
  // Drops a prepared event whose write did not happen.
  result<void> discard(const std::string& event_id);

  result<std::optional<outbox_record>> get(const std::string& event_id);
  // Only from `from` (the status read), so two relays do not both settle one event.
  // false when the event was no longer in that status.
  result<bool> mark_delivered(const std::string& event_id, std::string_view from);
  result<bool> mark_dead(const std::string& event_id, std::string_view from, long long attempts,
                         const std::string& reason);
  result<bool> mark_attempt(const std::string& event_id, long long attempts);

  result<std::optional<handled_marker>> marker(const std::string& event_id);
  // Remembers how an event was handled; nullopt when a marker was already there (a duplicate).
  result<std::optional<handled_marker>> remember(const std::string& event_id, std::string_view outcome,
                                                 const std::string& processed_event_id = {});

  dynamodb_client& client() { return *client_; }
  const std::string& name() const { return table_; }

 private:
  result<bool> settle(const std::string& event_id, std::string_view from, boost::json::object request);

  std::shared_ptr<dynamodb_client> client_;
  std::string table_;
};

}  // namespace tb::dynamodb
