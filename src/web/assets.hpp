// The files the binary carries for its pages (console, API reference, OpenAPI document), embedded
// at build time by embed.mjs.
#pragma once

#include <string_view>
#include <vector>

namespace tb::web {

struct asset {
  std::string_view path;          // where it is served, e.g. "/docs"
  std::string_view content_type;
  std::string_view bytes;
};

const std::vector<asset>& embedded_assets();

}  // namespace tb::web
