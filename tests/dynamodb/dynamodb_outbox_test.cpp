// The outbox relay against moto_server and dynalite, publishing to a recording event_publisher
// (the port boundary: SNS is another adapter's).
#include "dynamodb/dynamodb_outbox.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "dynamodb/attribute_value.hpp"
#include "dynamodb/backends.hpp"
#include "dynamodb/dynamodb_store.hpp"
#include "store/store_test_util.hpp"

namespace tb::test {
namespace {

// Accepts or refuses each publish as scripted (accepting once the script runs out), and keeps
// what it accepted.
class recording_publisher final : public event_publisher {
 public:
  void publish(std::string_view event_json, const std::string& event_id, completion<void> done) override {
    std::unique_lock lock(mutex_);
    ++calls;
    if (!script.empty()) {
      error e = script.front();
      script.pop_front();
      lock.unlock();
      return done(e);
    }
    published.emplace_back(event_id, std::string(event_json));
    lock.unlock();
    done(ok);
  }
  std::mutex mutex_;
  std::deque<error> script;
  std::vector<std::pair<std::string, std::string>> published;
  int calls = 0;
};

template <class Backend>
class DynamoDBOutbox : public ::testing::Test {
 protected:
  void SetUp() override {
    client = client_for<Backend>();
    tables = fresh_tables<Backend>(client);
    store = std::make_unique<dynamodb::dynamodb_store>(
        client, dynamodb::dynamodb_store::options{tables.table, tables.events_table});
    outbox = std::make_unique<dynamodb::dynamodb_outbox>(client, tables.events_table, tables.table, limits);
    ASSERT_TRUE(wait_for<void>(
        [&](auto done) { store->create(obj(R"({"Theatre-Seat":"s","Movie":"M","Price":10})"), done); }));
  }
  void change_price(std::string_view price, std::string id) {
    update_command cmd{
        {"s", "Price", json::value(*decimal::parse(price)), true}, "2026-01-01T00:00:00.000Z", std::move(id)};
    ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { store->update(std::move(cmd), done); }));
  }
  json::object record(const std::string& id) {
    auto r = client->call(
        "GetItem",
        {{"TableName", tables.events_table}, {"Key", {{"eventId", {{"S", id}}}}}, {"ConsistentRead", true}});
    must(r, "GetItem");
    if (!r->contains("Item")) return {};
    return *dynamodb::from_item(r->at("Item").as_object());
  }
  std::string status(const std::string& id) {
    auto rec = record(id);
    const json::value* s = rec.find("status");
    return s && s->if_string() ? *s->if_string() : "<none>";
  }
  // A prepared event as a writer that died would have left it, recorded `age` ago.
  void put_prepared(const std::string& id, const std::string& event_json, std::chrono::seconds age,
                    const char* type = "PriceChangeInitiated") {
    boost::json::object item{{"eventId", {{"S", id}}},
                             {"event", {{"S", event_json}}},
                             {"eventType", {{"S", type}}},
                             {"status", {{"S", "prepared"}}},
                             {"recordedAt", {{"S", iso8601(std::chrono::system_clock::now() - age)}}},
                             {"attempts", {{"N", "0"}}},
                             {"pending", {{"S", "1"}}}};
    must(client->call("PutItem", {{"TableName", tables.events_table}, {"Item", std::move(item)}}), "PutItem");
  }
  // Eventually: the pending index is not read consistently.
  dynamodb::relay_report relay(std::size_t limit = 10) {
    auto r = outbox->relay(publisher, limit);
    EXPECT_TRUE(r) << (r ? "" : r.err().message);
    return r ? *r : dynamodb::relay_report{};
  }

  dynamodb::relay_limits limits{3, std::chrono::seconds(900)};
  std::shared_ptr<dynamodb::dynamodb_client> client;
  aws::settings tables;
  std::unique_ptr<dynamodb::dynamodb_store> store;
  std::unique_ptr<dynamodb::dynamodb_outbox> outbox;
  recording_publisher publisher;
};

using Backends = ::testing::Types<moto_backend, dynalite_backend>;
TYPED_TEST_SUITE(DynamoDBOutbox, Backends, backend_names);

TYPED_TEST(DynamoDBOutbox, PendingEventsAreDeliveredOldestFirstAndOnlyOnce) {
  this->change_price("8", "evt-1");
  this->change_price("6", "evt-2");
  auto report = this->relay();
  EXPECT_EQ(report.delivered, 2u);
  ASSERT_EQ(this->publisher.published.size(), 2u);
  EXPECT_EQ(this->publisher.published[0].first, "evt-1");
  EXPECT_EQ(this->publisher.published[1].first, "evt-2");
  EXPECT_EQ(this->publisher.published[0].second, *this->record("evt-1").find("event")->if_string());
  EXPECT_EQ(this->status("evt-1"), "delivered");
  EXPECT_EQ(this->record("evt-1").find("pending"), nullptr);  // off the index
  // A second relay, and one for the event itself, publish nothing again.
  EXPECT_EQ(this->relay().delivered, 0u);
  auto one = this->outbox->relay_one("evt-2", this->publisher);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->delivered, 0u);
  EXPECT_EQ(this->publisher.calls, 2);
}

