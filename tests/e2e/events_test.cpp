// The event-driven price-change flow through the real server: a PATCH of Price records
// PriceChangeInitiated with the write, the local bus hands it to priceChangeEventHandler, which
// sets the discount metadata and records PriceChangeProcessed. Also crash recovery (kill -9),
// staleness, deletes, the event log over HTTP and `ticket-booking events`, and the JSON logs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "e2e/harness.hpp"
#include "e2e/lambda_events.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;

// JSON helpers (object_of, raw, str, ...) come from e2e/harness.hpp.

bool is_uuid(const std::string& s) {
  static const std::regex uuid("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return std::regex_match(s, uuid);
}

bool is_utc_time(const std::string& s) {
  static const std::regex iso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$)");
  return std::regex_match(s, iso);
}

// ---- waiting ------------------------------------------------------------------------------

// Polls until `done` holds or the deadline passes; the result is what `done` last said.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// ---- the event log over HTTP --------------------------------------------------------------

struct logged {
  std::int64_t seq = 0;
  std::string status;
  json::object event;
  std::string type() const { return str(event, "eventType"); }
  std::string id() const { return str(event, "eventId"); }
  std::string seat() const { return str(event, "theatreSeat"); }
};

struct events_page {
  std::vector<logged> events;
  std::int64_t next_after = -1;
};

events_page read_page(const http_response& res) {
  if (res.status != 200) throw std::runtime_error("GET /events: " + std::to_string(res.status) + " " + res.body);
  json::object body = object_of(res.body);
  events_page page;
  page.next_after = std::stoll(raw(body, "nextAfter"));
  const json::value* list = body.find("events");
  if (!list || !list->if_array()) throw std::runtime_error("no events array: " + res.body);
  for (const auto& v : *list->if_array()) {
    const json::object& o = *v.if_object();
    page.events.push_back({std::stoll(raw(o, "seq")), str(o, "status"), member_object(o, "event")});
  }
  return page;
}

// Every event, page by page.
std::vector<logged> all_events(unsigned short port) {
  std::vector<logged> out;
  std::int64_t after = 0;
  for (;;) {
    auto page = read_page(get(port, "/events?limit=1000&after=" + std::to_string(after)));
    if (page.events.empty()) return out;
    for (auto& e : page.events) out.push_back(std::move(e));
    after = page.next_after;
  }
}

bool none_pending(const std::vector<logged>& events) {
  for (const auto& e : events)
    if (e.status == "pending") return false;
  return true;
}

// Nothing left for the bus to do: a handled PriceChangeInitiated is marked delivered only after
// its PriceChangeProcessed was committed, so no pending event means every change went through.
std::vector<logged> settled_events(unsigned short port, std::chrono::milliseconds limit = 5000ms) {
  std::vector<logged> events;
  bool settled = eventually([&] {
    events = all_events(port);
    return none_pending(events);
  }, limit);
  EXPECT_TRUE(settled) << "events still pending after the deadline";
  return events;
}

std::vector<logged> of_type(const std::vector<logged>& events, std::string_view type, const std::string& seat = "") {
  std::vector<logged> out;
  for (const auto& e : events)
    if (e.type() == type && (seat.empty() || e.seat() == seat)) out.push_back(e);
  return out;
}

// ---- tickets ------------------------------------------------------------------------------

std::string ticket_body(const std::string& seat, const std::string& price) {
  return "{\"Theatre-Seat\":" + json_string(seat) + ",\"Movie\":\"Dune\",\"Price\":" + price + "}";
}

std::string price_patch(const std::string& seat, const std::string& price) {
  return "{\"Theatre-Seat\":" + json_string(seat) + ",\"updateKey\":\"Price\",\"updateValue\":" + price + "}";
}

std::string ticket_target(const std::string& seat) { return "/ticket?Theatre-Seat=" + seat; }

json::object ticket(unsigned short port, const std::string& seat) {
  auto res = get(port, ticket_target(seat));
  if (res.status != 200) throw std::runtime_error("GET " + seat + ": " + std::to_string(res.status) + " " + res.body);
  return object_of(res.body);
}

