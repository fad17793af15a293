// The store contract on the DynamoDB adapter, against moto_server and dynalite, plus what only
// this adapter promises: tables the original Python service can share, events in the outbox
// table, and conditional writes that hold under concurrency.
#include "dynamodb/dynamodb_store.hpp"

#include <map>
#include <thread>

#include "dynamodb/attribute_value.hpp"
#include "dynamodb/backends.hpp"
#include "store/ticket_store_contract.hpp"

namespace tb::test {

template <class Backend>
struct dynamodb_adapter {
  static constexpr const char* name = Backend::name;
};

template <class Backend>
struct store_traits<dynamodb_adapter<Backend>> {
  static std::unique_ptr<ticket_store> make() {
    auto client = client_for<Backend>();
    auto s = fresh_tables<Backend>(client);
    return std::make_unique<dynamodb::dynamodb_store>(
        client, dynamodb::dynamodb_store::options{s.table, s.events_table});
  }
};

using Adapters = ::testing::Types<dynamodb_adapter<moto_backend>, dynamodb_adapter<dynalite_backend>>;
INSTANTIATE_TYPED_TEST_SUITE_P(DynamoDB, TicketStoreContract, Adapters, backend_names);
// Not on moto: its conditional writes are not atomic (see DynamoDBConcurrency below).
INSTANTIATE_TYPED_TEST_SUITE_P(DynamoDB, TicketStoreRaces, ::testing::Types<dynamodb_adapter<dynalite_backend>>,
                               backend_names);

namespace {

// A store on fresh tables, and raw access to those tables.
template <class Backend>
class DynamoDBStore : public ::testing::Test {
 protected:
  void SetUp() override {
    client = client_for<Backend>();
    tables = fresh_tables<Backend>(client);
    store = std::make_unique<dynamodb::dynamodb_store>(
        client, dynamodb::dynamodb_store::options{tables.table, tables.events_table});
  }

  // Every item of a table, as JSON objects keyed by their key attribute.
  std::map<std::string, json::object> raw(const std::string& table, const std::string& key) {
    auto r = client->call("Scan", {{"TableName", table}, {"ConsistentRead", true}});
    must(r, "Scan");
    std::map<std::string, json::object> out;
    for (const auto& wire : r->at("Items").as_array()) {
      auto item = *dynamodb::from_item(wire.as_object());
      out.emplace(*item.find(key)->if_string(), std::move(item));
    }
    return out;
  }
  result<update_outcome> change_price(const std::string& seat, std::string_view price, std::string id) {
    update_command cmd{{seat, "Price", json::value(*decimal::parse(price)), true},
                       "2026-01-01T00:00:00.000Z",
                       std::move(id)};
    return wait_for<update_outcome>([&](auto done) { store->update(std::move(cmd), done); });
  }
  result<price_change_outcome> metadata(const std::string& seat, std::string_view new_price, std::string id) {
    price_change_event e;
    e.event_id = std::move(id);
    e.identified = true;
    e.seat = seat;
    e.movie = json::value("Dune");
    e.old_price = *decimal::parse("10");
    e.new_price = *decimal::parse(new_price);
    e.timestamp = "2026-01-01T00:00:00.000Z";
    metadata_command cmd{std::move(e), "2026-01-01T00:00:01.000Z", {}};
    cmd.processed_event_id = processed_event_id(cmd.event.event_id);
    return wait_for<price_change_outcome>([&](auto done) { store->apply_price_metadata(std::move(cmd), done); });
  }
  void create(std::string_view text) {
    auto r = wait_for<void>([&](auto done) { store->create(obj(text), done); });
    ASSERT_TRUE(r) << r.err().message;
  }

