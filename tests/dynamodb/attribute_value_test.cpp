// Items <-> AttributeValue maps: exact numbers, every JSON type, and what boto3 may have written.
#include "dynamodb/attribute_value.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "store/store_test_util.hpp"

namespace tb::test {
namespace {

std::string wire(std::string_view item_json) {
  return boost::json::serialize(dynamodb::to_item(obj(item_json)));
}

std::string back(std::string_view wire_json) {
  auto item = dynamodb::from_item(boost::json::parse(wire_json).as_object());
  return item ? json::serialize(json::value(*item)) : "error: " + item.err().message;
}

TEST(AttributeValue, EachJsonTypeHasItsDynamoDBType) {
  EXPECT_EQ(wire(R"({"s":"x","n":15.990,"t":true,"z":null,"l":["a",1e2],"m":{"k":false}})"),
            R"({"s":{"S":"x"},"n":{"N":"15.99"},"t":{"BOOL":true},"z":{"NULL":true},)"
            R"("l":{"L":[{"S":"a"},{"N":"100"}]},"m":{"M":{"k":{"BOOL":false}}}})");
}

TEST(AttributeValue, NumbersNeverPassThroughADouble) {
  // 38 digits, and the extremes of DynamoDB's range: a double would round each.
  EXPECT_EQ(wire(R"({"a":12345678901234567890.123456789012345678,"b":1e-130,"c":9.99e125,"d":0.1})"),
            R"({"a":{"N":"12345678901234567890.123456789012345678"},"b":{"N":"1E-130"},)"
            R"("c":{"N":"9.99E+125"},"d":{"N":"0.1"}})");
  EXPECT_EQ(back(R"({"a":{"N":"12345678901234567890.123456789012345678"},"b":{"N":"0.10"}})"),
            R"({"a":12345678901234567890.123456789012345678,"b":0.1})");
}

TEST(AttributeValue, RoundTripsNestedItems) {
  const std::string item = R"({"Theatre-Seat":"1-A","x":[[{"y":[null,true,"",-2.5]}],{}],"e":[]})";
  EXPECT_EQ(back(wire(item)), item);
}

TEST(AttributeValue, SetsAndBinaryFromThePythonServiceBecomeArraysAndBase64) {
  EXPECT_EQ(back(R"({"ss":{"SS":["a","b"]},"ns":{"NS":["1.50","2"]},"bs":{"BS":["AAE="]},"b":{"B":"AAE="}})"),
            R"({"ss":["a","b"],"ns":[1.5,2],"bs":["AAE="],"b":"AAE="})");
}

TEST(AttributeValue, MalformedAttributeValuesAreErrorsNotCrashes) {
  for (const char* bad :
       {R"({"a":{"N":"abc"}})", R"({"a":{"N":1}})", R"({"a":{"X":"1"}})", R"({"a":{}})",
        R"({"a":{"S":"x","N":"1"}})", R"({"a":{"L":{}}})", R"({"a":{"NS":["x"]}})", R"({"a":"x"})"}) {
    EXPECT_EQ(back(bad).rfind("error: ", 0), 0u) << bad;
  }
}

}  // namespace
}  // namespace tb::test