struct expected_metadata {
  std::string price, previous, discount;
  bool discounted;
};

bool has_metadata(const json::object& item, const expected_metadata& m) {
  return raw(item, "Price") == m.price && raw(item, "PreviousPrice") == m.previous &&
         raw(item, "DiscountPercentage") == m.discount &&
         raw(item, "IsDiscounted") == (m.discounted ? "true" : "false") &&
         is_utc_time(str(item, "LastPriceChangeTimestamp"));
}

std::string describe(const json::object& item) { return json::serialize(json::value(item)); }

// Every PriceChangeProcessed answers one PriceChangeInitiated, and none is answered twice.
// Returns, per initiating eventId, how many PriceChangeProcessed name it as their cause.
std::map<std::string, int> processed_per_cause(const std::vector<logged>& events) {
  std::map<std::string, int> per_cause;
  std::set<std::string> initiated;
  for (const auto& e : of_type(events, "PriceChangeInitiated")) initiated.insert(e.id());
  for (const auto& e : of_type(events, "PriceChangeProcessed")) {
    std::string cause = str(e.event, "causationId");
    EXPECT_TRUE(initiated.count(cause)) << "PriceChangeProcessed for an unknown cause " << cause;
    ++per_cause[cause];
  }
  for (const auto& [cause, n] : per_cause) EXPECT_EQ(n, 1) << "processed " << n << " times: " << cause;
  return per_cause;
}

// PATCHes the prices from several keep-alive clients at once, so the bus has a backlog; the
// replies come back in the order of `changes` (status 0 when the exchange itself failed).
std::vector<http_response> patch_concurrently(unsigned short port,
                                              const std::vector<std::pair<std::string, std::string>>& changes,
                                              std::size_t clients = 4) {
  std::vector<http_response> replies(changes.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      try {
        http_client client(port);
        for (std::size_t i = t; i < changes.size(); i += clients)
          replies[i] = client.send("PATCH", "/ticket", price_patch(changes[i].first, changes[i].second));
      } catch (const std::exception& e) {
        for (std::size_t i = t; i < changes.size(); i += clients)
          if (replies[i].status == 0) replies[i].body = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return replies;
}

// ---- (1) the happy path -------------------------------------------------------------------

TEST(PriceChangeEvents, PriceDropSetsDiscountMetadataAndRecordsBothEvents) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("1-A9", "15.99")).status, 201);
  auto patched = request(server.port(), "PATCH", "/ticket", price_patch("1-A9", "12.99"));
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(raw(object_of(patched.body), "priceChangeEventPublished"), "true");

  auto events = settled_events(server.port());
  auto initiated = of_type(events, "PriceChangeInitiated", "1-A9");
  auto processed = of_type(events, "PriceChangeProcessed", "1-A9");
  ASSERT_EQ(initiated.size(), 1u);
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(events.size(), 2u);

  // The ticket, as raw text: exact decimals, no binary floating point on the way.
  auto res = get(server.port(), ticket_target("1-A9"));
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("\"DiscountPercentage\":18.76"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"IsDiscounted\":true"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"PreviousPrice\":15.99"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"Price\":12.99"), std::string::npos) << res.body;
  json::object item = object_of(res.body);
  EXPECT_TRUE(has_metadata(item, {"12.99", "15.99", "18.76", true})) << res.body;

  const logged& in = initiated[0];
  const logged& out = processed[0];
  EXPECT_EQ(in.status, "delivered");
  EXPECT_EQ(out.status, "delivered");
  EXPECT_LT(in.seq, out.seq);

  for (auto key : {"eventType", "eventId", "theatreSeat", "movie", "oldPrice", "newPrice", "timestamp", "updatedItem"})
    EXPECT_TRUE(in.event.contains(key)) << "PriceChangeInitiated lacks " << key;
  EXPECT_TRUE(is_uuid(in.id())) << in.id();
  EXPECT_EQ(str(in.event, "theatreSeat"), "1-A9");
  EXPECT_EQ(str(in.event, "movie"), "Dune");
  EXPECT_EQ(raw(in.event, "oldPrice"), "15.99");
  EXPECT_EQ(raw(in.event, "newPrice"), "12.99");
  EXPECT_TRUE(is_utc_time(str(in.event, "timestamp"))) << str(in.event, "timestamp");
  json::object in_item = member_object(in.event, "updatedItem");
  EXPECT_EQ(raw(in_item, "Theatre-Seat"), "\"1-A9\"");
  EXPECT_EQ(raw(in_item, "Price"), "12.99");
  EXPECT_EQ(raw(in_item, "PreviousPrice"), "15.99");

  for (auto key : {"eventType", "eventId", "causationId", "theatreSeat", "movie", "finalPrice",
                   "priceChangeTimestamp", "isDiscounted", "discountPercentage", "processedAt", "updatedItem"})
    EXPECT_TRUE(out.event.contains(key)) << "PriceChangeProcessed lacks " << key;
  EXPECT_TRUE(is_uuid(out.id())) << out.id();
  EXPECT_NE(out.id(), in.id());
  EXPECT_EQ(str(out.event, "causationId"), in.id());
  EXPECT_EQ(str(out.event, "theatreSeat"), "1-A9");
  EXPECT_EQ(str(out.event, "movie"), "Dune");
  EXPECT_EQ(raw(out.event, "finalPrice"), "12.99");
  EXPECT_EQ(str(out.event, "priceChangeTimestamp"), str(in.event, "timestamp"));
  EXPECT_EQ(raw(out.event, "isDiscounted"), "true");
  EXPECT_EQ(raw(out.event, "discountPercentage"), "18.76");
  EXPECT_TRUE(is_utc_time(str(out.event, "processedAt"))) << str(out.event, "processedAt");
  json::object out_item = member_object(out.event, "updatedItem");
  EXPECT_TRUE(has_metadata(out_item, {"12.99", "15.99", "18.76", true})) << describe(out_item);
  EXPECT_EQ(out_item, item) << "the event's updatedItem is the ticket as written";

  EXPECT_EQ(server.terminate(), 0);
}

