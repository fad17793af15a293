// The bench for the AWS flow's end-to-end tests: a moto_server (every request's signature
// checked) holding the tickets, outbox (with its stream) and movie catalog tables, an SNS topic
// and an SQS queue subscribed to it,
// and the real binary run with only the variables a user would set. The queue is how a test sees
// what the binary published; signed DynamoDB reads are how it sees what the binary wrote.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aws/moto_server.hpp"
#include <boost/json/array.hpp>

#include "core/json.hpp"
#include "dynamodb/dynamodb_client.hpp"
#include "e2e/harness.hpp"
#include "e2e/lambda_events.hpp"

namespace tb::test {

// An SNS event as Lambda hands it to a subscribed function: one record whose Sns is `envelope`
// (what SNS delivered to the queue: Type, MessageId, TopicArn, Message, ...).
std::string sns_event(const json::object& envelope);
// The event an SNS envelope carries (its Message, parsed).
json::object message_of(const json::object& envelope);

struct proxy_reply {
  int exit = -1;
  int status = 0;
  json::object body;
  std::string out, err;  // what the process printed, for failure messages
};

class AwsFlow : public ::testing::Test {
 protected:
  void SetUp() override;

  // Exactly what a user sets to run the functions on this moto (plus PATH and HOME).
  std::map<std::string, std::string> user_env() const;
  // `ticket-booking invoke FUNCTION --data EVENT`, in a fresh working directory, with `env` only.
  command_result invoke(const std::string& function, const std::string& event,
                        const std::map<std::string, std::string>& env);
  command_result invoke(const std::string& function, const std::string& event) {
    return invoke(function, event, user_env());
  }
  // An API function's proxy response (throws when the output is not one).
  proxy_reply api(const std::string& function, const std::string& event,
                  const std::map<std::string, std::string>& env);
  proxy_reply api(const std::string& function, const std::string& event) {
    return api(function, event, user_env());
  }

  // Signed, strongly consistent reads of what the binary left in DynamoDB.
  std::optional<json::object> ticket(const std::string& seat);
  std::optional<json::object> outbox_row(const std::string& event_id);
  std::vector<json::object> tickets();
  std::vector<json::object> outbox_rows();

  // SNS envelopes that reached the queue: waits (long polls) until `count` came or the deadline
  // passed, and returns what came. Received messages stay hidden, so each call sees only new ones.
  std::vector<json::object> receive(std::size_t count, std::chrono::seconds deadline = std::chrono::seconds(10));
  // What is in the queue right now, without waiting (moto delivers during Publish: once the
  // binary has exited or answered, anything it published is there).
  std::vector<json::object> receive_now();

  // The outbox stream's records written since the last call (oldest first), read from moto's
  // DynamoDB Streams as the event source mapping reads them; and the event Lambda would hand
  // publishPriceChangeEvents for a batch of them.
  boost::json::array new_stream_records();
  static std::string stream_event(const boost::json::array& records);
  // The new records relayed as one batch: `invoke publishPriceChangeEvents`.
  command_result relay(const std::map<std::string, std::string>& env);
  command_result relay() { return relay(user_env()); }

  std::string create_topic(const std::string& name);
  // A queue subscribed to the topic (SNS envelopes, not raw); returns its URL.
  std::string subscribed_queue(const std::string& topic_arn, const std::string& name);

  moto_server* moto_ = nullptr;
  std::shared_ptr<dynamodb::dynamodb_client> client_;
  std::shared_ptr<dynamodb::dynamodb_client> streams_;  // DynamoDB Streams' API
  std::string table_, events_table_, movies_table_, topic_arn_, queue_url_;
  std::string shard_iterator_;
  temp_dir work_;  // the binary's working directory: a local data dir would appear here

 private:
  using params = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  std::string query(std::string_view service, const std::string& url, params ps);
  std::vector<json::object> receive_once(int wait_seconds);
  std::vector<json::object> scan(const std::string& table);
  std::optional<json::object> get(const std::string& table, const std::string& key, const std::string& id);
};

}  // namespace tb::test
