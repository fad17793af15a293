#include "dynamodb/outbox_table.hpp"

#include "core/ports.hpp"
#include "dynamodb/attribute_value.hpp"

namespace tb::dynamodb {

boost::json::object outbox_put(const std::string& table, const recorded_event& event,
                               std::chrono::system_clock::time_point now) {
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>((now + event_retention).time_since_epoch());
  boost::json::object item{{"eventId", S(event.event_id)},
                           {"event", S(event.json)},
                           {"eventType", S(event.event_type)},
                           {"recordedAt", S(iso8601(now))},
                           {"expiresAt", N(expires.count())}};
  return {{"Put",
           {{"TableName", table},
            {"Item", std::move(item)},
            {"ConditionExpression", "attribute_not_exists(eventId)"},
            {"ReturnValuesOnConditionCheckFailure", "ALL_OLD"}}}};
}

}  // namespace tb::dynamodb