// serve handles a price change in the change's own transaction: a read sent as soon as the PATCH is
// answered has its discount, even while other clients keep the writer busy.
TEST(PriceChangeEvents, TheDiscountIsReadableAsSoonAsThePatchIsAnswered) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  constexpr int clients = 8, rounds = 25;
  for (int c = 0; c < clients; ++c)
    ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("R-" + std::to_string(c), "100")).status, 201);
  std::atomic<int> answered{0};
  std::vector<std::string> misses[clients];
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      const std::string seat = "R-" + std::to_string(c);
      try {
        http_client client(server.port());
        for (int i = 0; i < rounds; ++i) {
          const std::string price = std::to_string(99 - i);  // a discount from the last price
          if (client.send("PATCH", "/ticket", price_patch(seat, price)).status != 200) continue;
          ++answered;
          auto res = client.send("GET", ticket_target(seat));
          if (res.body.find("\"Price\":" + price + ",") == std::string::npos ||
              res.body.find("\"DiscountPercentage\"") == std::string::npos)
            misses[c].push_back(res.body);
        }
      } catch (const std::exception& e) {
        misses[c].push_back(e.what());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), clients * rounds);
  for (const auto& m : misses) EXPECT_TRUE(m.empty()) << m.size() << " reads without the discount, first: " << m.front();
  EXPECT_TRUE(none_pending(all_events(server.port())));
}

TEST(PriceChangeEvents, PriceRiseIsNotADiscount) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("2-B1", "10")).status, 201);
  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", price_patch("2-B1", "12.50")).status, 200);

  auto events = settled_events(server.port());
  auto processed = of_type(events, "PriceChangeProcessed", "2-B1");
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(raw(processed[0].event, "isDiscounted"), "false");
  EXPECT_EQ(raw(processed[0].event, "discountPercentage"), "0");
  EXPECT_EQ(raw(processed[0].event, "finalPrice"), "12.5");

  auto res = get(server.port(), ticket_target("2-B1"));
  EXPECT_NE(res.body.find("\"DiscountPercentage\":0"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"IsDiscounted\":false"), std::string::npos) << res.body;
  EXPECT_TRUE(has_metadata(object_of(res.body), {"12.5", "10", "0", false})) << res.body;
}

