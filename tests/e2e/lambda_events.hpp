// Events in the shapes Lambda hands them to a function, and the headers every HTTP function
// answers with, for the tests that run the functions through `invoke` and through the Lambda
// runtime: the same contract, so written once.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "e2e/harness.hpp"

namespace tb::test {

// An API Gateway (REST, proxy) event.
inline std::string api_event(const std::string& method, const std::string& path,
                             std::optional<std::string> body = {},
                             const std::map<std::string, std::string>& query = {}) {
  json::object e;
  e.append_new("resource", path);
  e.append_new("path", path);
  e.append_new("httpMethod", method);
  e.append_new("headers", json::object());
  if (query.empty()) {
    e.append_new("queryStringParameters", nullptr);
  } else {
    json::object q;
    for (const auto& [k, v] : query) q.append_new(k, v);
    e.append_new("queryStringParameters", std::move(q));
  }
  e.append_new("body", body ? json::value(*body) : json::value(nullptr));
  e.append_new("isBase64Encoded", false);
  return json::serialize(json::value(std::move(e)));
}

// An SNS event with one record; `message` is the JSON text SNS carries in Sns.Message. The
// functions read neither the topic nor the envelope's other fields.
inline std::string sns_event(const std::string& message, std::optional<std::string> message_id = {}) {
  json::object sns;
  sns.append_new("Type", "Notification");
  if (message_id) sns.append_new("MessageId", *message_id);
  sns.append_new("TopicArn", "arn:aws:sns:us-east-1:123456789012:ticket-booking-price-changes-dev");
  sns.append_new("Message", message);
  json::object record;
  record.append_new("EventSource", "aws:sns");
  record.append_new("Sns", std::move(sns));
  json::object e;
  e.append_new("Records", json::array{json::value(std::move(record))});
  return json::serialize(json::value(std::move(e)));
}

// The headers of every HTTP function's proxy response, CORS included.
inline void expect_api_gateway_headers(const json::object& headers) {
  EXPECT_EQ(str(headers, "Content-Type"), "application/json");
  EXPECT_EQ(str(headers, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(str(headers, "Access-Control-Allow-Methods"), "GET,POST,PATCH,DELETE,OPTIONS");
  EXPECT_EQ(str(headers, "Access-Control-Allow-Headers"),
            "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token");
}

}  // namespace tb::test
