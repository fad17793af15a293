// Items as DynamoDB holds them: tb::json values (exact decimals) <-> AttributeValue maps, the
// wire form of every item the DynamoDB API reads or writes.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

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

// The AttributeValues the tables' keys and bookkeeping are written with, named as DynamoDB
// names their types: {"S": s} and {"N": n}.
boost::json::object S(std::string_view s);
boost::json::object N(long long n);
// A ticket's key: its Theatre-Seat.
boost::json::object ticket_key(std::string_view seat);
// The text of an item's attribute of that type ("S", "N"); empty when absent or of another type.
std::string attribute_text(const boost::json::object& item, std::string_view name, std::string_view type = "S");

}  // namespace tb::dynamodb