// ---- (2) crash recovery -------------------------------------------------------------------

// Old price 20, new 20 - k/10: the discount is k/2 percent exactly. Every fifth one is a rise.
expected_metadata expected_for(int k) {
  if (k % 5 == 0) return {std::to_string(20 + k), "20", "0", false};
  int tenths = (200 - k) % 10;
  std::string price = std::to_string((200 - k) / 10) + (tenths ? "." + std::to_string(tenths) : "");
  std::string discount = std::to_string(k / 2) + (k % 2 ? ".5" : "");
  return {price, "20", discount, true};
}

TEST(PriceChangeEvents, EveryAcknowledgedChangeIsProcessedOnceAfterKill9) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  constexpr int tickets = 40;
  auto seat = [](int k) { return "3-C" + std::to_string(k); };
  {
    server_process server(data);
    http_client client(server.port());
    for (int k = 1; k <= tickets; ++k)
      ASSERT_EQ(client.send("POST", "/ticket", ticket_body(seat(k), "20")).status, 201);
    std::vector<std::pair<std::string, std::string>> changes;
    for (int k = 1; k <= tickets; ++k) changes.emplace_back(seat(k), expected_for(k).price);
    auto replies = patch_concurrently(server.port(), changes);
    server.kill9();  // right after the last 200: the bus is still at work
    for (const auto& r : replies) {
      ASSERT_EQ(r.status, 200) << r.body;
      ASSERT_EQ(raw(object_of(r.body), "priceChangeEventPublished"), "true");
    }
  }
  server_process server(data);
  bool all_applied = eventually([&] {
    for (int k = 1; k <= tickets; ++k)
      if (!has_metadata(ticket(server.port(), seat(k)), expected_for(k))) return false;
    return true;
  }, 10'000ms);
  EXPECT_TRUE(all_applied);
  for (int k = 1; k <= tickets; ++k) {
    auto item = ticket(server.port(), seat(k));
    EXPECT_TRUE(has_metadata(item, expected_for(k))) << describe(item);
  }

  auto events = settled_events(server.port(), 10'000ms);
  auto initiated = of_type(events, "PriceChangeInitiated");
  EXPECT_EQ(initiated.size(), static_cast<std::size_t>(tickets));
  auto per_cause = processed_per_cause(events);
  for (const auto& e : initiated) EXPECT_EQ(per_cause[e.id()], 1) << "initiated " << e.id() << " for " << e.seat();
  for (const auto& e : events) EXPECT_EQ(e.status, "delivered") << e.seq;
  EXPECT_EQ(server.terminate(), 0);
}

TEST(PriceChangeEvents, RepeatedKill9WhilePatchingNeverProcessesAnEventTwice) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  constexpr int tickets = 15;
  constexpr int cycles = 5;
  auto seat = [](int k) { return "4-D" + std::to_string(k); };
  // Cycle c sets ticket k to (c + 1) * 100 + k: every price distinct, always rising.
  auto price = [](int c, int k) { return std::to_string((c + 1) * 100 + k); };
  {
    server_process server(data);
    http_client client(server.port());
    for (int k = 1; k <= tickets; ++k)
      ASSERT_EQ(client.send("POST", "/ticket", ticket_body(seat(k), "5")).status, 201);
  }
  for (int c = 1; c <= cycles; ++c) {
    server_process server(data);
    std::vector<std::pair<std::string, std::string>> changes;
    for (int k = 1; k <= tickets; ++k) changes.emplace_back(seat(k), price(c, k));
    auto replies = patch_concurrently(server.port(), changes);
    server.kill9();
    for (const auto& r : replies) ASSERT_EQ(r.status, 200) << "cycle " << c << ": " << r.body;
  }

  server_process server(data);
  auto events = settled_events(server.port(), 10'000ms);
  auto per_cause = processed_per_cause(events);  // at most once each
  auto initiated = of_type(events, "PriceChangeInitiated");
  EXPECT_EQ(initiated.size(), static_cast<std::size_t>(tickets * cycles));
  for (int k = 1; k <= tickets; ++k) {
    // The last change of each ticket is never stale: it must have been processed exactly once.
    auto mine = of_type(events, "PriceChangeInitiated", seat(k));
    ASSERT_FALSE(mine.empty());
    EXPECT_EQ(per_cause[mine.back().id()], 1) << seat(k);
    auto item = ticket(server.port(), seat(k));
    EXPECT_TRUE(has_metadata(item, {price(cycles, k), price(cycles - 1, k), "0", false})) << describe(item);
  }
  for (const auto& e : events) EXPECT_EQ(e.status, "delivered") << e.seq;
}

// ---- (3) staleness ------------------------------------------------------------------------

TEST(PriceChangeEvents, AnOlderChangeNeverOverwritesTheMetadataOfANewerOne) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  constexpr int tickets = 20;
  auto seat = [](int k) { return "5-E" + std::to_string(k); };
  http_client client(server.port());
  for (int k = 1; k <= tickets; ++k)
    ASSERT_EQ(client.send("POST", "/ticket", ticket_body(seat(k), "20")).status, 201);
  // a -> b -> c back to back: 20 -> 16 (a 20% drop) -> 12 (25% off 16).
  for (int k = 1; k <= tickets; ++k) {
    ASSERT_EQ(client.send("PATCH", "/ticket", price_patch(seat(k), "16")).status, 200);
    ASSERT_EQ(client.send("PATCH", "/ticket", price_patch(seat(k), "12")).status, 200);
  }
  auto events = settled_events(server.port());
  processed_per_cause(events);
  for (int k = 1; k <= tickets; ++k) {
    auto item = ticket(server.port(), seat(k));
    EXPECT_TRUE(has_metadata(item, {"12", "16", "25", true})) << describe(item);
    auto initiated = of_type(events, "PriceChangeInitiated", seat(k));
    ASSERT_EQ(initiated.size(), 2u);
    auto processed = of_type(events, "PriceChangeProcessed", seat(k));
    ASSERT_FALSE(processed.empty());
    // The last word on the ticket belongs to the last change.
    EXPECT_EQ(str(processed.back().event, "causationId"), initiated[1].id());
    EXPECT_EQ(raw(processed.back().event, "discountPercentage"), "25");
  }
}

