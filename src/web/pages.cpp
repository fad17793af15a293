#include "web/pages.hpp"

#include <map>
#include <memory>
#include <string>

#include "web/assets.hpp"

namespace tb::web {
namespace {

// Pages are read, never written, and are not for other origins: no CORS preflight.
constexpr std::string_view page_methods = "GET";

struct served {
  std::string_view content_type;
  std::shared_ptr<const std::string> body;  // shared by every response: never copied per request
};

const std::map<std::string, served, std::less<>>& pages_by_path() {
  static const auto pages = [] {
    std::map<std::string, served, std::less<>> m;
    for (const auto& a : embedded_assets())
      m.emplace(std::string(a.path), served{a.content_type, std::make_shared<const std::string>(a.bytes)});
    return m;
  }();
  return pages;
}

}  // namespace

std::optional<api_response> page(const api_request& req) {
  const auto& pages = pages_by_path();
  auto it = pages.find(req.path);
  if (it == pages.end()) return std::nullopt;
  if (req.method != "GET") {
    api_response r = error_response({errc::method_not_allowed, "Method Not Allowed"});
    r.allow = std::string(page_methods);
    return r;
  }
  api_response r{200};
  r.content_type = it->second.content_type;
  r.shared_body = it->second.body;
  return r;
}

}  // namespace tb::web