  std::shared_ptr<dynamodb::dynamodb_client> client;
  aws::settings tables;
  std::unique_ptr<dynamodb::dynamodb_store> store;
};

using Backends = ::testing::Types<moto_backend, dynalite_backend>;
TYPED_TEST_SUITE(DynamoDBStore, Backends, backend_names);

// Races are dynalite's alone: moto's update_item reads the item, evaluates the condition and
// writes with no lock between, so two concurrent conditional writes can both pass there (seen:
// two price changes from the same old price), which DynamoDB and dynalite (a lock per item)
// never allow.
template <class Backend>
class DynamoDBConcurrency : public DynamoDBStore<Backend> {};
TYPED_TEST_SUITE(DynamoDBConcurrency, ::testing::Types<dynalite_backend>, backend_names);

TYPED_TEST(DynamoDBStore, TicketsStayCleanAndEventsGoToTheOutboxTable) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":10})");
  ASSERT_TRUE(this->change_price("s", "8", "evt-1"));
  ASSERT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::applied);

  auto tickets = this->raw(this->tables.table, "Theatre-Seat");
  ASSERT_EQ(tickets.size(), 1u);  // nothing but tickets, and of ours on them only the change's stamp
  std::vector<std::string> names;
  for (const auto& [name, v] : tickets["s"]) names.push_back(name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"DiscountPercentage", "IsDiscounted", "LastPriceChangeEventId",
                                             "LastPriceChangeTimestamp", "Movie", "PreviousPrice", "Price",
                                             "Theatre-Seat"}));
  EXPECT_EQ(**this->store->get("s"), R"({"Theatre-Seat":"s","Movie":"Dune","Price":8,"PreviousPrice":10,)"
                                     R"("LastPriceChangeTimestamp":"2026-01-01T00:00:01.000Z",)"
                                     R"("LastPriceChangeEventId":"evt-1","DiscountPercentage":20,"IsDiscounted":true})");

  auto events = this->raw(this->tables.events_table, "eventId");
  ASSERT_EQ(events.size(), 2u);  // the two events: the ticket itself tells what was handled
  const json::object& initiated = events["evt-1"];
  EXPECT_EQ(*initiated.find("eventType"), json::value("PriceChangeInitiated"));
  EXPECT_EQ(*initiated.find("status"), json::value("pending"));
  EXPECT_EQ(*initiated.find("pending"), json::value("1"));
  EXPECT_EQ(*initiated.find("attempts"), json::value(decimal()));
  EXPECT_EQ(initiated.find("recordedAt")->if_string()->size(),
            std::string("2026-01-01T00:00:00.000Z").size());
  EXPECT_EQ(
      *initiated.find("event")->if_string(),
      R"({"eventType":"PriceChangeInitiated","eventId":"evt-1","theatreSeat":"s","movie":"Dune","oldPrice":10,)"
      R"("newPrice":8,"timestamp":"2026-01-01T00:00:00.000Z","updatedItem":{"Theatre-Seat":"s","Movie":"Dune",)"
      R"("Price":8,"PreviousPrice":10,"LastPriceChangeTimestamp":"2026-01-01T00:00:00.000Z",)"
      R"("LastPriceChangeEventId":"evt-1"}})");
  const json::object& processed = events[processed_event_id("evt-1")];
  EXPECT_EQ(*processed.find("eventType"), json::value("PriceChangeProcessed"));
  EXPECT_EQ(*processed.find("status"), json::value("pending"));
  EXPECT_NE(processed.find("event")->if_string()->find(R"("causationId":"evt-1")"), std::string::npos);
}

