// The AWS data path under faults (issue 12): the real binary's invoke and lambda talk to moto
// through a proxy that, at chosen calls, answers 500, throttles, forwards and loses the reply, or
// holds the call while the process is killed. Each test asserts what a user is promised: every
// acknowledged price change has exactly one effect and its event is published at least once, no
// item is corrupted, a retry of one's own landed write is never a 409, a 404 or a second change.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "aws/aws_flow.hpp"
#include "dynamodb/backends.hpp"
#include "faults/fault_proxy.hpp"
#include "lambda/fake_runtime_api.hpp"
#include "support/child_process.hpp"

namespace tb::test {
namespace {

const std::string seat = "1-A9";

std::string price_change(const std::string& new_price) {
  return api_event("PATCH", "/ticket", R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":)" + new_price + "}");
}

class FaultFlow : public AwsFlow {
 protected:
  void SetUp() override {
    AwsFlow::SetUp();
    proxy_ = std::make_unique<fault_proxy>(moto_->endpoint());
  }
  void TearDown() override { proxy_.reset(); }

  // What a user sets, the endpoint being the proxy.
  std::map<std::string, std::string> faulty_env() const {
    auto env = user_env();
    env["AWS_ENDPOINT_URL"] = proxy_->endpoint();
    return env;
  }
  proxy_reply faulty(const std::string& function, const std::string& event) {
    return api(function, event, faulty_env());
  }
  void create(const std::string& body = R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})") {
    auto r = api("createTicket", api_event("POST", "/ticket", body));
    ASSERT_EQ(r.status, 201) << r.out << r.err;
  }
  // The PriceChangeInitiated events in the outbox, parsed.
  std::vector<json::object> initiated_events() {
    std::vector<json::object> out;
    for (const auto& row : outbox_rows())
      if (str(row, "eventType") == "PriceChangeInitiated") out.push_back(object_of(str(row, "event")));
    return out;
  }
  std::string movie_count(const std::string& movie) {
    auto r = client_->call("GetItem", {{"TableName", movies_table_}, {"Key", {{"Movie", {{"S", movie}}}}},
                                       {"ConsistentRead", true}});
    must(r, "GetItem movies");
    auto it = r->find("Item");
    return it == r->end() ? "<none>" : std::string(it->value().at("tickets").at("N").as_string());
  }
  // Every event id that reached the queue, each counted.
  std::multiset<std::string> published(std::size_t at_least) {
    std::multiset<std::string> ids;
    for (const auto& envelope : receive(at_least)) ids.insert(str(message_of(envelope), "eventId"));
    for (const auto& envelope : receive_now()) ids.insert(str(message_of(envelope), "eventId"));
    return ids;
  }

  std::unique_ptr<fault_proxy> proxy_;
};

// Issue 12, scenario 1: the write and its event are one transaction now; a failed attempt is
// retried whole, and the 200 means the event is recorded, so the relay publishes it, whatever
// change follows within 15 minutes.
TEST_F(FaultFlow, ScenarioOneAnAcknowledgedChangeKeepsItsEventThroughAFailedAttempt) {
  create();
  proxy_->inject("TransactWriteItems", fault::fail);
  auto first = faulty("updateTicket", price_change("12.99"));
  ASSERT_EQ(first.status, 200) << first.out << first.err;
  EXPECT_EQ(raw(first.body, "priceChangeEventPublished"), "true");
  EXPECT_EQ(proxy_->faults_met(), 1);
  auto second = faulty("updateTicket", price_change("10.5"));
  ASSERT_EQ(second.status, 200) << second.out;

  auto events = initiated_events();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_EQ(relay().status, 0);
  auto ids = published(2);
  for (const auto& e : events) EXPECT_GE(ids.count(str(e, "eventId")), 1u) << "lost: " << json::serialize(e);
  auto item = *ticket(seat);
  EXPECT_EQ(raw(item, "Price"), "10.5");
  EXPECT_EQ(raw(item, "PreviousPrice"), "12.99");
}

