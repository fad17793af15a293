// Items as DynamoDB holds them: tb::json values (exact decimals) <-> AttributeValue maps, the
// wire form of every item the DynamoDB API reads or writes.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/result.hpp"

namespace tb::dynamodb {

// number -> {"N": canonical text} (never through a double), string S, bool BOOL, null NULL,
// array L, object M.
boost::json::object to_attribute_value(const json::value& v);
boost::json::object to_item(const json::object& item);

// Also takes what the original Python service may have written: SS, NS and BS become arrays,
// B its base64 text. Fails with internal on anything that is not an AttributeValue.
result<json::value> from_attribute_value(const boost::json::value& av);
result<json::object> from_item(const boost::json::object& item);

}  // namespace tb::dynamodb
