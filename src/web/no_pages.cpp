// The pages of the Lambda build: none. On AWS, API Gateway routes only the API to the functions,
// so the console, the API reference and their scripts (a third of a megabyte of the zip) would
// never be served; `ticket-booking-lambda` links this instead of pages.cpp and the assets.
#include "web/pages.hpp"

namespace tb::web {

std::optional<api_response> page(const api_request&) { return std::nullopt; }

}  // namespace tb::web
