// Form encoding and element lookup for the Query protocol's XML answers.
#include "aws/query_api.hpp"

#include <cctype>
#include <cstdint>

namespace tb::aws {

namespace {

// application/x-www-form-urlencoded: a space is '+'. AWS reads either form, but moto checks a
// signature over the body it re-encodes from the parsed form with Python's urlencode, which
// writes '+': a body written with %20 would fail its check.
void form_encode(std::string& out, std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Decodes the five named entities and numeric character references; leaves anything else as is.
std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto semi = s[i] == '&' ? s.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    const auto name = s.substr(i + 1, semi - i - 1);
    if (name == "lt")
      out += '<';
    else if (name == "gt")
      out += '>';
    else if (name == "amp")
      out += '&';
    else if (name == "quot")
      out += '"';
    else if (name == "apos")
      out += '\'';
    else if (name.size() > 1 && name[0] == '#') {
      const bool hexa = name[1] == 'x' || name[1] == 'X';
      const auto digits = name.substr(hexa ? 2 : 1);
      std::uint32_t cp = 0;
      bool ok = !digits.empty() && digits.size() <= 8;
      for (char c : digits) {
        const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : hexa && std::isxdigit(static_cast<unsigned char>(c))
                          ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                          : -1;
        if (d < 0) ok = false;
        cp = cp * (hexa ? 16 : 10) + static_cast<std::uint32_t>(d < 0 ? 0 : d);
      }
      if (!ok || cp > 0x10ffff) {
        out += s[i];
        continue;
      }
      append_utf8(out, cp);
    } else {
      out += s[i];
      continue;
    }
    i = semi;
  }
  return out;
}

// The position of the '<' of the first start tag <tag> or <tag ...> at or after from.
std::size_t find_start_tag(std::string_view xml, std::string_view tag, std::size_t from) {
  while (true) {
    const auto lt = xml.find('<', from);
    if (lt == std::string_view::npos) return lt;
    if (xml.substr(lt + 1, tag.size()) == tag && lt + 1 + tag.size() < xml.size()) {
      const char next = xml[lt + 1 + tag.size()];
      if (next == '>' || next == ' ' || next == '/') return lt;
    }
    from = lt + 1;
  }
}

}  // namespace

void append_form_param(std::string& body, std::string_view key, std::string_view value) {
  if (!body.empty()) body += '&';
  form_encode(body, key);
  body += '=';
  form_encode(body, value);
}

std::optional<std::string> xml_text(std::string_view xml, std::string_view tag, std::size_t from) {
  const auto start = find_start_tag(xml, tag, from);
  if (start == std::string_view::npos) return std::nullopt;
  const auto open_end = xml.find('>', start);
  if (open_end == std::string_view::npos) return std::nullopt;
  if (xml[open_end - 1] == '/') return std::string();  // <tag/>
  const std::string close = "</" + std::string(tag) + ">";
  const auto end = xml.find(close, open_end + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return decode_entities(xml.substr(open_end + 1, end - open_end - 1));
}

std::size_t xml_element_end(std::string_view xml, std::string_view tag, std::size_t from) {
  const auto start = find_start_tag(xml, tag, from);
  if (start == std::string_view::npos) return start;
  const std::string close = "</" + std::string(tag) + ">";
  const auto end = xml.find(close, start);
  return end == std::string_view::npos ? end : end + close.size();
}

}  // namespace tb::aws
