// The pages `serve` answers besides the API: the operators' console (GET /), the API reference
// (GET /docs), the OpenAPI document (GET /openapi.json) and their scripts, all from the binary.
#pragma once

#include <optional>

#include "app/router.hpp"

namespace tb::web {

// The answer when the request's path is a page's, else nullopt (the API router's to answer).
std::optional<api_response> page(const api_request& req);

}  // namespace tb::web
