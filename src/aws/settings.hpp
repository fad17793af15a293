// What the AWS adapters need to know: region, credentials, endpoints, table and topic. Read once,
// in main, from the environment (as the original service and the AWS SDKs read it); adapters
// take the typed struct and never call getenv.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace tb::aws {

struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless the credentials are temporary (as on Lambda)
};

struct settings {
  std::string region;             // AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
  aws::credentials credentials;   // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
  std::string dynamodb_endpoint;  // AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else https://dynamodb.REGION.amazonaws.com
  std::string sns_endpoint;       // AWS_ENDPOINT_URL_SNS, else AWS_ENDPOINT_URL, else https://sns.REGION.amazonaws.com
  std::string table;              // DYNAMODB_TABLE, else ticket-booking
  std::string events_table;       // DYNAMODB_EVENTS_TABLE, else TABLE-events: the outbox on AWS
  std::string movies_table;       // DYNAMODB_MOVIES_TABLE, else TABLE-movies: the movie catalog
  std::string topic_arn;          // PRICE_CHANGE_TOPIC_ARN; empty: events stay in the outbox
  std::string ca_bundle;          // AWS_CA_BUNDLE: the CA certificates file; empty: libcurl's default
};

using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// Fails with bad_request naming the variable when one is malformed (an endpoint that is not an
// http(s) URL, a secret key without its access key id, ...).
result<settings> read_settings(const env_lookup& env);

}  // namespace tb::aws
