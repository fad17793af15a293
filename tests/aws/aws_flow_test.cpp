// The AWS flow end to end: the real binary's `invoke` and `lambda` on DynamoDB and SNS (moto, every
// signature checked), configured only as a user would, along a user's path: book a ticket, change
// its price, let the handler discount it, read it back, and lose no event on the way.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aws/aws_flow.hpp"
#include "support/child_process.hpp"
#include "lambda/fake_runtime_api.hpp"

namespace tb::test {
namespace {

const std::string seat = "1-A9";
const std::string ticket_body = R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})";

std::string price_change(const std::string& new_price) {
  return api_event("PATCH", "/ticket",
                   R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":)" + new_price + "}");
}

// The PriceChangeInitiated rows of the outbox table.
std::vector<json::object> initiated_rows(const std::vector<json::object>& rows) {
  std::vector<json::object> out;
  for (const auto& r : rows)
    if (str(r, "eventType") == "PriceChangeInitiated") out.push_back(r);
  return out;
}

class AwsFlowTest : public AwsFlow {
 protected:
  void create() {
    auto r = api("createTicket", api_event("POST", "/ticket", ticket_body));
    ASSERT_EQ(r.status, 201) << r.out << r.err;
  }

  // Books the ticket and lowers its price, relays the stream; returns the SNS envelope the queue got.
  json::object booked_and_lowered() {
    create();
    auto r = api("updateTicket", price_change("12.99"));
    EXPECT_EQ(r.status, 200) << r.out << r.err;
    auto relayed = relay();
    EXPECT_EQ(relayed.status, 0) << relayed.out << relayed.err;
    auto got = receive(1);
    if (got.size() != 1) throw std::runtime_error("no PriceChangeInitiated came; " + r.err);
    return got[0];
  }

  // `ticket-booking lambda` (_HANDLER = function) on the fake Runtime API: one process, as one
  // Lambda container, serving every event passed to call().
  struct lambda_runtime {
    fake_runtime_api api;
    std::unique_ptr<child_process> process;
    runtime_post call(const std::string& event) {
      auto post = api.wait_for_outcome(api.enqueue(event));
      if (!post) throw std::runtime_error("no outcome; runtime log: " + process->output());
      return *post;
    }
  };
  std::unique_ptr<lambda_runtime> start_lambda(const std::string& function) {
    auto runtime = std::make_unique<lambda_runtime>();
    auto env = user_env();
    env["AWS_LAMBDA_RUNTIME_API"] = runtime->api.address();
    env["_HANDLER"] = function;
    runtime->process = std::make_unique<child_process>(std::vector<std::string>{binary_path(), "lambda"},
                                                       with_sanitizer_options(env),
                                                       logs_.path() / (function + ".log"), work_.path());
    return runtime;
  }

  temp_dir logs_;
};

TEST_F(AwsFlowTest, CreateTicketStoresTheItemInDynamoDBAndNothingLocally) {
  auto r = api("createTicket", api_event("POST", "/ticket", ticket_body));
  EXPECT_EQ(r.exit, 0) << r.err;
  ASSERT_EQ(r.status, 201) << r.out << r.err;
  EXPECT_EQ(str(r.body, "message"), "Ticket created successfully");

  auto item = ticket(seat);
  ASSERT_TRUE(item) << "not in DynamoDB; " << r.err;
  EXPECT_EQ(*item, object_of(ticket_body));
  EXPECT_EQ(raw(*item, "Price"), "15.99");  // an exact decimal, not 15.9900000001
  // DYNAMODB_TABLE set: no SQLite store, not even an empty ./data, in the working directory.
  EXPECT_TRUE(std::filesystem::is_empty(work_.path()));
}

TEST_F(AwsFlowTest, PriceChangeIsRecordedWithTheTicketAndPublishedOnceByTheRelay) {
  create();
  auto r = api("updateTicket", price_change("12.99"));
  ASSERT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(raw(r.body, "priceChangeEventPublished"), "true");
  EXPECT_TRUE(receive_now().empty()) << "the PATCH published itself: the relay's job";

  // Its outbox row, written with the ticket, expiring a week later.
  auto rows = initiated_rows(outbox_rows());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(raw(rows[0], "expiresAt"), "<absent>");

  auto relayed = relay();
  EXPECT_EQ(relayed.status, 0) << relayed.err;
  EXPECT_EQ(object_of(relayed.out), object_of(R"({"batchItemFailures":[]})")) << relayed.out;
  auto got = receive(1);
  ASSERT_EQ(got.size(), 1u) << relayed.err;
  EXPECT_TRUE(receive_now().empty()) << "published more than once";
  const json::object event = message_of(got[0]);
  EXPECT_EQ(str(event, "eventType"), "PriceChangeInitiated");
  EXPECT_EQ(str(event, "eventId"), str(rows[0], "eventId"));
  EXPECT_EQ(str(event, "theatreSeat"), seat);
  EXPECT_EQ(raw(event, "oldPrice"), "15.99");
  EXPECT_EQ(raw(event, "newPrice"), "12.99");
  EXPECT_EQ(raw(*ticket(seat), "Price"), "12.99");
}

