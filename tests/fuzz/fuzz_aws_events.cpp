// libFuzzer target: the decoders of what AWS hands a Lambda function. Input: a JSON text taken as
// an API Gateway proxy event (for each HTTP function) and as an SNS event, each SNS Message then
// as a price-change event. For any input: no crash; what a decoder accepts is well formed (the
// function's own route, a price that is a number >= 0, an event id), and a decoded request's
// answer is a proxy response with a status.
#include <cstdint>
#include <string>

#include "app/functions.hpp"
#include "core/price_change.hpp"
#include "fuzz/fuzz_check.hpp"

namespace {

using tb::fuzz::require;

void price_change(const tb::json::value& message, const std::string& fallback_id) {
  auto event = tb::parse_price_change_event(message, fallback_id);
  if (!event || !*event) return;
  const tb::price_change_event& e = **event;
  // Without an eventId or a MessageId the handler derives the id (a hash): the decoder leaves it empty.
  require(!e.event_id.empty() || fallback_id.empty(), "a decoded event has an id");
  require(!e.seat.empty(), "a decoded event names its seat");
  require(!e.new_price.is_negative(), "a decoded new price is not negative", e.new_price.to_string());
  require(!e.old_price || !e.old_price->is_negative(), "a decoded old price is not negative");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = tb::json::parse(tb::fuzz::as_text(data, size));
  const auto* event = std::get_if<tb::json::value>(&parsed);
  if (!event) return 0;
  // The API Gateway functions, by their Lambda names.
  static constexpr std::string_view http_functions[] = {"retrieveMovies", "retrieveTicket", "retrieveAllTickets",
                                                        "createTicket",   "updateTicket",   "removeTicket"};
  for (std::string_view name : http_functions) {
    const tb::http_function* fn = tb::find_http_function(name);
    if (!fn) continue;
    auto req = tb::from_api_gateway(*event, *fn);
    if (!req) {
      auto answer = tb::to_api_gateway(tb::error_response(req.err()));
      require(answer.if_object() && answer.if_object()->find("statusCode"), "a refusal is a proxy response");
      continue;
    }
    require(req->path == fn->path, "a decoded request is for the function's route", req->path);
    require(req->method == fn->method || req->method == "OPTIONS", "a decoded request has the function's method");
  }
  auto messages = tb::sns_messages(*event);
  if (messages) {
    for (const auto& m : *messages) {
      auto body = tb::json::parse(m.body);
      if (const auto* message = std::get_if<tb::json::value>(&body)) price_change(*message, m.message_id);
    }
  }
  price_change(*event, "fallback-id");
  return 0;
}
