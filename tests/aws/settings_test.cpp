// read_settings: the SDKs' defaults and precedence, and a clear error naming the variable for
// each malformed value.
#include "aws/settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tb::aws {
namespace {

result<settings> read(std::map<std::string, std::string> vars) {
  return read_settings([vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

void expect_error_naming(const result<settings>& r, std::string_view variable) {
  ASSERT_FALSE(r) << "accepted";
  EXPECT_EQ(r.err().code, errc::bad_request);
  EXPECT_TRUE(r.err().message.starts_with(std::string(variable) + ":")) << r.err().message;
}

TEST(Settings, Defaults) {
  auto s = read({});
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->region, "us-east-1");
  EXPECT_EQ(s->credentials.access_key_id, "");
  EXPECT_EQ(s->credentials.secret_access_key, "");
  EXPECT_EQ(s->credentials.session_token, "");
  EXPECT_EQ(s->dynamodb_endpoint, "https://dynamodb.us-east-1.amazonaws.com");
  EXPECT_EQ(s->sns_endpoint, "https://sns.us-east-1.amazonaws.com");
  EXPECT_EQ(s->table, "ticket-booking");
  EXPECT_EQ(s->events_table, "ticket-booking-events");
  EXPECT_EQ(s->movies_table, "ticket-booking-movies");
  EXPECT_EQ(s->topic_arn, "");
}

TEST(Settings, EverythingSet) {
  auto s = read({{"AWS_REGION", "eu-west-3"},
                 {"AWS_ACCESS_KEY_ID", "AKID"},
                 {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                 {"AWS_SESSION_TOKEN", "TOKEN"},
                 {"DYNAMODB_TABLE", "tickets"},
                 {"DYNAMODB_EVENTS_TABLE", "outbox"},
                 {"DYNAMODB_MOVIES_TABLE", "catalog"},
                 {"PRICE_CHANGE_TOPIC_ARN", "arn:aws:sns:eu-west-3:123456789012:price-changes"}});
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->region, "eu-west-3");
  EXPECT_EQ(s->credentials.access_key_id, "AKID");
  EXPECT_EQ(s->credentials.secret_access_key, "SECRET");
  EXPECT_EQ(s->credentials.session_token, "TOKEN");
  // The default endpoints follow the region.
  EXPECT_EQ(s->dynamodb_endpoint, "https://dynamodb.eu-west-3.amazonaws.com");
  EXPECT_EQ(s->sns_endpoint, "https://sns.eu-west-3.amazonaws.com");
  EXPECT_EQ(s->table, "tickets");
  EXPECT_EQ(s->events_table, "outbox");
  EXPECT_EQ(s->movies_table, "catalog");
  EXPECT_EQ(s->topic_arn, "arn:aws:sns:eu-west-3:123456789012:price-changes");
}

TEST(Settings, RegionPrecedence) {
  EXPECT_EQ(read({{"AWS_DEFAULT_REGION", "ap-south-1"}})->region, "ap-south-1");
  EXPECT_EQ(read({{"AWS_REGION", "eu-north-1"}, {"AWS_DEFAULT_REGION", "ap-south-1"}})->region, "eu-north-1");
  // Empty counts as unset, as in the SDKs.
  EXPECT_EQ(read({{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", "ap-south-1"}})->region, "ap-south-1");
  EXPECT_EQ(read({{"AWS_REGION", "cn-north-1"}})->sns_endpoint, "https://sns.cn-north-1.amazonaws.com.cn");
}

TEST(Settings, EndpointPrecedence) {
  auto general = read({{"AWS_ENDPOINT_URL", "http://localhost:4566/"}});
  ASSERT_TRUE(general) << general.err().message;
  EXPECT_EQ(general->dynamodb_endpoint, "http://localhost:4566");
  EXPECT_EQ(general->sns_endpoint, "http://localhost:4566");

  auto specific = read({{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                        {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"},
                        {"AWS_ENDPOINT_URL_SNS", "https://sns.example.test"}});
  ASSERT_TRUE(specific) << specific.err().message;
  EXPECT_EQ(specific->dynamodb_endpoint, "http://127.0.0.1:8000");
  EXPECT_EQ(specific->sns_endpoint, "https://sns.example.test");

  auto only_dynamodb = read({{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                             {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"}});
  ASSERT_TRUE(only_dynamodb);
  EXPECT_EQ(only_dynamodb->dynamodb_endpoint, "http://127.0.0.1:8000");
  EXPECT_EQ(only_dynamodb->sns_endpoint, "http://localhost:4566");
}

TEST(Settings, EventsTableFollowsTheTable) {
  auto s = read({{"DYNAMODB_TABLE", "tickets"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->events_table, "tickets-events");
  EXPECT_EQ(s->movies_table, "tickets-movies");
  expect_error_naming(read({{"DYNAMODB_MOVIES_TABLE", "a b"}}), "DYNAMODB_MOVIES_TABLE");
}

TEST(Settings, MalformedValuesNameTheirVariable) {
  expect_error_naming(read({{"AWS_REGION", "US East"}}), "AWS_REGION");
  expect_error_naming(read({{"AWS_DEFAULT_REGION", "us_east_1"}}), "AWS_DEFAULT_REGION");
  expect_error_naming(read({{"AWS_ENDPOINT_URL", "localhost:4566"}}), "AWS_ENDPOINT_URL");
  expect_error_naming(read({{"AWS_ENDPOINT_URL_DYNAMODB", "ftp://x"}}), "AWS_ENDPOINT_URL_DYNAMODB");
  expect_error_naming(read({{"AWS_ENDPOINT_URL_SNS", "http://"}}), "AWS_ENDPOINT_URL_SNS");
  expect_error_naming(read({{"AWS_ENDPOINT_URL_SNS", "http://a b"}}), "AWS_ENDPOINT_URL_SNS");
  expect_error_naming(read({{"AWS_SECRET_ACCESS_KEY", "SECRET"}}), "AWS_SECRET_ACCESS_KEY");
  expect_error_naming(read({{"AWS_ACCESS_KEY_ID", "AKID"}}), "AWS_ACCESS_KEY_ID");
  expect_error_naming(read({{"AWS_SESSION_TOKEN", "TOKEN"}}), "AWS_SESSION_TOKEN");
  expect_error_naming(read({{"DYNAMODB_TABLE", "ab"}}), "DYNAMODB_TABLE");
  expect_error_naming(read({{"DYNAMODB_TABLE", "tickets!"}}), "DYNAMODB_TABLE");
  expect_error_naming(read({{"DYNAMODB_TABLE", std::string(250, 't')}}),
                      "DYNAMODB_TABLE");  // no room for -events
  expect_error_naming(read({{"DYNAMODB_EVENTS_TABLE", "a/b"}}), "DYNAMODB_EVENTS_TABLE");
  expect_error_naming(read({{"PRICE_CHANGE_TOPIC_ARN", "price-changes"}}), "PRICE_CHANGE_TOPIC_ARN");
  expect_error_naming(read({{"PRICE_CHANGE_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q"}}),
                      "PRICE_CHANGE_TOPIC_ARN");
  // A bad specific endpoint is reported even when the general one is fine.
  expect_error_naming(read({{"AWS_ENDPOINT_URL", "http://ok"}, {"AWS_ENDPOINT_URL_DYNAMODB", "nope"}}),
                      "AWS_ENDPOINT_URL_DYNAMODB");
}

}  // namespace
}  // namespace tb::aws
