// What a valid ticket and a valid request are, with the exact messages of the contract.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/result.hpp"

namespace tb {

inline constexpr std::string_view seat_key = "Theatre-Seat";
inline constexpr std::string_view movie_key = "Movie";
inline constexpr std::string_view price_key = "Price";
inline constexpr std::string_view previous_price_key = "PreviousPrice";
inline constexpr std::string_view last_change_key = "LastPriceChangeTimestamp";
// The eventId of the ticket's latest price change: a late or repeated event is judged by it.
inline constexpr std::string_view last_change_id_key = "LastPriceChangeEventId";
inline constexpr std::string_view discount_key = "DiscountPercentage";
inline constexpr std::string_view discounted_key = "IsDiscounted";

inline constexpr std::size_t max_seat_bytes = 2048;
inline constexpr std::size_t max_item_bytes = 400 * 1024;  // DynamoDB's item limit

bool iequals(std::string_view a, std::string_view b);
bool is_service_managed(std::string_view key);  // any letter case

// The seat when it is a valid Theatre-Seat, else why not.
result<std::string> validate_seat(const json::value* v);
// A seat given as text (a query parameter): the same rules.
result<std::string> validate_seat(std::string_view seat);

// Body -> JSON object, with the contract's messages for an empty, malformed or non-object body.
result<json::object> parse_body_object(std::string_view body);
result<json::value> parse_body(std::string_view body);

// POST /ticket: the body as it will be stored.
result<json::object> validate_new_ticket(json::object item);

struct ticket_update {
  std::string seat;
  std::string key;     // "Price" for a price change, whatever case the client used
  json::value value;
  bool is_price_change = false;
};
// PATCH /ticket body -> the update it asks for.
result<ticket_update> parse_update(const json::object& body);

// DELETE /ticket body -> seat.
result<std::string> parse_seat_request(const json::object& body);

result<void> check_item_size(const json::object& item);
// The same rule for an item already serialised (what a store writes).
result<void> check_item_size(std::size_t serialized_bytes);

// The seat of a stored item (stores keep it as the key); empty if absent.
std::string seat_of(const json::object& item);

}  // namespace tb