// The issue's ABA through the running server: 10 -> 8 -> 12 -> 8, then the first change's event
// comes back late (a redelivery, handed to priceChangeEventHandler under a fresh MessageId, with
// and without its eventId). Its newPrice is the ticket's Price again, but it is not the latest
// change: stale, and the ticket keeps the metadata of 12 -> 8.
TEST(PriceChangeEvents, ALateEventOfAnEarlierChangeToTheSamePriceIsStale) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  server_process server(data);
  http_client client(server.port());
  ASSERT_EQ(client.send("POST", "/ticket", ticket_body("7-G1", "10")).status, 201);
  for (const char* price : {"8", "12", "8"})
    ASSERT_EQ(client.send("PATCH", "/ticket", price_patch("7-G1", price)).status, 200);
  auto events = settled_events(server.port());
  auto initiated = of_type(events, "PriceChangeInitiated", "7-G1");
  ASSERT_EQ(initiated.size(), 3u);
  const auto latest = ticket(server.port(), "7-G1");
  ASSERT_TRUE(has_metadata(latest, {"8", "12", "33.33", true})) << describe(latest);

  json::object late = initiated[0].event;
  const std::string with_id = json::serialize(json::value(late));
  late.erase("eventId");
  const std::string without_id = json::serialize(json::value(late));
  for (const auto& [message, message_id] : {std::pair{with_id, "late-1"}, std::pair{without_id, "late-2"}}) {
    auto r = run_cli({"invoke", "priceChangeEventHandler", "--data", sns_event(message, message_id), "--data-dir",
                      data.string()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(R"("outcome":"stale")"), std::string::npos) << r.out;
  }
  EXPECT_EQ(describe(ticket(server.port(), "7-G1")), describe(latest));
  EXPECT_EQ(of_type(all_events(server.port()), "PriceChangeProcessed", "7-G1").size(), 3u);
}

