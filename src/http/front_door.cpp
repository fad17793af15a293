#include "http/front_door.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "core/ports.hpp"

namespace tb::http {

namespace bhttp = boost::beast::http;

std::optional<std::string_view> framing_problem(const bhttp::fields& headers) {
  const auto te = headers.equal_range(bhttp::field::transfer_encoding);
  const auto te_count = std::distance(te.first, te.second);
  if (te_count > 1) return "Transfer-Encoding must be given once";
  if (te_count == 1) {
    if (!boost::beast::iequals(te.first->value(), "chunked")) return "Transfer-Encoding other than chunked";
    if (headers.count(bhttp::field::content_length)) return "both Content-Length and Transfer-Encoding";
  }
  const auto cl = headers.equal_range(bhttp::field::content_length);
  for (auto it = cl.first; it != cl.second; ++it)
    if (it->value() != cl.first->value()) return "Content-Length values differ";
  return std::nullopt;
}

host_allowlist::host_allowlist(std::vector<std::string> names) {
  for (auto& n : names) {
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // An IPv6 literal is written in brackets in a Host header.
    if (n.find(':') != std::string::npos && !n.starts_with('[')) n = "[" + n + "]";
  }
  names_ = std::move(names);
}

bool host_allowlist::allows(std::string_view host) const {
  if (!names_) return true;
  // The name is what precedes an optional ":port" (after the brackets of an IPv6 literal).
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket))
    host = host.substr(0, colon);
  if (host.empty()) return false;
  return std::any_of(names_->begin(), names_->end(),
                     [&](const std::string& n) { return boost::beast::iequals(n, host); });
}

bool needs_api_key(std::string_view method, std::string_view path, bool metrics_public) {
  if (method == "OPTIONS") return false;  // a browser's preflight carries no key
  if (path == "/ticket") return method == "POST" || method == "PATCH" || method == "DELETE";
  // Another method on these is a 405, which tells nothing the document does not.
  if (path == "/events") return method == "GET";
  if (path == "/metrics") return method == "GET" && !metrics_public;
  return false;
}

std::string request_id_of(std::string_view header) {
  const bool sane = !header.empty() && header.size() <= max_request_id_bytes &&
                    std::all_of(header.begin(), header.end(), [](unsigned char c) {
                      return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
                    });
  return sane ? std::string(header) : new_event_id(std::chrono::system_clock::now());
}

}  // namespace tb::http
