// publishPriceChangeEvents: the outbox table's stream, as Lambda's event source mapping hands it
// over (a batch of records, oldest first), published to SNS one event at a time. Lambda retries
// from the first record reported failed (ReportBatchItemFailures), halves a failing batch
// (bisect-on-error) and sends what keeps failing to the on-failure destination; a record
// published twice (a retried batch) carries the same eventId, so consumers drop the duplicate.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/ports.hpp"
#include "core/result.hpp"

namespace tb::dynamodb {

struct stream_record {
  std::string sequence_number;  // the record's identifier in batchItemFailures
  std::string event_name;       // INSERT, MODIFY, REMOVE (a TTL expiry)
  std::string event_id;         // the outbox row's eventId; empty when the image has none
  std::string event_json;       // its event text; empty when the image has none
};

// Records[].dynamodb of a DynamoDB Streams event; bad_request when it is not one (then Lambda
// retries the whole batch and, failing, hands it to the on-failure destination).
result<std::vector<stream_record>> stream_records(const json::value& event);

// Publishes each INSERT's event, in order, and stops at the first failure: that record's
// sequence number is the answer's one batchItemFailure (Lambda retries from it, so publishing
// the ones after it now would only publish them twice). A record that can never be published
// (no event in its image, refused by SNS as malformed) fails too, so that it ends in the
// on-failure destination where an operator sees it rather than vanishing.
// Answers {"batchItemFailures": [{"itemIdentifier": SEQ}]} (empty when all went out).
json::value relay_batch(const std::vector<stream_record>& records, event_publisher& publisher);

}  // namespace tb::dynamodb
