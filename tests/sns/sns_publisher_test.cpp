// sns_publisher against moto_server with signature checks on: what subscribers receive (the
// exact message and its eventType attribute, raw or in SNS's envelope), and how each failure is
// classed (bad_request: never retried; unavailable: retried).
#include "sns/sns_publisher.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>
#include <vector>

#include "aws/moto_server.hpp"
#include "aws/query_api.hpp"
#include "core/json.hpp"
#include "support/child_process.hpp"

namespace tb::sns {
namespace {

using params = std::initializer_list<std::pair<std::string_view, std::string_view>>;

struct received {
  std::string body;
  std::string event_type;  // the SQS message attribute, when SNS delivered it raw
};

// An event as the store records it, with text that needs escaping on every layer.
const std::string initiated =
    R"({"eventType":"PriceChangeInitiated","eventId":"0193a4d2-7e1f-7c3a-9b2e-1f2e3d4c5b6a",)"
    R"("theatreSeat":"Théâtre-Ω 12&A=1+2%","movie":"Dune <Part Two>","oldPrice":15.99,"newPrice":12.99,)"
    R"("timestamp":"2026-11-28T09:00:00.000Z","updatedItem":{"Theatre-Seat":"Théâtre-Ω 12&A=1+2%","Price":12.99}})";
const std::string processed =
    R"({"eventType":"PriceChangeProcessed","eventId":"0193a4d2-7e1f-7c3a-9b2e-000000000002","theatreSeat":"A1"})";

class SnsPublisher : public ::testing::Test {
 protected:
  void SetUp() override {
    auto moto = test::moto_server::shared();
    ASSERT_TRUE(moto) << moto.err().message;
    moto_ = *moto;
  }

  // A Query API call that must succeed; returns the XML answer.
  std::string query(std::string_view service, std::string url, params ps) {
    std::string body;
    for (const auto& [k, v] : ps) aws::append_form_param(body, k, v);
    auto r = moto_->send_signed(
        service, {"POST", std::move(url), {{"Content-Type", std::string(aws::form_content_type)}}, body});
    EXPECT_TRUE(r) << r.err().message;
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return r->body;
  }

  std::string create_topic(std::string_view name) {
    auto arn = aws::xml_text(
        query("sns", "/", {{"Action", "CreateTopic"}, {"Version", "2010-03-31"}, {"Name", name}}),
        "TopicArn");
    EXPECT_TRUE(arn);
    return arn.value_or("");
  }

  // Returns the queue's URL; subscribes it to the topic.
  std::string subscribed_queue(const std::string& topic_arn, std::string_view name, bool raw,
                               std::string_view filter_policy = "") {
    const auto url =
        aws::xml_text(query("sqs", "/", {{"Action", "CreateQueue"}, {"QueueName", name}}), "QueueUrl");
    EXPECT_TRUE(url);
    const auto arn = aws::xml_text(
        query("sqs", *url, {{"Action", "GetQueueAttributes"}, {"AttributeName.1", "QueueArn"}}), "Value");
    EXPECT_TRUE(arn);
    const auto sub = aws::xml_text(query("sns", "/",
                                         {{"Action", "Subscribe"},
                                          {"Version", "2010-03-31"},
                                          {"TopicArn", topic_arn},
                                          {"Protocol", "sqs"},
                                          {"Endpoint", *arn}}),
                                   "SubscriptionArn");
    EXPECT_TRUE(sub);
    auto set = [&](std::string_view attr, std::string_view value) {
      query("sns", "/",
            {{"Action", "SetSubscriptionAttributes"},
             {"Version", "2010-03-31"},
             {"SubscriptionArn", *sub},
             {"AttributeName", attr},
             {"AttributeValue", value}});
    };
    if (raw) set("RawMessageDelivery", "true");
    if (!filter_policy.empty()) set("FilterPolicy", filter_policy);
    return url.value_or("");
  }

  std::vector<received> receive(const std::string& queue_url) {
    // moto delivers during Publish; no waiting needed, and an empty answer means nothing came.
    const std::string xml = query("sqs", queue_url,
                                  {{"Action", "ReceiveMessage"},
                                   {"MaxNumberOfMessages", "10"},
                                   {"MessageAttributeName.1", "All"},
                                   {"WaitTimeSeconds", "0"}});
    std::vector<received> out;
    for (std::size_t at = 0, end; (end = aws::xml_element_end(xml, "Message", at)) != std::string::npos;
         at = end) {
      const std::string_view message = std::string_view(xml).substr(at, end - at);
      received m{aws::xml_text(message, "Body").value_or("<no body>"), ""};
      if (auto attr = message.find("<Name>eventType</Name>"); attr != std::string_view::npos) {
        m.event_type = aws::xml_text(message, "StringValue", attr).value_or("");
      }
      out.push_back(std::move(m));
    }
    return out;
  }

  sns_publisher publisher_for(const std::string& topic_arn) {
    return sns_publisher(http_, moto_->endpoint(), moto_->region(), moto_->credentials(), topic_arn);
  }

