#include "dynamodb/attribute_value.hpp"

#include <boost/json/string.hpp>

#include "core/ticket.hpp"

namespace tb::dynamodb {
namespace {

error malformed(std::string_view why) {
  return {errc::internal, "DynamoDB returned a malformed AttributeValue: " + std::string(why)};
}

std::string text_of(const boost::json::string& s) {
  return std::string(s.data(), s.size());
}

result<json::value> number_from(const boost::json::value& n) {
  const auto* s = n.if_string();
  if (!s) return malformed("N is not a string");
  auto d = decimal::parse(std::string_view(s->data(), s->size()));
  if (!d) return malformed("N is not a number");
  return json::value(std::move(*d));
}

// SS, NS, BS: arrays of strings; numbers for NS.
result<json::value> set_from(const boost::json::value& set, bool numbers) {
  const auto* elements = set.if_array();
  if (!elements) return malformed("a set is not an array");
  json::array out;
  out.reserve(elements->size());
  for (const auto& e : *elements) {
    if (numbers) {
      auto n = number_from(e);
      if (!n) return n.err();
      out.push_back(std::move(*n));
    } else if (const auto* s = e.if_string()) {
      out.emplace_back(text_of(*s));
    } else {
      return malformed("a set element is not a string");
    }
  }
  return json::value(std::move(out));
}

}  // namespace

boost::json::object to_attribute_value(const json::value& v) {
  boost::json::object av;
  struct visitor {
    boost::json::object& av;
    void operator()(std::nullptr_t) const { av["NULL"] = true; }
    void operator()(bool b) const { av["BOOL"] = b; }
    void operator()(const decimal& d) const { av["N"] = d.to_string(); }
    void operator()(const std::string& s) const { av["S"] = s; }
    void operator()(const json::array& a) const {
      boost::json::array list;
      list.reserve(a.size());
      for (const auto& e : a) list.emplace_back(to_attribute_value(e));
      av["L"] = std::move(list);
    }
    void operator()(const json::object& o) const { av["M"] = to_item(o); }
  };
  std::visit(visitor{av}, v.v);
  return av;
}

boost::json::object to_item(const json::object& item) {
  boost::json::object out;
  out.reserve(item.size());
  for (const auto& [name, v] : item) out[name] = to_attribute_value(v);
  return out;
}

result<json::value> from_attribute_value(const boost::json::value& av) {
  const auto* o = av.if_object();
  if (!o || o->size() != 1) return malformed("not an object of one member");
  const auto& [type, v] = *o->begin();
  if (type == "S" || type == "B") {  // B: the base64 text, as the JSON API carries it
    const auto* s = v.if_string();
    if (!s) return malformed("S or B is not a string");
    return json::value(text_of(*s));
  }
  if (type == "N") return number_from(v);
  if (type == "BOOL") {
    const bool* b = v.if_bool();
    if (!b) return malformed("BOOL is not a boolean");
    return json::value(*b);
  }
  if (type == "NULL") return json::value(nullptr);
  if (type == "L") {
    const auto* list = v.if_array();
    if (!list) return malformed("L is not an array");
    json::array out;
    out.reserve(list->size());
    for (const auto& e : *list) {
      auto converted = from_attribute_value(e);
      if (!converted) return converted.err();
      out.push_back(std::move(*converted));
    }
    return json::value(std::move(out));
  }
  if (type == "M") {
    const auto* map = v.if_object();
    if (!map) return malformed("M is not an object");
    auto converted = from_item(*map);
    if (!converted) return converted.err();
    return json::value(std::move(*converted));
  }
  if (type == "SS" || type == "BS") return set_from(v, false);
  if (type == "NS") return set_from(v, true);
  return malformed("unknown type " + std::string(type));
}

result<json::object> from_item(const boost::json::object& item) {
  json::object out;
  out.reserve(item.size());
  for (const auto& [name, av] : item) {
    auto v = from_attribute_value(av);
    if (!v) return v.err();
    out.append_new(std::string(name), std::move(*v));
  }
  return out;
}

boost::json::object S(std::string_view s) { return {{"S", s}}; }

boost::json::object N(long long n) { return {{"N", std::to_string(n)}}; }

boost::json::object ticket_key(std::string_view seat) { return {{std::string(seat_key), S(seat)}}; }

std::string attribute_text(const boost::json::object& item, std::string_view name, std::string_view type) {
  auto it = item.find(name);
  if (it == item.end() || !it->value().is_object()) return {};
  const auto& av = it->value().get_object();
  auto v = av.find(type);
  if (v == av.end() || !v->value().is_string()) return {};
  return std::string(v->value().get_string());
}

}  // namespace tb::dynamodb