// ---- (4) delete right after a price change ------------------------------------------------

TEST(PriceChangeEvents, ADeletedTicketStaysDeletedAfterItsPriceChange) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  constexpr int tickets = 10;
  auto seat = [](int k) { return "6-F" + std::to_string(k); };
  auto delete_body = [](const std::string& s) { return "{\"Theatre-Seat\":" + json_string(s) + "}"; };
  {
    server_process server(data);
    http_client client(server.port());
    for (int k = 1; k <= 2 * tickets; ++k)
      ASSERT_EQ(client.send("POST", "/ticket", ticket_body(seat(k), "20")).status, 201);
    for (int k = 1; k <= tickets; ++k) {
      ASSERT_EQ(client.send("PATCH", "/ticket", price_patch(seat(k), "15")).status, 200);
      ASSERT_EQ(client.send("DELETE", "/ticket", delete_body(seat(k))).status, 200);
    }
    settled_events(server.port());
    for (int k = 1; k <= tickets; ++k) EXPECT_EQ(get(server.port(), ticket_target(seat(k))).status, 404) << seat(k);
    // And with the bus cut off before it can handle the change: it meets the delete on restart.
    for (int k = tickets + 1; k <= 2 * tickets; ++k) {
      ASSERT_EQ(client.send("PATCH", "/ticket", price_patch(seat(k), "15")).status, 200);
      ASSERT_EQ(client.send("DELETE", "/ticket", delete_body(seat(k))).status, 200);
    }
    server.kill9();
  }
  server_process server(data);
  auto events = settled_events(server.port());
  for (int k = 1; k <= 2 * tickets; ++k) {
    auto res = get(server.port(), ticket_target(seat(k)));
    EXPECT_EQ(res.status, 404) << seat(k) << ": " << res.body;
  }
  EXPECT_EQ(get(server.port(), "/tickets").body, "{\"tickets\":[]}");
  EXPECT_EQ(of_type(events, "PriceChangeInitiated").size(), static_cast<std::size_t>(2 * tickets));
  processed_per_cause(events);
}

// ---- (5) GET /events paging ---------------------------------------------------------------

