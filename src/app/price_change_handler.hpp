// priceChangeEventHandler: takes one message off a bus (the local outbox or an SNS record),
// decides with the core's price-change rule and writes the outcome through the store port.
#pragma once

#include <string>
#include <string_view>

#include "core/ports.hpp"

namespace tb {

enum class handler_outcome {
  applied,    // metadata written, PriceChangeProcessed recorded
  ignored,    // another event type
  duplicate,  // already handled
  stale,      // the price changed again since
  missing,    // the ticket is gone
};

std::string_view to_string(handler_outcome o);

class price_change_handler {
 public:
  price_change_handler(ticket_store& store, clock& clock) : store_(store), clock_(clock) {}

  // `message` is the event JSON text. `fallback_id` stands in for a missing eventId; when empty,
  // a name-based UUID of the message is used, so a redelivery maps to the same id.
  // Fails with bad_request for a malformed message (not worth retrying) and with other codes for
  // transient failures.
  void handle(std::string_view message, std::string fallback_id, completion<handler_outcome> done);

 private:
  ticket_store& store_;
  clock& clock_;
};

}  // namespace tb