  static result<void> publish(sns_publisher& p, std::string_view event, const std::string& id = "id-1") {
    std::optional<result<void>> outcome;
    p.publish(event, id, [&](result<void> r) { outcome.emplace(std::move(r)); });
    EXPECT_TRUE(outcome.has_value()) << "publish returned before completing";
    return outcome.value_or(error{errc::internal, "no outcome"});
  }

  test::moto_server* moto_ = nullptr;
  aws::http_client http_;
};

// A loopback URL that refuses connections: a publisher pointed there proves it sent nothing
// when it fails with anything but unavailable.
std::string refusing_endpoint() {
  return "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
}

const std::string* string_at(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* at = &v;
  for (auto key : path) {
    const auto* o = at->if_object();
    at = o ? o->find(key) : nullptr;
    if (!at) return nullptr;
  }
  return at->if_string();
}

TEST_F(SnsPublisher, SubscribersGetTheExactMessageAndItsEventType) {
  const std::string topic = create_topic("price-changes");
  const std::string raw_queue = subscribed_queue(topic, "raw", true);
  // Filtered on the attribute: proves subscriptions can select events by type.
  const std::string enveloped_queue =
      subscribed_queue(topic, "enveloped", false, R"({"eventType":["PriceChangeInitiated"]})");
  auto publisher = publisher_for(topic);

  auto first = publish(publisher, initiated);
  ASSERT_TRUE(first) << first.err().message;
  auto second = publish(publisher, processed, "id-2");
  ASSERT_TRUE(second) << second.err().message;

  const auto raw = receive(raw_queue);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].body, initiated);
  EXPECT_EQ(raw[0].event_type, "PriceChangeInitiated");
  EXPECT_EQ(raw[1].body, processed);
  EXPECT_EQ(raw[1].event_type, "PriceChangeProcessed");

  const auto enveloped = receive(enveloped_queue);
  ASSERT_EQ(enveloped.size(), 1u) << "the filter let PriceChangeProcessed through";
  auto envelope = json::parse(enveloped[0].body);
  ASSERT_TRUE(std::holds_alternative<json::value>(envelope)) << enveloped[0].body;
  const auto& e = std::get<json::value>(envelope);
  ASSERT_TRUE(string_at(e, {"Type"}) && string_at(e, {"TopicArn"}) && string_at(e, {"Message"}))
      << enveloped[0].body;
  EXPECT_EQ(*string_at(e, {"Type"}), "Notification");
  EXPECT_EQ(*string_at(e, {"TopicArn"}), topic);
  EXPECT_EQ(*string_at(e, {"Message"}), initiated);
  ASSERT_TRUE(string_at(e, {"MessageAttributes", "eventType", "Value"})) << enveloped[0].body;
  EXPECT_EQ(*string_at(e, {"MessageAttributes", "eventType", "Type"}), "String");
  EXPECT_EQ(*string_at(e, {"MessageAttributes", "eventType", "Value"}), "PriceChangeInitiated");
}

TEST_F(SnsPublisher, MissingTopicIsRetryable) {
  auto publisher = publisher_for("arn:aws:sns:us-east-1:" + moto_->account_id() + ":no-such-topic");
  auto r = publish(publisher, initiated);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_NE(r.err().message.find("NotFound"), std::string::npos) << r.err().message;
}

TEST_F(SnsPublisher, RefusedCredentialsAreRetryable) {
  const std::string topic = create_topic("credentials");
  auto creds = moto_->credentials();
  creds.secret_access_key += "x";
  sns_publisher publisher(http_, moto_->endpoint(), moto_->region(), creds, topic);
  auto r = publish(publisher, initiated);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_NE(r.err().message.find("SignatureDoesNotMatch"), std::string::npos) << r.err().message;
}

TEST_F(SnsPublisher, TransportFailureIsRetryable) {
  sns_publisher publisher(http_, refusing_endpoint(), moto_->region(), moto_->credentials(),
                          "arn:aws:sns:us-east-1:123456789012:t");
  auto r = publish(publisher, initiated);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::unavailable);
}

// An event of exactly `bytes` bytes, eventType PriceChangeInitiated.
std::string event_of_size(std::size_t bytes) {
  std::string e = R"({"eventType":"PriceChangeInitiated","pad":""})";
  e.insert(e.size() - 2, bytes - e.size(), 'x');
  return e;
}

TEST_F(SnsPublisher, OversizeMessageIsBadRequestAndNotSent) {
  const std::string topic = create_topic("oversize");
  const std::string queue = subscribed_queue(topic, "oversize", true);
  const std::size_t attributes = std::string_view("eventTypeStringPriceChangeInitiated").size();
  const std::string largest = event_of_size(max_message_bytes - attributes);
  const std::string too_big = event_of_size(max_message_bytes - attributes + 1);

  auto publisher = publisher_for(topic);
  auto r = publish(publisher, too_big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::bad_request) << r.err().message;
  EXPECT_TRUE(receive(queue).empty());
  // Not even sent: a publisher whose endpoint refuses connections fails the same way.
  sns_publisher nowhere(http_, refusing_endpoint(), moto_->region(), moto_->credentials(), topic);
  auto r2 = publish(nowhere, too_big);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.err().code, errc::bad_request) << r2.err().message;

  // The largest message SNS takes goes through (to a topic with no subscriber: SQS's envelope
  // around it would be over SQS's own limit).
  auto at_limit = publisher_for(create_topic("at-limit"));
  auto ok_r = publish(at_limit, largest);
  EXPECT_TRUE(ok_r) << ok_r.err().message;
}