TEST(EventLog, PagesWithAfterLimitAndNextAfter) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  constexpr int tickets = 60;  // 60 changes on distinct tickets: 120 events
  http_client client(server.port());
  for (int k = 1; k <= tickets; ++k)
    ASSERT_EQ(client.send("POST", "/ticket", ticket_body("7-G" + std::to_string(k), "20")).status, 201);
  for (int k = 1; k <= tickets; ++k)
    ASSERT_EQ(client.send("PATCH", "/ticket", price_patch("7-G" + std::to_string(k), "10")).status, 200);
  auto all = settled_events(server.port());
  ASSERT_EQ(all.size(), 2u * tickets);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, static_cast<std::int64_t>(i + 1));

  // Default: the first 100.
  auto first = read_page(get(server.port(), "/events"));
  ASSERT_EQ(first.events.size(), 100u);
  EXPECT_EQ(first.events.front().seq, 1);
  EXPECT_EQ(first.next_after, 100);

  // Small pages, followed by nextAfter, give every event once and in order.
  std::vector<logged> paged;
  std::int64_t after = 0;
  for (int guard = 0; guard < 100; ++guard) {
    auto page = read_page(get(server.port(), "/events?after=" + std::to_string(after) + "&limit=7"));
    EXPECT_LE(page.events.size(), 7u);
    if (page.events.empty()) {
      EXPECT_EQ(page.next_after, after) << "an empty page keeps the position";
      break;
    }
    EXPECT_EQ(page.next_after, page.events.back().seq);
    for (auto& e : page.events) paged.push_back(std::move(e));
    after = page.next_after;
  }
  ASSERT_EQ(paged.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(paged[i].seq, all[i].seq);
    EXPECT_EQ(paged[i].event, all[i].event);
  }

  auto middle = read_page(get(server.port(), "/events?after=50&limit=1"));
  ASSERT_EQ(middle.events.size(), 1u);
  EXPECT_EQ(middle.events[0].seq, 51);
  EXPECT_EQ(middle.next_after, 51);
  auto big = read_page(get(server.port(), "/events?limit=1000&after=0"));
  EXPECT_EQ(big.events.size(), all.size());
  auto beyond = get(server.port(), "/events?after=1000000");
  EXPECT_EQ(beyond.status, 200);
  EXPECT_EQ(beyond.body, "{\"events\":[],\"nextAfter\":1000000}");

  for (std::string query : {"after=-1", "after=abc", "after=1.5", "after=1e3", "after=99999999999999999999999",
                            "limit=0", "limit=1001", "limit=-5", "limit=abc", "limit=10x", "after=0&limit=0"}) {
    auto res = get(server.port(), "/events?" + query);
    EXPECT_EQ(res.status, 400) << query << ": " << res.body;
    EXPECT_EQ(res.header("content-type"), "application/json") << query;
    EXPECT_EQ(res.header("access-control-allow-origin"), "*") << query;
    EXPECT_TRUE(object_of(res.body).contains("error")) << query << ": " << res.body;
  }
}

// ---- (6) `ticket-booking events` ----------------------------------------------------------

// The CLI's lines, as (seq, status, event) in the order printed.
std::vector<logged> parse_cli_events(const std::string& out) {
  std::vector<logged> events;
  for (const auto& line : lines_of(out)) {
    json::object o = object_of(line);
    events.push_back({std::stoll(raw(o, "seq")), str(o, "status"), member_object(o, "event")});
  }
  return events;
}

void expect_same_events(const std::vector<logged>& cli, const std::vector<logged>& http) {
  ASSERT_EQ(cli.size(), http.size());
  for (std::size_t i = 0; i < cli.size(); ++i) {
    EXPECT_EQ(cli[i].seq, http[i].seq);
    EXPECT_EQ(cli[i].status, http[i].status);
    EXPECT_EQ(cli[i].event, http[i].event) << "seq " << http[i].seq;
  }
}

TEST(EventsCommand, PrintsOneJsonLinePerEventInOrderWhileRunningAndAfterStop) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  auto server = std::make_unique<server_process>(data);
  http_client client(server->port());
  ASSERT_EQ(client.send("POST", "/ticket", ticket_body("8-H1", "15.99")).status, 201);
  ASSERT_EQ(client.send("POST", "/ticket", ticket_body("8-H2", "9")).status, 201);
  ASSERT_EQ(client.send("PATCH", "/ticket", price_patch("8-H1", "12.99")).status, 200);
  ASSERT_EQ(client.send("PATCH", "/ticket", price_patch("8-H2", "10")).status, 200);
  auto http = settled_events(server->port());
  ASSERT_EQ(http.size(), 4u);

  // While the server runs (WAL lets a second process read).
  auto running = run_cli({"events", "--data-dir", data.string()});
  EXPECT_EQ(running.status, 0) << running.err;
  for (const auto& line : lines_of(running.out)) EXPECT_NO_THROW(object_of(line)) << line;
  expect_same_events(parse_cli_events(running.out), http);
  // Byte for byte the entries of GET /events, in the same field order.
  const std::string listed = get(server->port(), "/events").body;
  for (const auto& line : lines_of(running.out)) EXPECT_NE(listed.find(line), std::string::npos) << line;

  auto after = run_cli({"events", "--after", "2", "--data-dir", data.string()});
  EXPECT_EQ(after.status, 0) << after.err;
  auto tail = parse_cli_events(after.out);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].seq, 3);
  EXPECT_EQ(tail[1].seq, 4);

  // After a clean stop.
  EXPECT_EQ(server->terminate(), 0);
  auto stopped = run_cli({"events", "--data-dir", data.string()});
  EXPECT_EQ(stopped.status, 0) << stopped.err;
  expect_same_events(parse_cli_events(stopped.out), http);

  // After kill -9 too: the WAL is recovered by the reader.
  server = std::make_unique<server_process>(data);
  ASSERT_EQ(request(server->port(), "PATCH", "/ticket", price_patch("8-H1", "11")).status, 200);
  http = settled_events(server->port());
  server->kill9();
  auto killed = run_cli({"events", "--data-dir", data.string()});
  EXPECT_EQ(killed.status, 0) << killed.err;
  expect_same_events(parse_cli_events(killed.out), http);

  auto missing = run_cli({"events", "--data-dir", (dir.path() / "nowhere").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("no data"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "nowhere"));
  auto bad_after = run_cli({"events", "--after", "x", "--data-dir", data.string()});
  EXPECT_EQ(bad_after.status, 2) << bad_after.err;
}

