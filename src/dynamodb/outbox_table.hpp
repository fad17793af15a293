// The outbox table on DynamoDB: each event a write records is one row, put in the same
// TransactWriteItems as the write, so the two land together or not at all. Its stream (NEW_IMAGE)
// carries each new row to publishPriceChangeEvents, which publishes it to SNS; rows expire by TTL.
//
// Schema: partition key eventId (S), unique per event (no hot key, no index); event (S, the
// event's JSON text), eventType (S), recordedAt (S, ISO-8601), expiresAt (N, epoch seconds: the
// table's TTL attribute). A PriceChangeProcessed row is also the handler's idempotency record:
// its id is derived from the change it handled.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <string>

#include "core/price_change.hpp"

namespace tb::dynamodb {

// How long a row stays: long past any retry or redrive of its stream record (24 h in the
// stream, 14 days in an on-failure queue at most), short enough that the table stays small.
inline constexpr std::chrono::hours event_retention{24 * 7};

// The row as a TransactWriteItems Put, on the condition that no row has its id yet (a row there
// already means this very write landed before, or the event was recorded before). A failed
// condition returns the row as it stands.
boost::json::object outbox_put(const std::string& table, const recorded_event& event,
                               std::chrono::system_clock::time_point now);

}  // namespace tb::dynamodb
