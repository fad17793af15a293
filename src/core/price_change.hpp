// The price-change rule as pure functions: what a PATCH of Price writes with its
// PriceChangeInitiated event, and what priceChangeEventHandler decides for an event given the
// ticket as it stands (metadata + PriceChangeProcessed, or nothing). Stores only carry out the
// write a function here returns, atomically; nothing here does I/O.
//
// Staleness is judged by identity: a price change stamps the ticket with its eventId
// (LastPriceChangeEventId), and an event applies only to the ticket whose latest change it is.
// A ticket without that stamp was last repriced by the original service (or a version before
// the stamp): then, as the original did, an event applies when its newPrice is the ticket's Price.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"

namespace tb {

inline constexpr std::string_view price_change_initiated = "PriceChangeInitiated";
inline constexpr std::string_view price_change_processed = "PriceChangeProcessed";

// What handling one event did.
enum class price_change_outcome {
  applied,    // metadata written and PriceChangeProcessed recorded
  ignored,    // not a PriceChangeInitiated: nothing to do (the handler's own events never loop)
  duplicate,  // handled before: nothing changed
  stale,      // not the ticket's latest change: nothing changed
  missing,    // the ticket is gone: nothing recreated
};
std::string_view to_string(price_change_outcome o);

struct recorded_event {
  std::string event_id;
  std::string_view event_type;
  std::string json;  // the event's text, updatedItem last
};

// One atomic write of a ticket and the events recorded with it. `item` is the whole ticket
// afterwards; `set` and `removed` the attributes that changed, for stores that update in place.
struct ticket_write {
  json::object item;
  std::string item_json;  // item's canonical text, as stored and as the events carry it
  json::object set;
  std::vector<std::string> removed;
  std::vector<recorded_event> events;
};

// Whether a PATCH's price change is handled in its own write or left to a bus.
enum class handling { by_bus, in_same_write };

// PATCH of Price: Price = new, PreviousPrice = old Price (when there was one),
// LastPriceChangeTimestamp = now, LastPriceChangeEventId = event_id, the previous change's
// discount removed, and PriceChangeInitiated recorded. in_same_write also applies the handler's
// decision to the result (metadata and PriceChangeProcessed in the same write: events[1]).
// Fails when the ticket would pass the item size limit.
result<ticket_write> change_price(const json::object& ticket, const decimal& new_price, const std::string& now,
                                  const std::string& event_id, handling h = handling::by_bus);

struct price_change_event {
  std::string event_id;
  bool identified = false;  // the message carried its own eventId (not a stand-in)
  std::string seat;
  json::value movie;
  std::optional<decimal> old_price;  // absent when the ticket had no price before
  decimal new_price;
  std::string timestamp;
};

// A message on the bus -> the event to handle; nullopt for another event type (ignored); an
// error for a malformed message. fallback_id stands in for a missing eventId (the SNS MessageId,
// or a hash of the message).
result<std::optional<price_change_event>> parse_price_change_event(const json::value& message,
                                                                    const std::string& fallback_id);

// The id a message goes by: its eventId when it has a non-empty one, else fallback_id.
std::string event_id_of(const json::value& message, const std::string& fallback_id);

// The PriceChangeProcessed eventId for a change: a name-based UUID of the change's eventId, so a
// retried handling produces the same event and a store can recognise it.
std::string processed_event_id(std::string_view initiated_event_id);

struct price_change_decision {
  price_change_outcome outcome = price_change_outcome::ignored;
  ticket_write write;  // applied only: what to write, atomically, on the ticket as it stood
};

// priceChangeEventHandler's rule. `ticket` is the ticket as it stands (null: deleted).
//  - no ticket: missing.
//  - a ticket stamped with a change's eventId: the event applies only when it is that change
//    (its eventId is the stamp) and its newPrice is still the Price; it is a duplicate when that
//    change's metadata (DiscountPercentage, IsDiscounted, which the PATCH removes) is there
//    already; any other event is stale, one without eventId included.
//  - an unstamped ticket: the event applies when its newPrice is the Price, and is a duplicate
//    when the ticket already shows exactly its metadata; otherwise stale.
// Applied: the metadata set (LastPriceChangeTimestamp = now, PreviousPrice = oldPrice,
// DiscountPercentage, IsDiscounted) and PriceChangeProcessed (eventId processed_id) recorded.
// Fails when the ticket would pass the item size limit.
result<price_change_decision> decide_price_change(const json::object* ticket, const price_change_event& e,
                                                  const std::string& now, const std::string& processed_id);

// The attributes the handler sets on the ticket.
json::object price_change_metadata(const price_change_event& e, const std::string& now);

// PriceChangeInitiated without its updatedItem; with_updated_item completes an event's text.
json::object price_change_initiated_fields(const std::string& event_id, const json::object& old_item,
                                           const json::object& new_item, const std::string& now);
// PriceChangeProcessed without its updatedItem.
json::object price_change_processed_fields(const std::string& event_id, const price_change_event& cause,
                                           const json::object& updated_item, const std::string& now);
// The event's JSON text: its fields, then "updatedItem" as the item's canonical JSON text.
std::string with_updated_item(const json::object& fields, std::string_view item_json);

}  // namespace tb
