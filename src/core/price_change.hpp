// The price-change flow as pure functions: the PATCH's write and its PriceChangeInitiated event,
// and priceChangeEventHandler's decision (metadata + PriceChangeProcessed). Stores and buses
// make these atomic and durable; nothing here does I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/result.hpp"

namespace tb {

inline constexpr std::string_view price_change_initiated = "PriceChangeInitiated";
inline constexpr std::string_view price_change_processed = "PriceChangeProcessed";

// PATCH of Price: Price = new, PreviousPrice = old Price (when there was one),
// LastPriceChangeTimestamp = now, and the previous change's discount fields removed.
void apply_price_change(json::object& item, const decimal& new_price, const std::string& now);

// PriceChangeInitiated without its updatedItem; with_updated_item completes an event's text.
json::object price_change_initiated_fields(const std::string& event_id, const json::object& old_item,
                                           const json::object& new_item, const std::string& now);
// The event's JSON text: its fields, then "updatedItem" as the item's canonical JSON text.
std::string with_updated_item(const json::object& fields, std::string_view item_json);

struct price_change_event {
  std::string event_id;
  std::string seat;
  json::value movie;
  std::optional<decimal> old_price;  // absent when the ticket had no price before
  decimal new_price;
  std::string timestamp;
};

// A message on the bus -> the event to handle; nullopt for another event type (ignored, so the
// handler's own PriceChangeProcessed never loops back); an error for a malformed message.
// fallback_id stands in for a missing eventId (the SNS MessageId, or a hash of the message).
result<std::optional<price_change_event>> parse_price_change_event(const json::value& message,
                                                                    const std::string& fallback_id);

// The id a message goes by: its eventId when it has a non-empty one, else fallback_id.
std::string event_id_of(const json::value& message, const std::string& fallback_id);

// The attributes the handler sets on the ticket.
json::object price_change_metadata(const price_change_event& e, const std::string& now);

// PriceChangeProcessed without its updatedItem (see with_updated_item).
json::object price_change_processed_fields(const std::string& event_id, const price_change_event& cause,
                                           const json::object& updated_item, const std::string& now);

}  // namespace tb
