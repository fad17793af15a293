// The pieces of AWS's Query protocol (SNS, SQS, IAM): form-encoded parameters in, XML out.
// The answers are small and flat, so the XML is read by element name, not parsed into a tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tb::aws {

inline constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";

// Appends "key=value" (after a '&' unless the body is empty), both form-encoded.
void append_form_param(std::string& body, std::string_view key, std::string_view value);

// The text of the first <tag>...</tag> element at or after `from`, entities decoded; nullopt
// when there is none. An element with attributes (<tag a="b">) counts too.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag, std::size_t from = 0);

// Where the first <tag> element at or after `from` ends (just past </tag>); npos when there is
// none. For stepping through repeated elements such as SQS's <Message>s.
std::size_t xml_element_end(std::string_view xml, std::string_view tag, std::size_t from = 0);

}  // namespace tb::aws