TYPED_TEST(DynamoDBConcurrency, ConcurrentPriceChangesEachSeeThePriceTheyReplace) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":100})");
  constexpr int writers = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < writers; ++i)
    threads.emplace_back([&, i] {
      if (!this->change_price("s", std::to_string(i + 1), "evt-" + std::to_string(i))) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  // Each change replaced the price before it: the events' old prices are the start price and
  // every new price but the last, each exactly once. A write that did not check the price it
  // read would let two events claim the same old price.
  std::map<std::string, int> old_prices;
  for (auto& [id, e] : this->raw(this->tables.events_table, "eventId")) {
    auto event = obj(*e.find("event")->if_string());
    ++old_prices[json::serialize(*event.find("oldPrice"))];
    EXPECT_EQ(*e.find("status"), json::value("pending")) << id;
  }
  EXPECT_EQ(old_prices.size(), static_cast<std::size_t>(writers));
  EXPECT_EQ(old_prices["100"], 1);
  auto final_item = obj(**this->store->get("s"));
  EXPECT_EQ(old_prices.count(json::serialize(*final_item.find("Price"))), 0u);
  for (const auto& [price, n] : old_prices) EXPECT_EQ(n, 1) << price;
}

// A read-then-write update would put back a ticket deleted between its read and its write.
TYPED_TEST(DynamoDBConcurrency, AConcurrentDeleteIsNeverUndone) {
  constexpr int rounds = 15;
  for (int i = 0; i < rounds; ++i) {
    std::string seat("s"), id("evt-");  // appended to: GCC 12 warns wrongly on "s" + string
    seat += std::to_string(i);
    id += std::to_string(i);
    this->create(R"({"Theatre-Seat":")" + seat + R"(","Movie":"Dune","Price":10})");
    std::atomic<bool> deleted{false};
    std::thread remover([&] {
      deleted = wait_for<json::object>([&](auto done) { this->store->remove(seat, done); }).has_value();
    });
    auto price = this->change_price(seat, "8", id);
    update_command movie{{seat, "Movie", json::value("Arrival"), false}, "t", ""};
    auto renamed = wait_for<update_outcome>([&](auto done) { this->store->update(std::move(movie), done); });
    remover.join();
    EXPECT_TRUE(deleted) << seat;
    if (!price) {
      EXPECT_EQ(price.err().code, errc::not_found) << seat;
    }
    if (!renamed) {
      EXPECT_EQ(renamed.err().code, errc::not_found) << seat;
    }
    auto item = this->store->get(seat);
    ASSERT_TRUE(item);
    EXPECT_FALSE(*item) << seat << " came back: " << **item;
    // A price change that found no ticket leaves no event behind.
    auto events = this->raw(this->tables.events_table, "eventId");
    EXPECT_EQ(events.count(id), price ? 1u : 0u) << seat;
  }
}

TYPED_TEST(DynamoDBStore, ARedeliveryChangesNothingWhateverTheFirstOutcome) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":10})");
  ASSERT_TRUE(this->change_price("s", "8", "evt-1"));
  EXPECT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::applied);
  EXPECT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::duplicate);
  ASSERT_TRUE(this->change_price("s", "6", "evt-2"));
  EXPECT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::stale);  // no longer the latest change
  EXPECT_EQ(*this->metadata("s", "6", "evt-3"), price_change_outcome::stale);
  EXPECT_EQ(*this->metadata("s", "6", "evt-3"), price_change_outcome::stale);
  EXPECT_EQ(*this->metadata("gone", "6", "evt-4"), price_change_outcome::missing);
  EXPECT_EQ(*this->metadata("gone", "6", "evt-4"), price_change_outcome::missing);
  // Only the one applied handling recorded a PriceChangeProcessed.
  int processed = 0;
  for (auto& [id, e] : this->raw(this->tables.events_table, "eventId"))
    if (const json::value* type = e.find("eventType"); type && *type == json::value("PriceChangeProcessed"))
      ++processed;
  EXPECT_EQ(processed, 1);
}

TYPED_TEST(DynamoDBStore, ValuesKeepEveryDigitAndEveryType) {
  this->create(
      R"({"Theatre-Seat":"s","Movie":"Dune","Price":12345678901234567890.123456789012345678,)"
      R"("Tiny":1e-130,"Huge":9.99e125,"Nested":{"a":[0.10,{"b":-0}]},"Empty":["",{},[]],"None":null})");
  EXPECT_EQ(**this->store->get("s"),
            R"({"Theatre-Seat":"s","Movie":"Dune","Price":12345678901234567890.123456789012345678,)"
            R"("Tiny":1E-130,"Huge":9.99E+125,"Nested":{"a":[0.1,{"b":0}]},"Empty":["",{},[]],"None":null})");
}

// Names are placeholders in every expression: a dot or a reserved word is just a name.
TYPED_TEST(DynamoDBStore, AnyAttributeNameCanBeUpdated) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune"})");
  for (const char* name : {"Row.Number", "Size", "#x", ":v", "a b"}) {
    update_command cmd{{"s", name, json::value(true), false}, "t", ""};
    auto r = wait_for<update_outcome>([&](auto done) { this->store->update(std::move(cmd), done); });
    ASSERT_TRUE(r) << name << ": " << r.err().message;
  }
  EXPECT_EQ(
      **this->store->get("s"),
      R"({"Theatre-Seat":"s","Movie":"Dune","Row.Number":true,"Size":true,"#x":true,":v":true,"a b":true})");
}

