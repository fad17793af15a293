#include "core/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <unordered_map>

namespace tb::json {

const value* object::find(std::string_view key) const {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

value* object::find(std::string_view key) {
  for (auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

void object::set(std::string key, value v) {
  if (value* existing = find(key)) {
    *existing = std::move(v);
    return;
  }
  members_.emplace_back(std::move(key), std::move(v));
}

bool object::erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->first == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

bool operator==(const object& a, const object& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    const value* other = b.find(k);
    if (!other || !(*other == v)) return false;
  }
  return true;
}

namespace {

namespace bj = boost::json;
using bj::error_code;
using bj::string_view;

// Collects members in parse order; duplicates are resolved once per object (last value wins,
// first position kept) so a body with many keys costs O(n), not O(n^2).
struct frame {
  bool is_object;
  array items;
  std::vector<object::member> members;
  std::string pending_key;
};

object finish_object(std::vector<object::member>&& members) {
  object out;
  out.reserve(members.size());
  if (members.size() <= 8) {
    for (auto& m : members) out.set(std::move(m.first), std::move(m.second));
    return out;
  }
  std::unordered_map<std::string_view, std::size_t> position;
  std::vector<object::member> unique;
  unique.reserve(members.size());
  for (auto& m : members) {
    auto [it, inserted] = position.try_emplace(m.first, unique.size());
    if (inserted) {
      unique.push_back(std::move(m));
      // the key's storage moved into unique: re-point the map at the stable copy
      position.erase(it);
      position.emplace(unique.back().first, unique.size() - 1);
    } else {
      unique[it->second].second = std::move(m.second);
    }
  }
  for (auto& m : unique) out.append_new(std::move(m.first), std::move(m.second));
  return out;
}

struct builder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<frame> stack;
  std::string text;    // string, key or number being accumulated
  std::optional<value> root;
  std::optional<parse_failure> number_failure;

  void insert(value v) {
    if (stack.empty()) {
      root = std::move(v);
      return;
    }
    frame& top = stack.back();
    if (top.is_object)
      top.members.emplace_back(std::move(top.pending_key), std::move(v));
    else
      top.items.push_back(std::move(v));
  }

  bool number(string_view last, error_code& ec) {
    text.append(last.data(), last.size());
    decimal_error why{};
    auto d = decimal::parse(text, &why);
    if (!d) {
      // The message names the number, but never more of it than a reader needs: a 200,000-digit
      // number must not come back as a 200 KB error.
      std::string shown = text.size() > max_echoed_number_bytes
                              ? text.substr(0, max_echoed_number_bytes) + "..."
                              : text;
      number_failure = parse_failure{
          parse_error::number,
          why == decimal_error::too_many_digits
              ? "Number " + shown + " has more than 38 significant digits"
              : "Number " + shown + " is outside the range 1E-130 to 9.99E+125"};
      ec = bj::error::syntax;
      return false;
    }
    text.clear();
    insert(std::move(*d));
    return true;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) {
    stack.push_back(frame{false, {}, {}, {}});
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    array a = std::move(stack.back().items);
    stack.pop_back();
    insert(std::move(a));
    return true;
  }
  bool on_object_begin(error_code&) {
    stack.push_back(frame{true, {}, {}, {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    object o = finish_object(std::move(stack.back().members));
    stack.pop_back();
    insert(std::move(o));
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    text.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    text.append(s.data(), s.size());
    insert(std::move(text));
    text.clear();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    text.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    text.append(s.data(), s.size());
    stack.back().pending_key = std::move(text);
    text.clear();
    return true;
  }
  bool on_number_part(string_view s, error_code&) {
    text.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, string_view s, error_code& ec) { return number(s, ec); }
  bool on_uint64(std::uint64_t, string_view s, error_code& ec) { return number(s, ec); }
  bool on_double(double, string_view s, error_code& ec) { return number(s, ec); }
  bool on_bool(bool b, error_code&) {
    insert(b);
    return true;
  }
  bool on_null(error_code&) {
    insert(nullptr);
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

// Builds nothing: says whether a text is JSON with an object at its root, without a tree's cost.
struct object_checker {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  bool started = false;
  bool root_is_object = false;

  bool begin() {
    started = true;
    return true;
  }
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (!started) root_is_object = true;
    return begin();
  }
  bool on_object_end(std::size_t, error_code&) { return true; }
  bool on_array_begin(error_code&) { return begin(); }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_key_part(string_view, std::size_t, error_code&) { return true; }
  bool on_key(string_view, std::size_t, error_code&) { return true; }
  bool on_string_part(string_view, std::size_t, error_code&) { return begin(); }
  bool on_string(string_view, std::size_t, error_code&) { return begin(); }
  bool on_number_part(string_view, error_code&) { return begin(); }
  bool on_int64(std::int64_t, string_view, error_code&) { return begin(); }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return begin(); }
  bool on_double(double, string_view, error_code&) { return begin(); }
  bool on_bool(bool, error_code&) { return begin(); }
  bool on_null(error_code&) { return begin(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

bool is_object_text(std::string_view text) {
  bj::parse_options options;
  options.max_depth = max_depth;
  bj::basic_parser<object_checker> parser(options);
  error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  return !ec && consumed == text.size() && parser.handler().root_is_object;
}

std::variant<value, parse_failure> parse(std::string_view text) {
  bj::parse_options options;
  options.max_depth = max_depth;
  bj::basic_parser<builder> parser(options);
  error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().number_failure) return *parser.handler().number_failure;
  if (ec || consumed != text.size() || !parser.handler().root)
    return parse_failure{parse_error::syntax, ec ? ec.message() : "extra data after the JSON value"};
  return std::move(*parser.handler().root);
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the current run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void serialize_to(std::string& out, const value& v) {
  struct visitor {
    std::string& out;
    void operator()(std::nullptr_t) const { out += "null"; }
    void operator()(bool b) const { out += b ? "true" : "false"; }
    void operator()(const decimal& d) const { out += d.to_string(); }
    void operator()(const std::string& s) const { append_quoted(out, s); }
    void operator()(const array& a) const {
      out.push_back('[');
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out.push_back(',');
        serialize_to(out, a[i]);
      }
      out.push_back(']');
    }
    void operator()(const object& o) const { serialize_to(out, o); }
  };
  std::visit(visitor{out}, v.v);
}

void serialize_to(std::string& out, const object& o) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, member] : o) {
    if (!first) out.push_back(',');
    first = false;
    append_quoted(out, k);
    out.push_back(':');
    serialize_to(out, member);
  }
  out.push_back('}');
}

void append_member(std::string& object_text, std::string_view key, std::string_view raw_json) {
  object_text.pop_back();  // '}'
  if (object_text.back() != '{') object_text.push_back(',');
  append_quoted(object_text, key);
  object_text.push_back(':');
  object_text.append(raw_json);
  object_text.push_back('}');
}

std::string serialize(const value& v) {
  std::string out;
  serialize_to(out, v);
  return out;
}

}  // namespace tb::json
