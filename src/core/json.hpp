// The JSON value every item and event is held in. Unlike boost::json::value, a number keeps its
// exact decimal value (tb::decimal), and objects keep their members in insertion order.
// Parsing is Boost.JSON's basic_parser; only the tree it builds is ours.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/decimal.hpp"
#include "core/result.hpp"

namespace tb::json {

struct value;
using array = std::vector<value>;

class object {
 public:
  using member = std::pair<std::string, value>;

  const value* find(std::string_view key) const;
  value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Replaces the member's value in place, or appends a new member.
  void set(std::string key, value v);
  // Appends without looking for the key: only for a key known to be absent.
  void append_new(std::string key, value v);
  bool erase(std::string_view key);

  // Defined below value: clang with libstdc++ needs member complete to instantiate these.
  auto begin() const;
  auto end() const;
  std::size_t size() const;
  bool empty() const;
  void reserve(std::size_t n);

  friend bool operator==(const object&, const object&);

 private:
  std::vector<member> members_;
};

struct value {
  using storage = std::variant<std::nullptr_t, bool, decimal, std::string, array, object>;
  storage v;

  value() : v(nullptr) {}
  value(std::nullptr_t) : v(nullptr) {}
  value(bool b) : v(b) {}
  value(decimal d) : v(std::move(d)) {}
  value(std::string s) : v(std::move(s)) {}
  value(const char* s) : v(std::string(s)) {}
  value(array a) : v(std::move(a)) {}
  value(object o) : v(std::move(o)) {}

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  const bool* if_bool() const { return std::get_if<bool>(&v); }
  const decimal* if_number() const { return std::get_if<decimal>(&v); }
  const std::string* if_string() const { return std::get_if<std::string>(&v); }
  const array* if_array() const { return std::get_if<array>(&v); }
  const object* if_object() const { return std::get_if<object>(&v); }
  object* if_object() { return std::get_if<object>(&v); }

  friend bool operator==(const value& a, const value& b) { return a.v == b.v; }
};

inline void object::append_new(std::string key, value v) {
  members_.emplace_back(std::move(key), std::move(v));
}
inline auto object::begin() const { return members_.begin(); }
inline auto object::end() const { return members_.end(); }
inline std::size_t object::size() const { return members_.size(); }
inline bool object::empty() const { return members_.empty(); }
inline void object::reserve(std::size_t n) { members_.reserve(n); }

// Nesting deeper than this is rejected (DynamoDB allows 32 levels).
inline constexpr std::size_t max_depth = 32;

enum class parse_error {
  syntax,           // not JSON (or invalid UTF-8, or nested too deep)
  number,           // a number DynamoDB cannot hold (digits or magnitude); see decimal_error
};

// A number's failure message quotes at most this much of it (numbers are ASCII: no character cut).
inline constexpr std::size_t max_echoed_number_bytes = 64;

struct parse_failure {
  parse_error kind;
  std::string detail;
};

// Parses one JSON text. Duplicate object keys: the last one wins, as in Python's json.
std::variant<value, parse_failure> parse(std::string_view text);

// Whether the text is one JSON object (valid UTF-8, nesting within max_depth), building nothing:
// for checking what was read back from storage before it is served.
bool is_object_text(std::string_view text);

// Compact serialisation with canonical numbers.
void serialize_to(std::string& out, const value& v);
void serialize_to(std::string& out, const object& o);
std::string serialize(const value& v);
void append_quoted(std::string& out, std::string_view s);
// Adds "key": raw_json as the last member of a serialised object (text ending in '}'): a value
// serialised once (a stored item) goes into the messages that carry it as it is.
void append_member(std::string& object_text, std::string_view key, std::string_view raw_json);

}  // namespace tb::json
