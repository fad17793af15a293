// Reads the AWS settings from the environment the way the AWS SDKs do (region, credentials,
// per-service endpoint overrides), checking each value once so that adapters can trust them.
#include "aws/settings.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace tb::aws {

namespace {

constexpr std::string_view default_region = "us-east-1";
constexpr std::string_view default_table = "ticket-booking";
constexpr std::size_t min_table_name = 3;  // DynamoDB's limits on a table name
constexpr std::size_t max_table_name = 255;

// An empty variable counts as unset, as in the AWS SDKs and CLI.
std::optional<std::string> lookup(const env_lookup& env, std::string_view name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

error invalid(std::string_view name, std::string_view why) {
  return bad_request(std::string(name) + ": " + std::string(why));
}

bool valid_region(std::string_view r) {
  return std::all_of(r.begin(), r.end(),
                     [](unsigned char c) { return std::islower(c) || std::isdigit(c) || c == '-'; });
}

// http:// or https://, a host, nothing that cannot go on a request line.
bool valid_endpoint(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') return false;
  return std::none_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

bool valid_table(std::string_view t) {
  return t.size() >= min_table_name && t.size() <= max_table_name &&
         std::all_of(t.begin(), t.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

// arn:PARTITION:sns:REGION:ACCOUNT:NAME
bool valid_topic_arn(std::string_view arn) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (parts.size() < 5) {
    const auto colon = arn.find(':', pos);
    if (colon == std::string_view::npos) return false;
    parts.push_back(arn.substr(pos, colon - pos));
    pos = colon + 1;
  }
  const auto name = arn.substr(pos);
  return parts[0] == "arn" && !parts[1].empty() && parts[2] == "sns" && !parts[3].empty() &&
         !parts[4].empty() && !name.empty() && name.find(':') == std::string_view::npos;
}

result<std::string> endpoint(const env_lookup& env, std::string_view service_var, std::string_view service,
                             const std::string& region) {
  for (auto name : {service_var, std::string_view("AWS_ENDPOINT_URL")}) {
    if (auto url = lookup(env, name)) {
      if (!valid_endpoint(*url)) return invalid(name, "not an http(s) URL: " + *url);
      while (url->ends_with('/')) url->pop_back();
      return std::move(*url);
    }
  }
  const std::string_view suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + std::string(service) + "." + region + "." + std::string(suffix);
}

}  // namespace

result<settings> read_settings(const env_lookup& env) {
  settings s;

  if (auto r = lookup(env, "AWS_REGION")) {
    if (!valid_region(*r)) return invalid("AWS_REGION", "not a region name: " + *r);
    s.region = std::move(*r);
  } else if (auto d = lookup(env, "AWS_DEFAULT_REGION")) {
    if (!valid_region(*d)) return invalid("AWS_DEFAULT_REGION", "not a region name: " + *d);
    s.region = std::move(*d);
  } else {
    s.region = default_region;
  }

  auto key_id = lookup(env, "AWS_ACCESS_KEY_ID");
  auto secret = lookup(env, "AWS_SECRET_ACCESS_KEY");
  auto token = lookup(env, "AWS_SESSION_TOKEN");
  if (secret && !key_id) return invalid("AWS_SECRET_ACCESS_KEY", "set without AWS_ACCESS_KEY_ID");
  if (key_id && !secret) return invalid("AWS_ACCESS_KEY_ID", "set without AWS_SECRET_ACCESS_KEY");
  if (token && !key_id)
    return invalid("AWS_SESSION_TOKEN", "set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  s.credentials = {key_id.value_or(""), secret.value_or(""), token.value_or("")};

  auto dynamodb = endpoint(env, "AWS_ENDPOINT_URL_DYNAMODB", "dynamodb", s.region);
  if (!dynamodb) return dynamodb.err();
  s.dynamodb_endpoint = std::move(*dynamodb);
  auto sns = endpoint(env, "AWS_ENDPOINT_URL_SNS", "sns", s.region);
  if (!sns) return sns.err();
  s.sns_endpoint = std::move(*sns);

  if (auto table = lookup(env, "DYNAMODB_TABLE")) {
    if (!valid_table(*table)) return invalid("DYNAMODB_TABLE", "not a DynamoDB table name: " + *table);
    s.table = std::move(*table);
  } else {
    s.table = default_table;
  }
  if (auto events = lookup(env, "DYNAMODB_EVENTS_TABLE")) {
    if (!valid_table(*events))
      return invalid("DYNAMODB_EVENTS_TABLE", "not a DynamoDB table name: " + *events);
    s.events_table = std::move(*events);
  } else {
    s.events_table = s.table + "-events";
    if (!valid_table(s.events_table)) return invalid("DYNAMODB_TABLE", "too long to name its events table");
  }
  if (auto movies = lookup(env, "DYNAMODB_MOVIES_TABLE")) {
    if (!valid_table(*movies))
      return invalid("DYNAMODB_MOVIES_TABLE", "not a DynamoDB table name: " + *movies);
    s.movies_table = std::move(*movies);
  } else {
    s.movies_table = s.table + "-movies";
    if (!valid_table(s.movies_table)) return invalid("DYNAMODB_TABLE", "too long to name its movies table");
  }

  if (auto arn = lookup(env, "PRICE_CHANGE_TOPIC_ARN")) {
    if (!valid_topic_arn(*arn)) return invalid("PRICE_CHANGE_TOPIC_ARN", "not an SNS topic ARN: " + *arn);
    s.topic_arn = std::move(*arn);
  }
  // Debian's libcurl looks where Debian keeps them; Amazon Linux keeps them elsewhere.
  if (auto ca = lookup(env, "AWS_CA_BUNDLE")) s.ca_bundle = std::move(*ca);
  return s;
}

}  // namespace tb::aws
