#include "core/price_change.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

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

// Sets each of `fields` on the ticket and in the write's list of what it sets.
void set_all(ticket_write& w, const json::object& fields) {
  for (const auto& [k, v] : fields) {
    w.item.set(k, v);
    w.set.set(k, v);
    std::erase(w.removed, k);
  }
}

result<void> serialize_item(ticket_write& w) {
  w.item_json.clear();
  json::serialize_to(w.item_json, w.item);
  return check_item_size(w.item_json.size());
}

// Whether the ticket already shows what the handler would set (its time stamp aside).
bool shows(const json::object& ticket, const json::object& metadata) {
  for (const auto& [k, v] : metadata) {
    if (k == last_change_key) continue;
    const json::value* have = ticket.find(k);
    if (!have || !(*have == v)) return false;
  }
  return true;
}

// decide_price_change's outcome (see price_change.hpp), `metadata` being the event's.
price_change_outcome decide_outcome(const json::object* ticket, const price_change_event& e,
                                    const json::object& metadata) {
  using enum price_change_outcome;
  if (!ticket) return missing;
  const json::value* price = ticket->find(price_key);
  const bool at_new_price = price && price->if_number() && *price->if_number() == e.new_price;
  if (const std::string* stamp = string_member(*ticket, last_change_id_key)) {
    if (!e.identified || *stamp != e.event_id) return stale;
    if (ticket->contains(discount_key) && ticket->contains(discounted_key)) return duplicate;
    if (!at_new_price) return stale;  // repriced by a writer that does not stamp
  } else {
    if (!at_new_price) return stale;
    if (shows(*ticket, metadata)) return duplicate;
  }
  return applied;
}

// What an applied event adds to a write of its ticket (`w.item`): the metadata, and
// PriceChangeProcessed.
result<void> apply_metadata(ticket_write& w, const price_change_event& e, const json::object& metadata,
                            const std::string& now, const std::string& processed_id) {
  set_all(w, metadata);
  if (auto size = serialize_item(w); !size) return size.err();
  w.events.push_back({processed_id, price_change_processed,
                      with_updated_item(price_change_processed_fields(processed_id, e, w.item, now), w.item_json)});
  return ok;
}

}  // namespace

std::string_view to_string(price_change_outcome o) {
  switch (o) {
    case price_change_outcome::applied: return "applied";
    case price_change_outcome::ignored: return "ignored";
    case price_change_outcome::duplicate: return "duplicate";
    case price_change_outcome::stale: return "stale";
    case price_change_outcome::missing: return "missing";
  }
  return "unknown";
}

result<ticket_write> change_price(const json::object& ticket, const decimal& new_price, const std::string& now,
                                  const std::string& event_id, handling h) {
  ticket_write w;
  w.item = ticket;
  json::value old = price_or_null(ticket);
  json::object fields;
  fields.append_new(std::string(price_key), new_price);
  if (!old.is_null()) fields.append_new(std::string(previous_price_key), old);
  fields.append_new(std::string(last_change_key), now);
  fields.append_new(std::string(last_change_id_key), event_id);
  set_all(w, fields);
  // The discount described the previous change; until the handler computes this one's, a
  // reader must not see the new price beside the old discount.
  for (std::string_view k : {discount_key, discounted_key}) {
    w.item.erase(k);
    w.removed.emplace_back(k);
  }
  if (auto size = serialize_item(w); !size) return size.err();
  w.events.push_back({event_id, price_change_initiated,
                      with_updated_item(price_change_initiated_fields(event_id, ticket, w.item, now), w.item_json)});
  if (h == handling::by_bus) return w;

  price_change_event e;
  e.event_id = event_id;
  e.identified = true;
  e.seat = seat_of(ticket);
  const json::value* movie = ticket.find(movie_key);
  e.movie = movie ? *movie : json::value(nullptr);
  if (!old.is_null()) e.old_price = *old.if_number();
  e.new_price = new_price;
  e.timestamp = now;
  // A change just stamped on the ticket is its latest: the rule applies it, to this very write.
  using enum price_change_outcome;
  const json::object metadata = price_change_metadata(e, now);
  if (auto outcome = decide_outcome(&w.item, e, metadata); outcome != applied)
    return error{errc::internal, "a price change just made was " + std::string(to_string(outcome))};
  if (auto handled = apply_metadata(w, e, metadata, now, processed_event_id(event_id)); !handled)
    return handled.err();
  return w;
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
  const std::string* own_id = string_member(*o, "eventId");
  e.identified = own_id && !own_id->empty();
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

std::string processed_event_id(std::string_view initiated_event_id) {
  // A namespace of this service's own, so the ids cannot collide with other name-based UUIDs.
  static const boost::uuids::uuid ns = boost::uuids::string_generator()("3f0d6a52-93c1-4e5b-a0f7-2c7d1b9e8a41");
  boost::uuids::name_generator_sha1 generate(ns);
  return boost::uuids::to_string(generate(initiated_event_id.data(), initiated_event_id.size()));
}

result<price_change_decision> decide_price_change(const json::object* ticket, const price_change_event& e,
                                                  const std::string& now, const std::string& processed_id) {
  const json::object metadata = price_change_metadata(e, now);
  const price_change_outcome outcome = decide_outcome(ticket, e, metadata);
  if (outcome != price_change_outcome::applied) return price_change_decision{outcome, {}};
  price_change_decision d{outcome, {}};
  d.write.item = *ticket;
  if (auto added = apply_metadata(d.write, e, metadata, now, processed_id); !added) return added.err();
  return d;
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