TYPED_TEST(DynamoDBOutbox, RelayOnePublishesTheEventJustRecorded) {
  this->change_price("8", "evt-1");
  this->change_price("6", "evt-2");
  auto one = this->outbox->relay_one("evt-2", this->publisher);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->delivered, 1u);
  ASSERT_EQ(this->publisher.published.size(), 1u);
  EXPECT_EQ(this->publisher.published[0].first, "evt-2");
  EXPECT_EQ(this->status("evt-1"), "pending");
  EXPECT_EQ(this->status("evt-2"), "delivered");
}

TYPED_TEST(DynamoDBOutbox, AFailedPublishStaysPendingWithItsAttemptsThenParksAsDead) {
  this->change_price("8", "evt-1");
  this->publisher.script = {error{errc::unavailable, "SNS timed out"}};
  EXPECT_EQ(this->relay().retried, 1u);
  EXPECT_EQ(this->status("evt-1"), "pending");
  EXPECT_EQ(*this->record("evt-1").find("attempts"), json::value(decimal::from_int(1)));
  EXPECT_EQ(*this->record("evt-1").find("pending"), json::value("1"));
  EXPECT_EQ(this->relay().delivered, 1u);  // the next relay gets it through
  EXPECT_EQ(this->status("evt-1"), "delivered");

  this->change_price("6", "evt-2");  // limits: 3 attempts
  this->publisher.script.assign(3, error{errc::unavailable, "SNS down"});
  EXPECT_EQ(this->relay().retried, 1u);
  EXPECT_EQ(this->relay().retried, 1u);
  EXPECT_EQ(this->relay().dead, 1u);
  auto dead = this->record("evt-2");
  EXPECT_EQ(*dead.find("status"), json::value("dead"));
  EXPECT_EQ(*dead.find("reason"), json::value("gave up after 3 attempts: SNS down"));
  EXPECT_EQ(dead.find("pending"), nullptr);
  EXPECT_EQ(this->relay().delivered, 0u);
}

TYPED_TEST(DynamoDBOutbox, ARefusedEventIsParkedAsDeadWithTheReason) {
  this->change_price("8", "evt-1");
  this->publisher.script = {bad_request("message too large")};
  EXPECT_EQ(this->relay().dead, 1u);
  auto dead = this->record("evt-1");
  EXPECT_EQ(*dead.find("status"), json::value("dead"));
  EXPECT_EQ(*dead.find("reason"), json::value("message too large"));
  EXPECT_EQ(dead.find("pending"), nullptr);
  EXPECT_EQ(this->relay().delivered, 0u);
  EXPECT_EQ(this->publisher.calls, 1);
}

// A writer that died between storing its event and making it pending: the relay decides from
// the ticket, once the writer's time is surely up, and leaves a young one alone.
TYPED_TEST(DynamoDBOutbox, APreparedEventIsResolvedFromTheTicketAfterTheGrace) {
  this->change_price("8", "evt-1");
  ASSERT_EQ(this->relay().delivered, 1u);
  auto landed = *this->record("evt-1").find("event")->if_string();  // the ticket shows this change
  auto never = landed;
  never.replace(never.find(R"("newPrice":8)"), 12, R"("newPrice":7)");  // a write that never happened
  this->put_prepared("landed", landed, std::chrono::seconds(3600));
  this->put_prepared("never", never, std::chrono::seconds(3600));
  this->put_prepared("young", never, std::chrono::seconds(0));
  auto report = this->relay();
  EXPECT_EQ(report.delivered, 1u);
  EXPECT_EQ(report.discarded, 1u);
  EXPECT_EQ(this->status("landed"), "delivered");
  EXPECT_EQ(this->status("never"), "<none>");
  EXPECT_EQ(this->status("young"), "prepared");
  ASSERT_EQ(this->publisher.published.size(), 2u);
  EXPECT_EQ(this->publisher.published[1].first, "landed");
}

// The handler died after its ticket write but before making its PriceChangeProcessed pending:
// the event whose write the ticket shows (its processedAt) counts; one whose write never landed
// (another handling's, at another time) is dropped.
TYPED_TEST(DynamoDBOutbox, APreparedProcessedEventCountsWhenTheTicketShowsIt) {
  this->change_price("8", "evt-1");
  price_change_event e;
  e.event_id = "evt-1";
  e.identified = true;
  e.seat = "s";
  e.movie = json::value("M");
  e.old_price = *decimal::parse("10");
  e.new_price = *decimal::parse("8");
  e.timestamp = "t0";
  metadata_command cmd{std::move(e), "t1", "processed-1"};
  auto applied =
      wait_for<price_change_outcome>([&](auto done) { this->store->apply_price_metadata(std::move(cmd), done); });
  ASSERT_TRUE(applied);
  ASSERT_EQ(*applied, price_change_outcome::applied);
  const std::string text = *this->record("processed-1").find("event")->if_string();
  auto loser = text;
  loser.replace(loser.find(R"("eventId":"processed-1")"), 23, R"("eventId":"processed-2")");
  loser.replace(loser.find(R"("processedAt":"t1")"), 18, R"("processedAt":"t2")");
  this->put_prepared("processed-1", text, std::chrono::seconds(3600), "PriceChangeProcessed");
  this->put_prepared("processed-2", loser, std::chrono::seconds(3600), "PriceChangeProcessed");
  auto report = this->relay();
  EXPECT_EQ(report.delivered, 2u);  // evt-1 and processed-1
  EXPECT_EQ(report.discarded, 1u);
  EXPECT_EQ(this->status("processed-1"), "delivered");
  EXPECT_EQ(this->status("processed-2"), "<none>");
}

}  // namespace
}  // namespace tb::test
