// The seven Lambda functions of the original service, the eighth that relays the outbox's stream
// to SNS, and the codecs between their AWS event shapes (API Gateway proxy, SNS, DynamoDB
// Streams) and the router's transport-neutral request and response.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/router.hpp"
#include "core/json.hpp"
#include "core/ports.hpp"

namespace tb {

inline constexpr std::string_view price_change_function = "priceChangeEventHandler";
inline constexpr std::string_view relay_function = "publishPriceChangeEvents";

struct http_function {
  std::string_view name;
  std::string_view method;
  std::string_view path;
};

// retrieveMovies, retrieveTicket, ...; nullptr for an unknown name or the event handler.
const http_function* find_http_function(std::string_view name);

// An API Gateway proxy event (REST API payload 1.0, or HTTP API payload 2.0) -> request for the
// given function's route: an OPTIONS preflight or the route's own method; a base64 body decoded.
result<api_request> from_api_gateway(const json::value& event, const http_function& fn);
// `request_id`, when not empty, is echoed as X-Request-Id.
json::value to_api_gateway(const api_response& r, std::string_view request_id = {});

struct sns_message {
  std::string message_id;  // empty when the record has none
  std::string body;        // the Message text
};
// Records[].Sns.Message of an SNS event; a Message given as an object is taken as its JSON text.
result<std::vector<sns_message>> sns_messages(const json::value& event);

// Any of the eight names.
bool is_function(std::string_view name);

// One function run on one event: the path `invoke` and the Lambda runtime share.
struct function_run {
  // The API Gateway proxy response, or {"results": [{"messageId", "outcome", "reason"?}, ...]}.
  json::value output;
  // Messages the event handler refused as malformed: no retry can fix them, so a transport
  // drops them (the handler has logged why).
  std::size_t rejected = 0;
  // Messages that failed otherwise (the store did not answer): worth delivering again.
  std::size_t failed = 0;
  std::string failure;  // the first such failure's reason
};

// publishPriceChangeEvents' work, which only the DynamoDB backend has: a DynamoDB Streams event ->
// {"batchItemFailures": [...]}; bad_request when the event is not one.
using stream_relay = std::function<result<json::value>(const json::value& event)>;

// An HTTP function answers every event with a proxy response (a malformed one gets a 400). The
// event handler's event must be SNS shaped, the relay's a stream's: bad_request otherwise, as for
// an unknown name. The relay's unpublished records count as failed, its answer is the output.
result<function_run> run_function(std::string_view name, const json::value& event, router& routes,
                                  event_handler& handler, const stream_relay& relay);

}  // namespace tb