TEST_F(AwsFlowTest, HandlerDiscountsFromTheSnsEnvelopeAndARedeliveryChangesNothing) {
  const json::object envelope = booked_and_lowered();
  const std::string initiated_id = str(message_of(envelope), "eventId");

  auto h = invoke("priceChangeEventHandler", sns_event(envelope));
  EXPECT_EQ(h.status, 0) << h.err;
  const json::object out = object_of(h.out);
  const json::value* results = out.find("results");
  ASSERT_TRUE(results && results->if_array() && results->if_array()->size() == 1) << h.out;
  EXPECT_EQ(str(*results->if_array()->at(0).if_object(), "outcome"), "applied") << h.out;

  auto item = ticket(seat);
  ASSERT_TRUE(item);
  EXPECT_EQ(raw(*item, "DiscountPercentage"), "18.76");
  EXPECT_EQ(raw(*item, "IsDiscounted"), "true");
  EXPECT_EQ(raw(*item, "PreviousPrice"), "15.99");
  EXPECT_EQ(raw(*item, "Price"), "12.99");

  ASSERT_EQ(relay().status, 0);
  auto processed = receive(1);
  ASSERT_EQ(processed.size(), 1u) << h.err;
  const json::object event = message_of(processed[0]);
  EXPECT_EQ(str(event, "eventType"), "PriceChangeProcessed");
  EXPECT_EQ(str(event, "causationId"), initiated_id);
  EXPECT_EQ(raw(event, "discountPercentage"), "18.76");

  // SNS delivers at least once: the same envelope again is a duplicate and publishes nothing.
  const auto rows_before = outbox_rows().size();
  auto again = invoke("priceChangeEventHandler", sns_event(envelope));
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find(R"("outcome":"duplicate")"), std::string::npos) << again.out;
  EXPECT_TRUE(new_stream_records().empty()) << "a redelivery recorded an event";
  EXPECT_EQ(outbox_rows().size(), rows_before);
  EXPECT_EQ(*ticket(seat), *item);
}

// Issue 11's ABA on DynamoDB: 10 -> 8, 8 -> 12, 12 -> 8, then the first change's event arrives
// late. Its newPrice is the Price again, but it is not the ticket's latest change: stale, nothing
// changed. The latest change's own event still applies.
TEST_F(AwsFlowTest, ALateEventOfAnEarlierChangeIsStaleEvenWhenItsPriceIsBack) {
  ASSERT_EQ(api("createTicket", api_event("POST", "/ticket", R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":10})"))
                .status, 201);
  for (const std::string price : {"8", "12", "8"}) ASSERT_EQ(api("updateTicket", price_change(price)).status, 200);
  ASSERT_EQ(relay().status, 0);
  auto got = receive(3);
  ASSERT_EQ(got.size(), 3u);
  std::map<std::string, json::object> by_change;  // "old->new" -> envelope
  for (const auto& envelope : got) {
    const json::object e = message_of(envelope);
    by_change[raw(e, "oldPrice") + "->" + raw(e, "newPrice")] = envelope;
  }
  ASSERT_EQ(by_change.size(), 3u);
  const json::object before = *ticket(seat);

  auto late = invoke("priceChangeEventHandler", sns_event(by_change["10->8"]));
  EXPECT_EQ(late.status, 0) << late.err;
  EXPECT_NE(late.out.find(R"("outcome":"stale")"), std::string::npos) << late.out;
  EXPECT_EQ(*ticket(seat), before);  // PreviousPrice stays 12, no 20% discount

  auto latest = invoke("priceChangeEventHandler", sns_event(by_change["12->8"]));
  EXPECT_NE(latest.out.find(R"("outcome":"applied")"), std::string::npos) << latest.out;
  auto item = *ticket(seat);
  EXPECT_EQ(raw(item, "PreviousPrice"), "12");
  EXPECT_EQ(raw(item, "DiscountPercentage"), "33.33");
}

TEST_F(AwsFlowTest, LambdaRetrieveTicketAnswersWithTheDynamoDBItemAndItsMetadata) {
  auto h = invoke("priceChangeEventHandler", sns_event(booked_and_lowered()));
  ASSERT_EQ(h.status, 0) << h.err;

  auto post = start_lambda("retrieveTicket")->call(api_event("GET", "/ticket", {}, {{"Theatre-Seat", seat}}));
  ASSERT_EQ(post.kind, "response") << post.body;
  const json::object reply = object_of(post.body);
  EXPECT_EQ(raw(reply, "statusCode"), "200") << post.body;
  const json::object body = object_of(str(reply, "body"));
  EXPECT_EQ(body, *ticket(seat));
  EXPECT_EQ(raw(body, "DiscountPercentage"), "18.76");
  EXPECT_EQ(raw(body, "PreviousPrice"), "15.99");
  EXPECT_TRUE(std::filesystem::is_empty(work_.path()));
}