TYPED_TEST(DynamoDBStore, ReadsWhatThePythonServiceWrote) {
  // Sets and binary, which the original service's boto3 could write and this one never does.
  boost::json::object item{{"Theatre-Seat", {{"S", "py"}}},
                           {"Movie", {{"S", "Dune"}}},
                           {"Tags", {{"SS", {"a", "b"}}}},
                           {"Rows", {{"NS", {"1.50"}}}},
                           {"Blob", {{"B", "AAE="}}}};
  must(this->client->call("PutItem", {{"TableName", this->tables.table}, {"Item", std::move(item)}}),
       "PutItem");
  auto text = **this->store->get("py");
  auto read = obj(text);
  EXPECT_EQ(*read.find("Rows"), json::value(json::array{json::value(*decimal::parse("1.5"))}));
  EXPECT_EQ(json::serialize(*read.find("Blob")), R"("AAE=")");
  EXPECT_EQ(read.find("Tags")->if_array()->size(), 2u);
  auto movies = this->store->movies();
  ASSERT_TRUE(movies);
  EXPECT_EQ(*movies, std::vector<std::string>{"Dune"});
}

TYPED_TEST(DynamoDBStore, ScanReadsEveryPageOfALargeTable) {
  // Over 1 MB: DynamoDB answers a Scan in pages of at most that.
  const std::string notes(100 * 1024, 'n');
  for (int i = 0; i < 14; ++i) {
    char seat[8];
    std::snprintf(seat, sizeof seat, "s%02d", i);
    this->create(std::string(R"({"Theatre-Seat":")") + seat + R"(","Movie":"M)" + std::to_string(i % 3) +
                 R"(","Notes":")" + notes + "\"}");
  }
  std::vector<std::string> seen;
  auto last =
      this->store->scan("s03", 100, [&](std::string_view item) { seen.push_back(seat_of(obj(item))); });
  ASSERT_TRUE(last);
  EXPECT_FALSE(*last);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.front(), "s04");
  EXPECT_EQ(seen.back(), "s13");
  EXPECT_EQ(*this->store->movies(), (std::vector<std::string>{"M0", "M1", "M2"}));
}

TYPED_TEST(DynamoDBStore, AnUnreachableTableIsAStoreFailure) {
  dynamodb::dynamodb_store missing(this->client, {"no-such-table", "no-such-table-events"});
  auto ping = missing.ping();
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.err().code, errc::internal);  // a missing table is no temporary failure
  auto created =
      wait_for<void>([&](auto done) { missing.create(obj(R"({"Theatre-Seat":"s","Movie":"M"})"), done); });
  ASSERT_FALSE(created);
  EXPECT_NE(created.err().code, errc::conflict);
  EXPECT_TRUE(this->store->ping());
}

// DynamoDB measures an item itself; its refusal reads as the core's size rule, and changes nothing.
TYPED_TEST(DynamoDBStore, AnUpdateOverTheItemSizeLimitIsRefused) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Notes":")" + std::string(300 * 1024, 'n') + "\"}");
  update_command cmd{{"s", "More", json::value(std::string(200 * 1024, 'm')), false}, "t", ""};
  auto r = wait_for<update_outcome>([&](auto done) { this->store->update(std::move(cmd), done); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::bad_request);
  EXPECT_EQ(r.err().message, "Item size exceeds the 400 KB limit");
  EXPECT_EQ(obj(**this->store->get("s")).find("More"), nullptr);
}

// moto checks every signature: a client with the wrong secret is refused, typed.
TEST(DynamoDBSigning, AWrongSecretIsRefused) {
  auto s = moto_backend::settings();
  s.credentials.secret_access_key = "wrong";
  dynamodb::dynamodb_client client(s);
  auto r = client.call("ListTables", boost::json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().http_status / 100, 4);
  EXPECT_FALSE(r.err().type.empty());
  EXPECT_EQ(r.err().to_error().code, errc::internal);
  EXPECT_TRUE(client_for<moto_backend>()->call("ListTables", boost::json::object()));
}

}  // namespace
}  // namespace tb::test
