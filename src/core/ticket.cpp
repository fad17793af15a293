#include "core/ticket.hpp"

#include <array>

namespace tb {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_service_managed(std::string_view key) {
  static constexpr std::array managed{previous_price_key, last_change_key, last_change_id_key, discount_key,
                                      discounted_key};
  for (auto m : managed)
    if (iequals(key, m)) return true;
  return false;
}

result<std::string> validate_seat(const json::value* v) {
  if (!v || v->is_null()) return bad_request("Theatre-Seat is required");
  const std::string* s = v->if_string();
  if (!s) return bad_request("Theatre-Seat must be a string");
  if (s->empty()) return bad_request("Theatre-Seat is required");
  if (s->size() > max_seat_bytes) return bad_request("Theatre-Seat must be at most 2048 bytes");
  for (std::size_t i = 0; i < s->size(); ++i) {
    const auto c = static_cast<unsigned char>((*s)[i]);
    const auto next = i + 1 < s->size() ? static_cast<unsigned char>((*s)[i + 1]) : 0;
    // C0, DEL and C1 (U+0080..U+009F, which UTF-8 writes as C2 80..C2 9F).
    if (c < 0x20 || c == 0x7f || (c == 0xc2 && next >= 0x80 && next <= 0x9f))
      return bad_request("Theatre-Seat must not contain control characters");
  }
  return *s;
}

result<std::string> validate_seat(std::string_view seat) {
  json::value v{std::string(seat)};
  return validate_seat(&v);
}

result<json::value> parse_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return bad_request("Request body is required");
  auto parsed = json::parse(body);
  if (auto* failure = std::get_if<json::parse_failure>(&parsed)) {
    if (failure->kind == json::parse_error::number) return bad_request(failure->detail);
    return bad_request("Invalid JSON format");
  }
  return std::get<json::value>(std::move(parsed));
}

result<json::object> parse_body_object(std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed) return parsed.err();
  json::object* obj = parsed->if_object();
  if (!obj) return bad_request("Request body must be a JSON object");
  return std::move(*obj);
}

namespace {

result<void> check_price(const json::value& v) {
  const decimal* d = v.if_number();
  if (!d || d->is_negative()) return bad_request("Price must be a non-negative number");
  return ok;
}

bool is_blank(const json::value* v) {
  if (!v || v->is_null()) return true;
  const std::string* s = v->if_string();
  return s && s->empty();
}

}  // namespace

result<void> check_item_size(std::size_t serialized_bytes) {
  // DynamoDB counts names and values in UTF-8; the compact JSON text is a close upper bound.
  if (serialized_bytes > max_item_bytes) return bad_request("Item size exceeds the 400 KB limit");
  return ok;
}

result<void> check_item_size(const json::object& item) {
  return check_item_size(json::serialize(json::value(item)).size());
}

result<json::object> validate_new_ticket(json::object item) {
  auto seat = validate_seat(item.find(seat_key));
  if (!seat) return seat.err();
  if (is_blank(item.find(movie_key))) return bad_request("Movie is required");
  for (const auto& [key, v] : item) {
    if (key.empty()) return bad_request("Attribute names must not be empty");
    if (is_service_managed(key)) return bad_request(key + " is managed by the service and cannot be set");
    if (iequals(key, price_key)) {
      if (auto r = check_price(v); !r) return r.err();
    }
  }
  if (auto r = check_item_size(item); !r) return r.err();
  return item;
}

result<ticket_update> parse_update(const json::object& body) {
  auto seat = validate_seat(body.find(seat_key));
  if (!seat) return seat.err();
  const json::value* key = body.find("updateKey");
  if (is_blank(key)) return bad_request("updateKey is required");
  const std::string* key_name = key->if_string();
  if (!key_name) return bad_request("updateKey must be a string");
  const json::value* v = body.find("updateValue");
  if (!v) return bad_request("updateValue is required");
  if (*key_name == seat_key) return bad_request("Cannot update primary key Theatre-Seat");
  if (is_service_managed(*key_name))
    return bad_request(*key_name + " is managed by the service and cannot be set");
  ticket_update u{std::move(*seat), *key_name, *v, iequals(*key_name, price_key)};
  if (u.is_price_change) {
    if (auto r = check_price(*v); !r) return r.err();
    u.key = std::string(price_key);
  }
  return u;
}

result<std::string> parse_seat_request(const json::object& body) {
  return validate_seat(body.find(seat_key));
}

std::string seat_of(const json::object& item) {
  const json::value* v = item.find(seat_key);
  const std::string* s = v ? v->if_string() : nullptr;
  return s ? *s : std::string();
}

}  // namespace tb
