// The AWS flow bench: moto setup through signed calls, the binary run with a chosen environment,
// and reads of the queue and the tables.
#include "aws/aws_flow.hpp"

#include <atomic>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "aws/query_api.hpp"
#include "dynamodb/attribute_value.hpp"
#include "dynamodb/backends.hpp"
#include "support/child_process.hpp"

namespace tb::test {
namespace {

// Runs args with exactly `env` in `dir`; stdout and stderr apart (stdout is the function's result).
command_result run(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   const std::filesystem::path& dir) {
  temp_dir tmp;
  child_process::options o;
  o.args = std::move(args);
  o.env = with_sanitizer_options(env);
  o.output = tmp.path() / "out";
  o.errors = tmp.path() / "err";
  o.dir = dir;
  child_process p(std::move(o));
  const int status = p.wait();
  std::ifstream err(tmp.path() / "err", std::ios::binary);
  std::ostringstream e;
  e << err.rdbuf();
  return {status, p.output(), e.str()};
}

}  // namespace

std::string sns_event(const json::object& envelope) {
  json::object record;
  record.append_new("EventSource", "aws:sns");
  record.append_new("EventVersion", "1.0");
  record.append_new("Sns", envelope);
  json::object e;
  e.append_new("Records", json::array{json::value(std::move(record))});
  return json::serialize(json::value(std::move(e)));
}

json::object message_of(const json::object& envelope) { return object_of(str(envelope, "Message")); }

void AwsFlow::SetUp() {
  auto moto = moto_server::shared();
  ASSERT_TRUE(moto) << moto.err().message;
  moto_ = *moto;
  // Fresh names per test: tests run in one process share the server.
  static std::atomic<int> n{0};
  const std::string suffix = std::to_string(++n);
  aws::settings s = moto_->settings();
  s.table = table_ = "tickets-flow-" + suffix;
  s.events_table = events_table_ = table_ + "-events";
  s.movies_table = movies_table_ = table_ + "-movies";
  client_ = std::make_shared<dynamodb::dynamodb_client>(s, dynamodb::retry_limits{}, test_limits);
  streams_ = std::make_shared<dynamodb::dynamodb_client>(s, dynamodb::retry_limits{}, test_limits,
                                                         "DynamoDBStreams_20120810");
  create_tables(*client_, s);
  for (const auto& t : {table_, events_table_, movies_table_}) wait_until_active(*client_, t);
  topic_arn_ = create_topic("price-changes-" + suffix);
  queue_url_ = subscribed_queue(topic_arn_, "price-changes-" + suffix);
  ASSERT_FALSE(topic_arn_.empty() || queue_url_.empty());
}

std::map<std::string, std::string> AwsFlow::user_env() const {
  return {{"PATH", "/usr/bin:/bin"},
          {"HOME", work_.path().string()},
          {"AWS_REGION", moto_->region()},
          {"AWS_ACCESS_KEY_ID", moto_->credentials().access_key_id},
          {"AWS_SECRET_ACCESS_KEY", moto_->credentials().secret_access_key},
          {"AWS_ENDPOINT_URL", moto_->endpoint()},
          {"DYNAMODB_TABLE", table_},
          {"DYNAMODB_EVENTS_TABLE", events_table_},
          {"DYNAMODB_MOVIES_TABLE", movies_table_},
          {"PRICE_CHANGE_TOPIC_ARN", topic_arn_}};
}

command_result AwsFlow::invoke(const std::string& function, const std::string& event,
                               const std::map<std::string, std::string>& env) {
  return run({binary_path(), "invoke", function, "--data", event}, env, work_.path());
}

proxy_reply AwsFlow::api(const std::string& function, const std::string& event,
                         const std::map<std::string, std::string>& env) {
  auto r = invoke(function, event, env);
  proxy_reply out;
  out.exit = r.status;
  out.out = r.out;
  out.err = r.err;
  const json::object reply = object_of(r.out);
  out.status = std::stoi(raw(reply, "statusCode"));
  out.body = object_of(str(reply, "body"));
  return out;
}

std::optional<json::object> AwsFlow::get(const std::string& table, const std::string& key, const std::string& id) {
  auto r = client_->call("GetItem", {{"TableName", table},
                                     {"Key", {{key, {{"S", id}}}}},
                                     {"ConsistentRead", true}});
  must(r, "GetItem " + table);
  auto it = r->find("Item");
  if (it == r->end()) return std::nullopt;
  auto item = dynamodb::from_item(it->value().as_object());
  if (!item) throw std::runtime_error("unreadable item: " + item.err().message);
  return std::move(*item);
}

std::vector<json::object> AwsFlow::scan(const std::string& table) {
  auto r = client_->call("Scan", {{"TableName", table}, {"ConsistentRead", true}});
  must(r, "Scan " + table);
  std::vector<json::object> out;
  for (const auto& wire : r->at("Items").as_array()) out.push_back(*dynamodb::from_item(wire.as_object()));
  return out;
}

std::optional<json::object> AwsFlow::ticket(const std::string& seat) { return get(table_, "Theatre-Seat", seat); }
std::optional<json::object> AwsFlow::outbox_row(const std::string& event_id) {
  return get(events_table_, "eventId", event_id);
}
std::vector<json::object> AwsFlow::tickets() { return scan(table_); }
std::vector<json::object> AwsFlow::outbox_rows() { return scan(events_table_); }

std::string AwsFlow::query(std::string_view service, const std::string& url, params ps) {
  std::string body;
  for (const auto& [k, v] : ps) aws::append_form_param(body, k, v);
  auto r = moto_->send_signed(service, {"POST", url, {{"Content-Type", std::string(aws::form_content_type)}}, body});
  if (!r) throw std::runtime_error(std::string(service) + ": " + r.err().message);
  if (r->status != 200) throw std::runtime_error(std::string(service) + ": " + r->body);
  return r->body;
}

boost::json::array AwsFlow::new_stream_records() {
  if (shard_iterator_.empty()) {
    auto table = client_->call("DescribeTable", {{"TableName", events_table_}});
    must(table, "DescribeTable");
    const std::string arn(table->at("Table").at("LatestStreamArn").as_string());
    auto stream = streams_->call("DescribeStream", {{"StreamArn", arn}});
    must(stream, "DescribeStream");
    const auto& shards = stream->at("StreamDescription").at("Shards").as_array();
    if (shards.size() != 1) throw std::runtime_error("expected the one shard of a small table");
    auto it = streams_->call("GetShardIterator", {{"StreamArn", arn},
                                                  {"ShardId", shards[0].at("ShardId")},
                                                  {"ShardIteratorType", "TRIM_HORIZON"}});
    must(it, "GetShardIterator");
    shard_iterator_ = std::string(it->at("ShardIterator").as_string());
  }
  auto r = streams_->call("GetRecords", {{"ShardIterator", shard_iterator_}});
  must(r, "GetRecords");
  shard_iterator_ = std::string(r->at("NextShardIterator").as_string());
  return r->at("Records").as_array();
}

std::string AwsFlow::stream_event(const boost::json::array& records) {
  return boost::json::serialize(boost::json::object{{"Records", records}});
}

command_result AwsFlow::relay(const std::map<std::string, std::string>& env) {
  return invoke("publishPriceChangeEvents", stream_event(new_stream_records()), env);
}

std::string AwsFlow::create_topic(const std::string& name) {
  return aws::xml_text(query("sns", "/", {{"Action", "CreateTopic"}, {"Version", "2010-03-31"}, {"Name", name}}),
                       "TopicArn")
      .value_or("");
}

std::string AwsFlow::subscribed_queue(const std::string& topic_arn, const std::string& name) {
  const auto url = aws::xml_text(query("sqs", "/", {{"Action", "CreateQueue"}, {"QueueName", name}}), "QueueUrl");
  if (!url) throw std::runtime_error("no QueueUrl");
  const auto arn =
      aws::xml_text(query("sqs", *url, {{"Action", "GetQueueAttributes"}, {"AttributeName.1", "QueueArn"}}), "Value");
  if (!arn) throw std::runtime_error("no QueueArn");
  query("sns", "/",
        {{"Action", "Subscribe"},
         {"Version", "2010-03-31"},
         {"TopicArn", topic_arn},
         {"Protocol", "sqs"},
         {"Endpoint", *arn}});
  return *url;
}

std::vector<json::object> AwsFlow::receive_once(int wait_seconds) {
  const std::string wait = std::to_string(wait_seconds);
  // Hidden for long after: a message is seen once, by the receive that took it.
  const std::string xml = query("sqs", queue_url_,
                                {{"Action", "ReceiveMessage"},
                                 {"MaxNumberOfMessages", "10"},
                                 {"VisibilityTimeout", "43200"},
                                 {"WaitTimeSeconds", wait}});
  std::vector<json::object> out;
  for (std::size_t at = 0, end; (end = aws::xml_element_end(xml, "Message", at)) != std::string::npos; at = end)
    out.push_back(object_of(aws::xml_text(std::string_view(xml).substr(at, end - at), "Body").value_or("")));
  return out;
}

std::vector<json::object> AwsFlow::receive(std::size_t count, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<json::object> got;
  while (got.size() < count && std::chrono::steady_clock::now() < until)
    for (auto& m : receive_once(1)) got.push_back(std::move(m));
  return got;
}

std::vector<json::object> AwsFlow::receive_now() { return receive_once(0); }

}  // namespace tb::test
