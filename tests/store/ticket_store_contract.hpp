// The ticket_store contract: every adapter (SQLite, DynamoDB on moto and dynalite) runs these same
// cases. An adapter's test file provides store_traits<Adapter>::make() and instantiates the
// suite, and TicketStoreRaces where its backend makes conditional writes atomic (not moto's).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "core/ports.hpp"
#include "store/store_test_util.hpp"

namespace tb::test {

template <class Adapter>
struct store_traits;  // static std::unique_ptr<ticket_store> make();

template <class Adapter>
class TicketStoreContract : public ::testing::Test {
 protected:
  void SetUp() override { store = store_traits<Adapter>::make(); }

  result<void> create(std::string_view text) {
    return wait_for<void>([&](auto done) { store->create(obj(text), done); });
  }
  result<update_outcome> update(ticket_update u, std::string event_id = "evt-1") {
    update_command cmd{std::move(u), "2026-01-01T00:00:00.000Z", std::move(event_id)};
    return wait_for<update_outcome>([&](auto done) { store->update(std::move(cmd), done); });
  }
  result<json::object> remove(std::string seat) {
    return wait_for<json::object>([&](auto done) { store->remove(std::move(seat), done); });
  }
  // A PriceChangeInitiated as the bus delivers it: with its eventId (`identified`), or without
  // (the original service's), `id` then standing in.
  result<price_change_outcome> metadata(std::string seat, std::string_view new_price, std::string id,
                                        std::string_view old_price = "15.99", bool identified = true) {
    price_change_event e;
    e.event_id = std::move(id);
    e.identified = identified;
    e.seat = std::move(seat);
    e.old_price = *decimal::parse(old_price);
    e.new_price = *decimal::parse(new_price);
    e.timestamp = "2026-01-01T00:00:00.000Z";
    metadata_command cmd{std::move(e), "2026-01-01T00:00:01.000Z", {}};
    cmd.processed_event_id = processed_event_id(cmd.event.event_id);
    return wait_for<price_change_outcome>([&](auto done) { store->apply_price_metadata(std::move(cmd), done); });
  }
  std::string get(std::string_view seat) {
    auto r = store->get(seat);
    EXPECT_TRUE(r);
    return r && *r ? **r : std::string("<none>");
  }
  static ticket_update price(std::string seat, std::string_view p) {
    return {std::move(seat), "Price", json::value(*decimal::parse(p)), true};
  }

  std::unique_ptr<ticket_store> store;
};

TYPED_TEST_SUITE_P(TicketStoreContract);

TYPED_TEST_P(TicketStoreContract, CreateThenGetReturnsCanonicalJson) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.990,"Tags":["a",1e2]})"));
  EXPECT_EQ(this->get("1-A9"), R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99,"Tags":["a",100]})");
  EXPECT_EQ(this->get("1-A1"), "<none>");
}

TYPED_TEST_P(TicketStoreContract, CreateOfATakenSeatConflictsAndKeepsTheFirst) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune"})"));
  auto second = this->create(R"({"Theatre-Seat":"1-A9","Movie":"Other"})");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.err().code, errc::conflict);
  EXPECT_EQ(second.err().message, "Ticket already exists");
  EXPECT_EQ(this->get("1-A9"), R"({"Theatre-Seat":"1-A9","Movie":"Dune"})");
}

TYPED_TEST_P(TicketStoreContract, UpdateOfAnAttributeReturnsOldAndNew) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune"})"));
  auto r = this->update({"1-A9", "Movie", json::value("Arrival"), false});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::serialize(r->old_item), R"({"Theatre-Seat":"1-A9","Movie":"Dune"})");
  EXPECT_EQ(json::serialize(r->new_item), R"({"Theatre-Seat":"1-A9","Movie":"Arrival"})");
  EXPECT_FALSE(r->event_recorded);
  EXPECT_EQ(this->get("1-A9"), R"({"Theatre-Seat":"1-A9","Movie":"Arrival"})");
}

TYPED_TEST_P(TicketStoreContract, UpdateOfAMissingSeatIsNotFoundAndCreatesNothing) {
  auto r = this->update({"ghost", "Movie", json::value("X"), false});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::not_found);
  EXPECT_EQ(this->get("ghost"), "<none>");
}

