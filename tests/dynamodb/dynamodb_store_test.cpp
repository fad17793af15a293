// The store contract on the DynamoDB adapter, against moto_server (dynalite has no
// TransactWriteItems, which every write here uses), plus what only this adapter promises: tables
// the original Python service can share, events in the outbox table, a movie catalog, pages.
// What a lost reply or a failed attempt does is tests/faults'.
#include "dynamodb/dynamodb_store.hpp"

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "dynamodb/attribute_value.hpp"
#include "dynamodb/backends.hpp"
#include "dynamodb/outbox_table.hpp"
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
        client, dynamodb::dynamodb_store::options{s.table, s.events_table, s.movies_table});
  }
};

// Not the races: moto's conditional writes are not atomic (its update_item reads the item,
// evaluates the condition and writes with no lock between), and dynalite has no transactions.
INSTANTIATE_TYPED_TEST_SUITE_P(DynamoDB, TicketStoreContract, ::testing::Types<dynamodb_adapter<moto_backend>>,
                               backend_names);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TicketStoreRaces);

namespace {

// A store on fresh tables, and raw access to those tables.
template <class Backend>
class DynamoDBStore : public ::testing::Test {
 protected:
  void SetUp() override {
    client = client_for<Backend>();
    tables = fresh_tables<Backend>(client);
    store = std::make_unique<dynamodb::dynamodb_store>(
        client, dynamodb::dynamodb_store::options{.table = tables.table,
                                                  .events_table = tables.events_table,
                                                  .movies_table = tables.movies_table,
                                                  .clock = &fixed});
  }

  // What the store's outbox times are made of.
  struct fixed_clock final : clock {
    std::chrono::system_clock::time_point now() override {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));  // 2027-01-15T08:00:00Z
    }
  } fixed;

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

TYPED_TEST_SUITE(DynamoDBStore, ::testing::Types<moto_backend>, backend_names);

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
  ASSERT_EQ(events.size(), 2u);  // the two events, nothing else
  const json::object& initiated = events["evt-1"];
  EXPECT_EQ(*initiated.find("eventType"), json::value("PriceChangeInitiated"));
  EXPECT_EQ(
      *initiated.find("event")->if_string(),
      R"({"eventType":"PriceChangeInitiated","eventId":"evt-1","theatreSeat":"s","movie":"Dune","oldPrice":10,)"
      R"("newPrice":8,"timestamp":"2026-01-01T00:00:00.000Z","updatedItem":{"Theatre-Seat":"s","Movie":"Dune",)"
      R"("Price":8,"PreviousPrice":10,"LastPriceChangeTimestamp":"2026-01-01T00:00:00.000Z",)"
      R"("LastPriceChangeEventId":"evt-1"}})");
  // Recorded at the store's clock's time, and expires (TTL) a week after.
  EXPECT_EQ(*initiated.find("recordedAt"), json::value("2027-01-15T08:00:00.000Z"));
  const auto week = std::chrono::duration_cast<std::chrono::seconds>(dynamodb::event_retention).count();
  EXPECT_EQ(json::serialize(*initiated.find("expiresAt")), std::to_string(1'800'000'000 + week));
  const json::object& processed = events[processed_event_id("evt-1")];
  EXPECT_EQ(*processed.find("eventType"), json::value("PriceChangeProcessed"));
  EXPECT_NE(processed.find("event")->if_string()->find(R"("causationId":"evt-1")"), std::string::npos);
}

TYPED_TEST(DynamoDBStore, ARedeliveryChangesNothingWhateverTheFirstOutcome) {
  this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":10})");
  ASSERT_TRUE(this->change_price("s", "8", "evt-1"));
  EXPECT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::applied);
  const std::string first = **this->store->get("s");
  EXPECT_EQ(*this->metadata("s", "8", "evt-1"), price_change_outcome::duplicate);
  EXPECT_EQ(**this->store->get("s"), first);
  ASSERT_TRUE(this->change_price("s", "6", "evt-2"));
  const std::string repriced = **this->store->get("s");
  auto late = this->metadata("s", "8", "evt-1");
  ASSERT_TRUE(late);
  EXPECT_NE(*late, price_change_outcome::applied);
  EXPECT_EQ(*this->metadata("s", "7", "evt-3"), price_change_outcome::stale);
  EXPECT_EQ(**this->store->get("s"), repriced);
  EXPECT_EQ(*this->metadata("gone", "6", "evt-4"), price_change_outcome::missing);
  EXPECT_FALSE(*this->store->get("gone"));  // nothing recreated
  // Only the one applied handling recorded a PriceChangeProcessed.
  int processed = 0;
  for (auto& [id, e] : this->raw(this->tables.events_table, "eventId"))
    if (const json::value* type = e.find("eventType"); type && *type == json::value("PriceChangeProcessed"))
      ++processed;
  EXPECT_EQ(processed, 1);
}