TEST_F(SnsPublisher, MalformedEventsAreBadRequestAndNotSent) {
  sns_publisher nowhere(http_, refusing_endpoint(), moto_->region(), moto_->credentials(),
                        "arn:aws:sns:us-east-1:123456789012:t");
  for (std::string_view bad :
       {R"(not json)", R"([1,2])", R"({"eventId":"x"})", R"({"eventType":""})", R"({"eventType":7})"}) {
    auto r = publish(nowhere, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.err().code, errc::bad_request) << bad << ": " << r.err().message;
  }
}

TEST_F(SnsPublisher, FifoTopicGetsAGroupAndDeduplicationId) {
  const std::string topic = aws::xml_text(query("sns", "/",
                                                {{"Action", "CreateTopic"},
                                                 {"Version", "2010-03-31"},
                                                 {"Name", "price-changes.fifo"},
                                                 {"Attributes.entry.1.key", "FifoTopic"},
                                                 {"Attributes.entry.1.value", "true"}}),
                                          "TopicArn")
                                .value_or("");
  ASSERT_FALSE(topic.empty());
  auto publisher = publisher_for(topic);
  auto body = publisher.request_body(initiated, "event-42");
  ASSERT_TRUE(body) << body.err().message;
  EXPECT_NE(body->find("&MessageGroupId=Th%C3%A9%C3%A2tre-%CE%A9+12%26A%3D1%2B2%25"), std::string::npos)
      << *body;
  EXPECT_NE(body->find("&MessageDeduplicationId=event-42"), std::string::npos) << *body;
  // moto refuses a FIFO publish without a group id: this one is accepted.
  auto r = publish(publisher, initiated, "event-42");
  EXPECT_TRUE(r) << r.err().message;
  // A standard topic gets neither.
  auto standard = publisher_for("arn:aws:sns:us-east-1:123456789012:t").request_body(initiated, "event-42");
  ASSERT_TRUE(standard);
  EXPECT_EQ(standard->find("MessageGroupId"), std::string::npos);
}

aws::http_response answer(int status, std::string body) {
  return {status, {}, std::move(body)};
}

std::string error_xml(std::string_view code, std::string_view message) {
  return "<ErrorResponse "
         "xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>" +
         std::string(code) + "</Code><Message>" + std::string(message) +
         "</Message></Error><RequestId>r</RequestId></ErrorResponse>";
}

TEST(PublishAnswer, ClassifiesSnsAnswers) {
  auto accepted = read_publish_answer(answer(200,
                                             "<PublishResponse><PublishResult><MessageId>94f20ce6-13c5</"
                                             "MessageId></PublishResult></PublishResponse>"));
  ASSERT_TRUE(accepted);
  EXPECT_EQ(*accepted, "94f20ce6-13c5");

  struct expectation {
    int status;
    std::string code, message;
    errc expected;
  };
  const std::vector<expectation> cases = {
      {400, "InvalidParameter", "Invalid parameter: Message too long", errc::bad_request},
      {400, "InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse",
       errc::bad_request},
      {400, "InvalidParameterValue", "Invalid parameter: MessageAttributes", errc::bad_request},
      {400, "InvalidParameter", "Invalid parameter: TopicArn", errc::unavailable},
      {400, "Throttling", "Rate exceeded", errc::unavailable},
      {429, "Throttled", "Rate exceeded", errc::unavailable},
      {404, "NotFound", "Topic does not exist", errc::unavailable},
      {403, "AuthorizationError", "not authorized to perform: SNS:Publish", errc::unavailable},
      {403, "ExpiredToken", "The security token included in the request is expired", errc::unavailable},
      {500, "InternalError", "Internal Error", errc::unavailable},
      {503, "ServiceUnavailable", "Service Unavailable", errc::unavailable},
  };
  for (const auto& c : cases) {
    auto r = read_publish_answer(answer(c.status, error_xml(c.code, c.message)));
    ASSERT_FALSE(r) << c.code;
    EXPECT_EQ(r.err().code, c.expected) << c.code << ": " << c.message;
    EXPECT_NE(r.err().message.find(c.code), std::string::npos) << r.err().message;
    EXPECT_NE(r.err().message.find(c.message), std::string::npos) << r.err().message;
  }
  // Not XML at all (a proxy's page) and a 200 without a MessageId: retried, not dropped.
  EXPECT_EQ(read_publish_answer(answer(502, "<html>Bad Gateway</html>")).err().code, errc::unavailable);
  EXPECT_EQ(read_publish_answer(answer(200, "<PublishResponse/>")).err().code, errc::unavailable);
}

}  // namespace
}  // namespace tb::sns
