// The AWS flow end to end: the real binary's `invoke` and `lambda` on DynamoDB and SNS (moto, every
// signature checked), configured only as a user would, along a user's path: book a ticket, change
// its price, let the handler discount it, read it back, and lose no event on the way.
#include <filesystem>
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

  // Books the ticket and lowers its price; returns the SNS envelope the queue got.
  json::object booked_and_lowered() {
    create();
    auto r = api("updateTicket", price_change("12.99"));
    EXPECT_EQ(r.status, 200) << r.out << r.err;
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

TEST_F(AwsFlowTest, PriceChangeIsPublishedOnceWithExactPricesAndMarkedDelivered) {
  create();
  auto r = api("updateTicket", price_change("12.99"));
  ASSERT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(raw(r.body, "priceChangeEventPublished"), "true");

  auto got = receive(1);
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_TRUE(receive_now().empty()) << "published more than once";
  const json::object event = message_of(got[0]);
  EXPECT_EQ(str(event, "eventType"), "PriceChangeInitiated");
  EXPECT_EQ(str(event, "theatreSeat"), seat);
  EXPECT_EQ(raw(event, "oldPrice"), "15.99");
  EXPECT_EQ(raw(event, "newPrice"), "12.99");

  // Its outbox row, and only it, settled as delivered by this very invocation.
  auto rows = initiated_rows(outbox_rows());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(str(rows[0], "eventId"), str(event, "eventId"));
  EXPECT_EQ(str(rows[0], "status"), "delivered");
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
  EXPECT_TRUE(receive_now().empty()) << "a redelivery published again";
  EXPECT_EQ(outbox_rows().size(), rows_before);
  EXPECT_EQ(*ticket(seat), *item);
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

// Two changes in one runtime process: the second is not its process's first invocation, so no
// backlog sweep runs then; only the invocation's own publish can have sent its event.
TEST_F(AwsFlowTest, LambdaUpdateTicketPublishesEachChangeBeforeItResponds) {
  create();
  auto runtime = start_lambda("updateTicket");
  for (const std::string price : {"12.99", "10.5"}) {
    auto post = runtime->call(price_change(price));
    ASSERT_EQ(post.kind, "response") << post.body;
    EXPECT_EQ(raw(object_of(post.body), "statusCode"), "200") << post.body;
    // No waiting: the response came after the publish, so the message is already in the queue
    // (Lambda may freeze the process the moment the response is posted).
    auto got = receive_now();
    ASSERT_EQ(got.size(), 1u) << price << "; runtime log: " << runtime->process->output();
    const json::object event = message_of(got[0]);
    EXPECT_EQ(str(event, "eventType"), "PriceChangeInitiated");
    EXPECT_EQ(raw(event, "newPrice"), price);
    EXPECT_EQ(str(*outbox_row(str(event, "eventId")), "status"), "delivered");
  }
}

TEST_F(AwsFlowTest, APriceChangeSnsRefusedStaysPendingUntilALaterInvocationRelaysIt) {
  create();
  const std::string later_topic = "created-later-" + table_;
  auto env = user_env();
  env["PRICE_CHANGE_TOPIC_ARN"] = "arn:aws:sns:" + moto_->region() + ":" + moto_->account_id() + ":" + later_topic;

  auto r = api("updateTicket", price_change("12.99"), env);
  ASSERT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(raw(r.body, "priceChangeEventPublished"), "true");  // durably recorded, not yet sent
  auto rows = initiated_rows(outbox_rows());
  ASSERT_EQ(rows.size(), 1u);
  const std::string event_id = str(rows[0], "eventId");
  EXPECT_EQ(str(rows[0], "status"), "pending") << r.err;
  EXPECT_GE(std::stoi(raw(rows[0], "attempts")), 1) << "the failed publish was not counted";

  // The topic appears; the next process's first invocation (a plain read) relays the backlog.
  EXPECT_EQ(create_topic(later_topic), env["PRICE_CHANGE_TOPIC_ARN"]);
  queue_url_ = subscribed_queue(env["PRICE_CHANGE_TOPIC_ARN"], later_topic);
  auto read = api("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", seat}}), env);
  ASSERT_EQ(read.status, 200) << read.out << read.err;

  auto got = receive(1);
  ASSERT_EQ(got.size(), 1u) << read.err;
  const json::object event = message_of(got[0]);
  EXPECT_EQ(str(event, "eventId"), event_id);
  EXPECT_EQ(raw(event, "oldPrice"), "15.99");
  EXPECT_EQ(raw(event, "newPrice"), "12.99");
  EXPECT_EQ(str(*outbox_row(event_id), "status"), "delivered");
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