// Each movie's count moves in the ticket's own transaction; GET /movies reads the catalog only.
TYPED_TEST(DynamoDBStore, TheMovieCatalogCountsEachMoviesTickets) {
  this->create(R"({"Theatre-Seat":"1","Movie":"Dune"})");
  this->create(R"({"Theatre-Seat":"2","Movie":"Dune"})");
  this->create(R"({"Theatre-Seat":"3","Movie":"Arrival"})");
  this->create(R"({"Theatre-Seat":"4","Movie":""})");
  update_command rename{{"3", "Movie", json::value("Dune"), false}, "t", ""};
  ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { this->store->update(std::move(rename), done); }));
  ASSERT_TRUE(wait_for<json::object>([&](auto done) { this->store->remove("1", done); }));
  auto catalog = this->raw(this->tables.movies_table, "Movie");
  ASSERT_EQ(catalog.size(), 2u);
  EXPECT_EQ(*catalog["Dune"].find("tickets"), json::value(*decimal::parse("2")));
  EXPECT_EQ(*catalog["Arrival"].find("tickets"), json::value(decimal()));
  EXPECT_EQ(*this->store->movies(), std::vector<std::string>{"Dune"});
  // A refused create (the seat is taken) counts nothing.
  auto taken = wait_for<void>([&](auto done) { this->store->create(obj(R"({"Theatre-Seat":"2","Movie":"Dune"})"), done); });
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.err().code, errc::conflict);
  EXPECT_EQ(*this->raw(this->tables.movies_table, "Movie")["Dune"].find("tickets"), json::value(*decimal::parse("2")));
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
  // Its movie is not in the catalog: only this service's writes keep it (see the README).
  auto movies = this->store->movies();
  ASSERT_TRUE(movies);
  EXPECT_TRUE(movies->empty());
}

// One Scan page per call, in the table's order, each page's text bounded: a walk from page to page
// sees every item exactly once.
TYPED_TEST(DynamoDBStore, ScanPagesEndEarlyPastTheByteBudgetAndMissNothing) {
  const std::string notes(100 * 1024, 'n');
  constexpr int items = 30;  // 3 MB: more than one page's budget
  for (int i = 0; i < items; ++i) {
    char seat[8];
    std::snprintf(seat, sizeof seat, "s%02d", i);
    this->create(std::string(R"({"Theatre-Seat":")") + seat + R"(","Movie":"M)" + std::to_string(i % 3) +
                 R"(","Notes":")" + notes + "\"}");
  }
  std::multiset<std::string> seen;
  std::string after;
  int pages = 0;
  for (; pages < items; ++pages) {
    std::size_t bytes = 0;
    auto next = this->store->scan(after, dynamodb::listing_page_items, [&](std::string_view item) {
      bytes += item.size();
      seen.insert(seat_of(obj(item)));
    });
    ASSERT_TRUE(next) << next.err().message;
    EXPECT_LE(bytes, dynamodb::listing_page_bytes);
    if (!*next) break;
    after = **next;
  }
  EXPECT_GE(pages, 1);  // it took more than one page
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(items));
  for (const auto& seat : seen) EXPECT_EQ(seen.count(seat), 1u) << seat;
  EXPECT_EQ(*this->store->movies(), (std::vector<std::string>{"M0", "M1", "M2"}));
}

TYPED_TEST(DynamoDBStore, AnUnreachableTableIsAStoreFailure) {
  dynamodb::dynamodb_store missing(this->client, {"no-such-table", "no-such-table-events", "no-such-movies"});
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