// Issue 12, scenario 2: the transaction lands, its reply is lost, the retry fails its condition;
// that is the change's own write (its outbox row is there), not a refusal to redo as new -> new.
TEST_F(FaultFlow, ScenarioTwoALostReplyIsTheChangesOwnWriteNeverANewToNewChange) {
  create();
  proxy_->inject("TransactWriteItems", fault::lose_reply);
  auto r = faulty("updateTicket", price_change("12.99"));
  ASSERT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(proxy_->faults_met(), 1);
  EXPECT_EQ(raw(r.body, "updateValue"), "12.99");
  const json::object updated = *r.body.find("updatedItem")->if_object();
  EXPECT_EQ(raw(updated, "PreviousPrice"), "15.99");

  auto item = *ticket(seat);
  EXPECT_EQ(raw(item, "Price"), "12.99");
  EXPECT_EQ(raw(item, "PreviousPrice"), "15.99");  // not 12.99: the discount is kept
  auto events = initiated_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(raw(events[0], "oldPrice"), "15.99");
  EXPECT_EQ(raw(events[0], "newPrice"), "12.99");
  ASSERT_EQ(relay().status, 0);
  auto ids = published(1);
  EXPECT_EQ(ids.count(str(events[0], "eventId")), 1u);
}

TEST_F(FaultFlow, ARetriedCreateOfItsOwnLandedWriteIs201AndCountsOnce) {
  proxy_->inject("TransactWriteItems", fault::lose_reply);
  auto r = faulty("createTicket", api_event("POST", "/ticket", R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"));
  EXPECT_EQ(r.status, 201) << r.out << r.err;
  EXPECT_EQ(proxy_->faults_met(), 1);
  EXPECT_EQ(raw(*ticket(seat), "Price"), "15.99");
  EXPECT_EQ(movie_count("Dune"), "1");
  // Someone else's create of the seat is still a conflict, and counts nothing.
  auto again = api("createTicket", api_event("POST", "/ticket", R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"));
  EXPECT_EQ(again.status, 409) << again.out;
  EXPECT_EQ(movie_count("Dune"), "1");
}

TEST_F(FaultFlow, ARetriedDeleteOfItsOwnLandedDeleteIs200) {
  create();
  proxy_->inject("TransactWriteItems", fault::lose_reply);
  auto r = faulty("removeTicket", api_event("DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})"));
  EXPECT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(proxy_->faults_met(), 1);
  EXPECT_EQ(raw(*r.body.find("deletedItem")->if_object(), "Price"), "15.99");
  EXPECT_FALSE(ticket(seat));
  EXPECT_EQ(movie_count("Dune"), "0");
  auto again = api("removeTicket", api_event("DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})"));
  EXPECT_EQ(again.status, 404) << again.out;
}

// Throttling and 500s on reads and writes: retried to one effect.
TEST_F(FaultFlow, ThrottledAndFailedCallsAreRetriedToOneEffect) {
  create();
  proxy_->inject("GetItem", fault::throttle);
  proxy_->inject("TransactWriteItems", fault::throttle);
  proxy_->inject("TransactWriteItems", fault::fail, 2);
  auto r = faulty("updateTicket", price_change("12.99"));
  ASSERT_EQ(r.status, 200) << r.out << r.err;
  EXPECT_EQ(proxy_->faults_met(), 3);
  EXPECT_EQ(initiated_events().size(), 1u);
  EXPECT_EQ(raw(*ticket(seat), "PreviousPrice"), "15.99");
}

// The handler's transaction lands and its reply is lost: applied once, its PriceChangeProcessed
// recorded once (not dropped as a duplicate of itself), and a redelivery changes nothing.
TEST_F(FaultFlow, AHandlersLostReplyIsAppliedOnceWithItsProcessedEvent) {
  create();
  ASSERT_EQ(api("updateTicket", price_change("12.99")).status, 200);
  ASSERT_EQ(relay().status, 0);
  auto got = receive(1);
  ASSERT_EQ(got.size(), 1u);

  proxy_->inject("TransactWriteItems", fault::lose_reply);
  auto h = invoke("priceChangeEventHandler", sns_event(got[0]), faulty_env());
  EXPECT_EQ(h.status, 0) << h.out << h.err;
  EXPECT_NE(h.out.find(R"("outcome":"applied")"), std::string::npos) << h.out;
  EXPECT_EQ(proxy_->faults_met(), 1);
  const json::object handled = *ticket(seat);
  EXPECT_EQ(raw(handled, "DiscountPercentage"), "18.76");

  auto again = invoke("priceChangeEventHandler", sns_event(got[0]));
  EXPECT_NE(again.out.find(R"("outcome":"duplicate")"), std::string::npos) << again.out;
  EXPECT_EQ(*ticket(seat), handled);
  int processed = 0;
  for (const auto& row : outbox_rows()) processed += str(row, "eventType") == "PriceChangeProcessed";
  EXPECT_EQ(processed, 1);
  ASSERT_EQ(relay().status, 0);
  auto events = receive(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(str(message_of(events[0]), "eventType"), "PriceChangeProcessed");
}

// SNS takes the message and the reply is lost: the record is reported, Lambda retries it, and the
// event is published again (at least once; consumers drop the second by its eventId).
TEST_F(FaultFlow, ALostPublishReplyIsRetriedNeverDropped) {
  create();
  ASSERT_EQ(api("updateTicket", price_change("12.99")).status, 200);
  const auto records = new_stream_records();
  ASSERT_EQ(records.size(), 1u);
  proxy_->inject("Publish", fault::lose_reply);
  auto lost = invoke("publishPriceChangeEvents", stream_event(records), faulty_env());
  EXPECT_EQ(lost.status, 1) << lost.out << lost.err;
  EXPECT_NE(lost.out.find("itemIdentifier"), std::string::npos) << lost.out;
  auto retried = invoke("publishPriceChangeEvents", stream_event(records), faulty_env());
  EXPECT_EQ(retried.status, 0) << retried.out << retried.err;
  auto ids = published(2);
  const std::string id = str(initiated_events()[0], "eventId");
  EXPECT_GE(ids.count(id), 2u);  // the lost one reached SNS too
  EXPECT_EQ(ids.size(), ids.count(id));
}

// The relay is killed while it publishes the second record of three; Lambda hands the batch to a
// new process (no response came), which publishes it whole: nothing lost, the first twice at most.
TEST_F(FaultFlow, ARelayKilledMidBatchLosesNoEvent) {
  create();
  for (const std::string price : {"12.99", "10.5", "11"})
    ASSERT_EQ(api("updateTicket", price_change(price)).status, 200);
  const auto batch = stream_event(new_stream_records());

  temp_dir logs;
  auto start = [&](fake_runtime_api& api) {
    auto env = faulty_env();
    env["AWS_LAMBDA_RUNTIME_API"] = api.address();
    env["_HANDLER"] = "publishPriceChangeEvents";
    return std::make_unique<child_process>(std::vector<std::string>{binary_path(), "lambda"},
                                           with_sanitizer_options(env), logs.path() / "relay.log", work_.path());
  };
  {
    fake_runtime_api api;
    proxy_->inject("Publish", fault::hold, 2);
    auto relay = start(api);
    api.enqueue(batch);
    ASSERT_TRUE(proxy_->wait_until_held()) << relay->output();
    relay->kill9();
    EXPECT_TRUE(api.posts().empty());  // no answer: Lambda retries the whole batch
  }
  proxy_->release();
  fake_runtime_api api;
  auto relay = start(api);
  auto post = api.wait_for_outcome(api.enqueue(batch));
  ASSERT_TRUE(post) << relay->output();
  EXPECT_EQ(object_of(post->body), object_of(R"({"batchItemFailures":[]})")) << post->body;
  auto ids = published(3);
  for (const auto& e : initiated_events()) {
    EXPECT_GE(ids.count(str(e, "eventId")), 1u) << "lost: " << json::serialize(e);
    EXPECT_LE(ids.count(str(e, "eventId")), 2u);
  }
  EXPECT_EQ(raw(*ticket(seat), "Price"), "11");
}

}  // namespace
}  // namespace tb::test