TYPED_TEST_P(TicketStoreContract, PriceChangeSetsPreviousPriceAndRecordsItsEvent) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"));
  auto r = this->update(this->price("1-A9", "12.99"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->event_recorded);
  const std::string stored =
      R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"2026-01-01T00:00:00.000Z","LastPriceChangeEventId":"evt-1"})";
  EXPECT_EQ(this->get("1-A9"), stored);
  EXPECT_EQ(r->new_item_json, stored);
}

TYPED_TEST_P(TicketStoreContract, RemoveReturnsTheItemOnce) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune"})"));
  auto r = this->remove("1-A9");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::serialize(*r), R"({"Theatre-Seat":"1-A9","Movie":"Dune"})");
  auto again = this->remove("1-A9");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().code, errc::not_found);
  EXPECT_EQ(this->get("1-A9"), "<none>");
}

TYPED_TEST_P(TicketStoreContract, ScanPagesInSeatOrderAndSaysWhenMoreRemain) {
  for (auto seat : {"b", "a", "c", "B", "aa"})
    ASSERT_TRUE(this->create(std::string(R"({"Theatre-Seat":")") + seat + R"(","Movie":"M"})"));
  std::vector<std::string> seen;
  std::string after;
  auto collect = [&](std::string_view item) { seen.push_back(seat_of(obj(item))); };
  for (int pages = 0; pages < 10; ++pages) {
    auto last = this->store->scan(after, 2, collect);
    ASSERT_TRUE(last);
    if (!*last) break;
    EXPECT_EQ(**last, seen.back());
    after = **last;
  }
  // Byte order; a store paging in its own order (DynamoDB) still visits each once.
  if (this->store->listing_page()) std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"B", "a", "aa", "b", "c"}));
  seen.clear();
  auto exact = this->store->scan("", 5, collect);
  ASSERT_TRUE(exact);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_FALSE(*exact);  // nothing after the fifth
  if (this->store->listing_page()) return;  // no "after the last seat" in the store's own order
  seen.clear();
  auto none = this->store->scan("c", 5, collect);
  ASSERT_TRUE(none);
  EXPECT_TRUE(seen.empty());
  EXPECT_FALSE(*none);
}

TYPED_TEST_P(TicketStoreContract, MoviesAreDistinctSortedNonEmptyStrings) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1","Movie":"Dune"})"));
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"2","Movie":"Arrival"})"));
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"3","Movie":"Dune"})"));
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"4","Movie":42})"));
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"5","Movie":["x"]})"));
  auto movies = this->store->movies();
  ASSERT_TRUE(movies);
  EXPECT_EQ(*movies, (std::vector<std::string>{"Arrival", "Dune"}));
  ASSERT_TRUE(this->remove("2"));
  ASSERT_TRUE(this->update({"1", "Movie", json::value("Zodiac"), false}));
  EXPECT_EQ(*this->store->movies(), (std::vector<std::string>{"Dune", "Zodiac"}));
}

TYPED_TEST_P(TicketStoreContract, PriceMetadataIsAppliedOnceAndOnlyForTheLatestChange) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"));
  ASSERT_TRUE(this->update(this->price("1-A9", "12.99"), "e1"));
  auto applied = this->metadata("1-A9", "12.99", "e1");
  ASSERT_TRUE(applied);
  EXPECT_EQ(*applied, price_change_outcome::applied);
  std::string after_first = this->get("1-A9");
  EXPECT_NE(after_first.find(R"("LastPriceChangeEventId":"e1","DiscountPercentage":18.76,"IsDiscounted":true)"),
            std::string::npos)
      << after_first;

  EXPECT_EQ(*this->metadata("1-A9", "12.99", "e1"), price_change_outcome::duplicate);
  EXPECT_EQ(this->get("1-A9"), after_first);
  EXPECT_EQ(*this->metadata("1-A9", "12.99", "e2"), price_change_outcome::stale);  // same price, not its change
  EXPECT_EQ(*this->metadata("1-A9", "11", "e3"), price_change_outcome::stale);
  EXPECT_EQ(this->get("1-A9"), after_first);
  EXPECT_EQ(*this->metadata("gone", "11", "e4"), price_change_outcome::missing);
  EXPECT_EQ(this->get("gone"), "<none>");
}

