// priceChangeEventHandler: takes one message off a bus (the local outbox or an SNS record),
// decides with the core's price-change rule and writes the outcome through the store port.
#pragma once

#include <string>
#include <string_view>

#include "core/ports.hpp"

namespace tb {

// The local service's publisher: hands each event straight to a handler in this process.
class in_process_publisher final : public event_publisher {
 public:
  explicit in_process_publisher(event_handler& handler) : handler_(handler) {}
  void publish(std::string_view event_json, const std::string& event_id, completion<void> done) override {
    handler_.handle(event_json, event_id, [done = std::move(done)](result<price_change_outcome> r) {
      if (!r) return done(r.err());
      done(ok);
    });
  }

 private:
  event_handler& handler_;
};

class price_change_handler final : public event_handler {
 public:
  price_change_handler(ticket_store& store, clock& clock) : store_(store), clock_(clock) {}

  // Without an eventId or a fallback, a name-based UUID of the message stands in, so a
  // redelivery of the same text maps to the same id.
  void handle(std::string_view message, std::string fallback_id, completion<price_change_outcome> done) override;

 private:
  ticket_store& store_;
  clock& clock_;
};

}  // namespace tb