// The relay as Lambda runs it: one process, a batch of the stream's records per invocation,
// answered with the records it could not publish (none here), every event published in order.
TEST_F(AwsFlowTest, LambdaRelayPublishesABatchOfTheStreamInOrder) {
  create();
  for (const std::string price : {"12.99", "10.5", "11"})
    ASSERT_EQ(api("updateTicket", price_change(price)).status, 200);
  auto runtime = start_lambda("publishPriceChangeEvents");
  auto post = runtime->call(stream_event(new_stream_records()));
  ASSERT_EQ(post.kind, "response") << post.body << runtime->process->output();
  EXPECT_EQ(object_of(post.body), object_of(R"({"batchItemFailures":[]})"));
  auto got = receive(3);
  ASSERT_EQ(got.size(), 3u) << runtime->process->output();
  std::vector<std::string> prices;
  for (const auto& envelope : got) prices.push_back(raw(message_of(envelope), "newPrice"));
  std::sort(prices.begin(), prices.end());  // an SQS queue does not keep SNS's order
  EXPECT_EQ(prices, (std::vector<std::string>{"10.5", "11", "12.99"}));
  EXPECT_TRUE(receive_now().empty());
}

// SNS refuses (the topic is not there yet): the relay names the first record it could not publish,
// so Lambda retries from it; once the topic exists, the retried batch goes out whole.
TEST_F(AwsFlowTest, ARecordSnsRefusesIsReportedAndPublishedWhenLambdaRetriesIt) {
  create();
  ASSERT_EQ(api("updateTicket", price_change("12.99")).status, 200);
  ASSERT_EQ(api("updateTicket", price_change("10.5")).status, 200);
  const std::string later_topic = "created-later-" + table_;
  auto env = user_env();
  env["PRICE_CHANGE_TOPIC_ARN"] = "arn:aws:sns:" + moto_->region() + ":" + moto_->account_id() + ":" + later_topic;
  const auto records = new_stream_records();
  ASSERT_EQ(records.size(), 2u);

  auto refused = invoke("publishPriceChangeEvents", stream_event(records), env);
  EXPECT_EQ(refused.status, 1) << refused.err;
  const std::string first_seq(records[0].at("dynamodb").at("SequenceNumber").as_string());
  EXPECT_EQ(object_of(refused.out),
            object_of(R"({"batchItemFailures":[{"itemIdentifier":")" + first_seq + R"("}]})"))
      << refused.out;

  EXPECT_EQ(create_topic(later_topic), env["PRICE_CHANGE_TOPIC_ARN"]);
  queue_url_ = subscribed_queue(env["PRICE_CHANGE_TOPIC_ARN"], later_topic);
  auto retried = invoke("publishPriceChangeEvents", stream_event(records), env);
  EXPECT_EQ(retried.status, 0) << retried.err;
  auto got = receive(2);
  ASSERT_EQ(got.size(), 2u) << retried.err;
  EXPECT_EQ(raw(message_of(got[0]), "oldPrice"), "15.99");
}

TEST_F(AwsFlowTest, AWrongSecretKeyFailsVisiblyAndWritesNothing) {
  create();
  auto env = user_env();
  env["AWS_SECRET_ACCESS_KEY"] += "x";

  auto created = api("createTicket",
                     api_event("POST", "/ticket", R"({"Theatre-Seat":"2-B1","Movie":"Dune","Price":9})"), env);
  // Not temporary (a retry cannot fix a wrong key): 500, with the original message and no AWS text.
  EXPECT_EQ(created.status, 500) << created.out;
  EXPECT_EQ(str(created.body, "error"), "Failed to create ticket");
  // The log has a reason the operator can act on, not a cut-off XML document.
  EXPECT_NE(created.err.find("SignatureDoesNotMatch: The request signature we calculated does not match"),
            std::string::npos)
      << created.err;
  EXPECT_EQ(created.err.find("<Error"), std::string::npos) << created.err;

  auto changed = api("updateTicket", price_change("12.99"), env);
  EXPECT_EQ(changed.status, 500) << changed.out;
  EXPECT_EQ(str(changed.body, "error"), "Failed to update ticket");

  EXPECT_EQ(tickets().size(), 1u);  // only the ticket booked with the right key
  EXPECT_EQ(raw(*ticket(seat), "Price"), "15.99");
  EXPECT_TRUE(outbox_rows().empty());
  EXPECT_TRUE(receive_now().empty());
}

}  // namespace
}  // namespace tb::test