TEST(EventsCommand, FollowPrintsAnEventRecordedLater) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  server_process server(data);
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("9-J1", "15.99")).status, 201);
  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", price_patch("9-J1", "14")).status, 200);
  auto before = settled_events(server.port());
  ASSERT_EQ(before.size(), 2u);

  child_process follow({.args = {binary_path(), "events", "--follow", "--data-dir", data.string()},
                        .output = dir.path() / "follow.out",
                        .errors = "/dev/null"});
  EXPECT_TRUE(eventually([&] { return lines_of(follow.output()).size() >= before.size(); }))
      << "follow did not print the existing events: " << follow.output();

  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", price_patch("9-J1", "12.99")).status, 200);
  auto now = settled_events(server.port());
  ASSERT_EQ(now.size(), 4u);
  const std::string new_id = now[2].id();
  ASSERT_EQ(now[2].type(), "PriceChangeInitiated");

  EXPECT_TRUE(eventually([&] { return follow.output().find(new_id) != std::string::npos; }))
      << "follow did not print the new event " << new_id << ": " << follow.output();
  follow.kill9();

  // Printed in order, each event once. A line cut short by the kill is not counted.
  std::string out = follow.output();
  out.erase(out.find_last_of('\n') + 1);
  auto printed = parse_cli_events(out);
  ASSERT_GE(printed.size(), 3u);
  for (std::size_t i = 0; i < printed.size(); ++i) EXPECT_EQ(printed[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(printed[2].id(), new_id);
}

// ---- (7) logs -----------------------------------------------------------------------------

TEST(EventServerLog, IsJsonLinesAndNamesTheHandledEvent) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  ASSERT_EQ(request(server.port(), "POST", "/ticket", ticket_body("10-K1", "15.99")).status, 201);
  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", price_patch("10-K1", "12.99")).status, 200);
  auto events = settled_events(server.port());
  auto initiated = of_type(events, "PriceChangeInitiated", "10-K1");
  ASSERT_EQ(initiated.size(), 1u);
  const std::string id = initiated[0].id();
  EXPECT_EQ(server.terminate(), 0);

  const std::string log = server.log();
  int handled_lines = 0;
  for (const auto& line : lines_of(log)) {
    json::object entry;
    ASSERT_NO_THROW(entry = object_of(line)) << "not a JSON line: " << line;
    EXPECT_TRUE(is_utc_time(str(entry, "time"))) << line;
    EXPECT_TRUE(entry.contains("level")) << line;
    EXPECT_TRUE(entry.contains("msg")) << line;
    if (str(entry, "msg").find("price change") != std::string::npos) {
      EXPECT_EQ(str(entry, "eventId"), id) << line;
      ++handled_lines;
      EXPECT_EQ(str(entry, "outcome"), "applied") << line;
    }
  }
  EXPECT_EQ(handled_lines, 1) << log;
}

}  // namespace
}  // namespace tb::test