// The issue's ABA: 10 -> 8 -> 12 -> 8, the first change's event delivered last. Its newPrice is
// the ticket's Price again, but it is not the ticket's latest change: nothing changes.
TYPED_TEST_P(TicketStoreContract, LateEventOfAnEarlierChangeToTheSamePriceIsStale) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":10})"));
  ASSERT_TRUE(this->update(this->price("s", "8"), "c1"));
  ASSERT_TRUE(this->update(this->price("s", "12"), "c2"));
  EXPECT_EQ(*this->metadata("s", "12", "c2", "8"), price_change_outcome::applied);
  ASSERT_TRUE(this->update(this->price("s", "8"), "c3"));
  EXPECT_EQ(*this->metadata("s", "8", "c3", "12"), price_change_outcome::applied);
  const std::string latest = this->get("s");
  EXPECT_NE(latest.find(R"("Price":8,"PreviousPrice":12,)"), std::string::npos) << latest;
  EXPECT_NE(latest.find(R"("DiscountPercentage":33.33,"IsDiscounted":true)"), std::string::npos) << latest;

  EXPECT_EQ(*this->metadata("s", "8", "c1", "10"), price_change_outcome::stale);
  EXPECT_EQ(*this->metadata("s", "8", "fresh-id", "10", false), price_change_outcome::stale);  // without eventId
  EXPECT_EQ(this->get("s"), latest);
}

// A ticket the original service repriced bears no stamp: its events (no eventId) apply by value.
TYPED_TEST_P(TicketStoreContract, EventWithoutIdAppliesToAnUnstampedTicketAtItsPrice) {
  ASSERT_TRUE(this->create(R"({"Theatre-Seat":"s","Movie":"Dune","Price":8})"));
  EXPECT_EQ(*this->metadata("s", "8", "sns-1", "10", false), price_change_outcome::applied);
  const std::string applied = this->get("s");
  EXPECT_NE(applied.find(R"("PreviousPrice":10,"DiscountPercentage":20,"IsDiscounted":true)"), std::string::npos)
      << applied;
  EXPECT_EQ(*this->metadata("s", "8", "sns-2", "10", false), price_change_outcome::duplicate);
  EXPECT_EQ(*this->metadata("s", "9", "sns-3", "8", false), price_change_outcome::stale);
  EXPECT_EQ(this->get("s"), applied);
}

REGISTER_TYPED_TEST_SUITE_P(TicketStoreContract, CreateThenGetReturnsCanonicalJson,
                            CreateOfATakenSeatConflictsAndKeepsTheFirst,
                            UpdateOfAnAttributeReturnsOldAndNew, UpdateOfAMissingSeatIsNotFoundAndCreatesNothing,
                            PriceChangeSetsPreviousPriceAndRecordsItsEvent, RemoveReturnsTheItemOnce,
                            ScanPagesInSeatOrderAndSaysWhenMoreRemain, MoviesAreDistinctSortedNonEmptyStrings,
                            PriceMetadataIsAppliedOnceAndOnlyForTheLatestChange,
                            LateEventOfAnEarlierChangeToTheSamePriceIsStale,
                            EventWithoutIdAppliesToAnUnstampedTicketAtItsPrice);

// Concurrent writes through one store: each conditional write holds against the others.
template <class Adapter>
class TicketStoreRaces : public TicketStoreContract<Adapter> {};
TYPED_TEST_SUITE_P(TicketStoreRaces);

TYPED_TEST_P(TicketStoreRaces, ConcurrentCreatesOfOneSeatHaveOneWinner) {
  std::atomic<int> created{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      auto r = this->create(R"({"Theatre-Seat":"race","Movie":"M)" + std::to_string(i) + "\"}");
      if (r) ++created;
      else if (r.err().code == errc::conflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, 49);
}

REGISTER_TYPED_TEST_SUITE_P(TicketStoreRaces, ConcurrentCreatesOfOneSeatHaveOneWinner);

}  // namespace tb::test
