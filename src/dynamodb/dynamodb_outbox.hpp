// Relays the outbox table's events to an event_publisher (SNS on AWS): the oldest pending first,
// each marked delivered once published, parked as dead when no retry can deliver it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/ports.hpp"
#include "dynamodb/dynamodb_client.hpp"
#include "dynamodb/outbox_table.hpp"

namespace tb::dynamodb {

struct relay_report {
  std::size_t delivered = 0;
  std::size_t retried = 0;    // failed, left pending for a later relay
  std::size_t dead = 0;       // parked with a reason
  std::size_t discarded = 0;  // prepared by a writer that died before its write landed
};

struct relay_limits {
  // Publishing attempts of one event before it is parked as dead.
  long long max_attempts = 10;
  // A prepared event is its writer's until then: the longest a Lambda invocation runs. After it,
  // the writer is gone and the relay decides from the ticket whether the write happened.
  std::chrono::seconds prepared_grace{900};
};

class dynamodb_outbox {
 public:
  dynamodb_outbox(std::shared_ptr<dynamodb_client> client, std::string events_table,
                  std::string tickets_table, relay_limits limits = {});

  // Settles up to `limit` events, oldest first.
  result<relay_report> relay(event_publisher& publisher, std::size_t limit);
  // The event an invocation just recorded, published at once (when it is pending).
  result<relay_report> relay_one(const std::string& event_id, event_publisher& publisher);

 private:
  result<void> settle(const outbox_record& rec, event_publisher& publisher, relay_report& report);
  result<bool> write_landed(const outbox_record& rec);

  outbox_table outbox_;
  std::string tickets_table_;
  relay_limits limits_;
};

}  // namespace tb::dynamodb
