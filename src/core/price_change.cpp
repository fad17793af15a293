#include "core/price_change.hpp"

#include "core/ticket.hpp"

namespace tb {
namespace {

json::value price_or_null(const json::object& item) {
  const json::value* p = item.find(price_key);
  return p && p->if_number() ? *p : json::value(nullptr);
}

const std::string* string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  return v ? v->if_string() : nullptr;
}

}  // namespace

void apply_price_change(json::object& item, const decimal& new_price, const std::string& now) {
  json::value old = price_or_null(item);
  item.set(std::string(price_key), new_price);
  if (!old.is_null()) item.set(std::string(previous_price_key), std::move(old));
  item.set(std::string(last_change_key), now);
  // The discount described the previous change; until the handler computes this one's, a
  // reader must not see the new price beside the old discount.
  item.erase(discount_key);
  item.erase(discounted_key);
}

json::object price_change_initiated_fields(const std::string& event_id, const json::object& old_item,
                                           const json::object& new_item, const std::string& now) {
  json::object e;
  e.append_new("eventType", std::string(price_change_initiated));
  e.append_new("eventId", event_id);
  e.append_new("theatreSeat", seat_of(new_item));
  const json::value* movie = new_item.find(movie_key);
  e.append_new("movie", movie ? *movie : json::value(nullptr));
  e.append_new("oldPrice", price_or_null(old_item));
  e.append_new("newPrice", price_or_null(new_item));
  e.append_new("timestamp", now);
  return e;
}

std::string with_updated_item(const json::object& fields, std::string_view item_json) {
  std::string text;
  text.reserve(item_json.size() + 320);
  json::serialize_to(text, fields);
  json::append_member(text, "updatedItem", item_json);
  return text;
}

result<std::optional<price_change_event>> parse_price_change_event(const json::value& message,
                                                                    const std::string& fallback_id) {
  const json::object* o = message.if_object();
  if (!o) return bad_request("event is not a JSON object");
  const std::string* type = string_member(*o, "eventType");
  if (!type) return bad_request("event has no eventType");
  if (*type != price_change_initiated) return std::optional<price_change_event>{};

  price_change_event e;
  e.event_id = event_id_of(message, fallback_id);
  auto seat = validate_seat(o->find("theatreSeat"));
  if (!seat) return bad_request("theatreSeat: " + seat.err().message);
  e.seat = std::move(*seat);
  const json::value* movie = o->find("movie");
  e.movie = movie ? *movie : json::value(nullptr);
  const json::value* new_price = o->find("newPrice");
  if (!new_price || !new_price->if_number() || new_price->if_number()->is_negative())
    return bad_request("newPrice must be a non-negative number");
  e.new_price = *new_price->if_number();
  const json::value* old_price = o->find("oldPrice");
  if (old_price && !old_price->is_null()) {
    if (!old_price->if_number() || old_price->if_number()->is_negative())
      return bad_request("oldPrice must be a non-negative number or null");
    e.old_price = *old_price->if_number();
  }
  const std::string* ts = string_member(*o, "timestamp");
  e.timestamp = ts ? *ts : std::string();
  return std::optional<price_change_event>(std::move(e));
}

std::string event_id_of(const json::value& message, const std::string& fallback_id) {
  const json::object* o = message.if_object();
  const std::string* id = o ? string_member(*o, "eventId") : nullptr;
  return id && !id->empty() ? *id : fallback_id;
}

json::object price_change_metadata(const price_change_event& e, const std::string& now) {
  json::object fields;
  fields.append_new(std::string(last_change_key), now);
  if (e.old_price) fields.append_new(std::string(previous_price_key), *e.old_price);
  const bool discounted = e.old_price && e.new_price < *e.old_price;
  fields.append_new(std::string(discount_key),
                    discounted ? decimal::percent_decrease(*e.old_price, e.new_price) : decimal());
  fields.append_new(std::string(discounted_key), discounted);
  return fields;
}

json::object price_change_processed_fields(const std::string& event_id, const price_change_event& cause,
                                           const json::object& updated_item, const std::string& now) {
  json::object e;
  e.append_new("eventType", std::string(price_change_processed));
  e.append_new("eventId", event_id);
  e.append_new("causationId", cause.event_id);
  e.append_new("theatreSeat", cause.seat);
  const json::value* movie = updated_item.find(movie_key);
  e.append_new("movie", movie ? *movie : cause.movie);
  e.append_new("finalPrice", cause.new_price);
  e.append_new("priceChangeTimestamp", cause.timestamp);
  const json::value* discounted = updated_item.find(discounted_key);
  const json::value* discount = updated_item.find(discount_key);
  e.append_new("isDiscounted", discounted ? *discounted : json::value(false));
  e.append_new("discountPercentage", discount ? *discount : json::value(decimal()));
  e.append_new("processedAt", now);
  return e;
}

}  // namespace tb
