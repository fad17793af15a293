#include "core/price_change.hpp"

#include <gtest/gtest.h>

#include "core/ticket.hpp"

namespace tb {
namespace {

json::value parse_value(std::string_view text) { return std::get<json::value>(json::parse(text)); }
json::object parse_object(std::string_view text) { return *parse_value(text).if_object(); }

// The PATCH's write on a ticket, as a store carries it out (the bus handles the event later).
ticket_write patch(const json::object& item, std::string_view price, const std::string& now, const std::string& id,
                   handling h = handling::by_bus) {
  auto w = change_price(item, *decimal::parse(price), now, id, h);
  EXPECT_TRUE(w);
  return std::move(*w);
}

TEST(PriceChange, PatchSetsPriceAndPreviousPriceAndTimestampAndStampsTheChange) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})");
  ticket_write w = patch(item, "12.99", "2026-11-28T02:00:00.000Z", "id-1");
  EXPECT_EQ(w.item_json,
            R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"2026-11-28T02:00:00.000Z","LastPriceChangeEventId":"id-1"})");
  EXPECT_EQ(json::serialize(w.item), w.item_json);
  EXPECT_EQ(json::serialize(w.set),
            R"({"Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"2026-11-28T02:00:00.000Z","LastPriceChangeEventId":"id-1"})");
  EXPECT_EQ(w.removed, (std::vector<std::string>{"DiscountPercentage", "IsDiscounted"}));
  // One event, its updatedItem the stored item's text, last.
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].event_id, "id-1");
  EXPECT_EQ(w.events[0].event_type, price_change_initiated);
  json::object o = parse_object(w.events[0].json);
  EXPECT_EQ(*o.find("eventType")->if_string(), "PriceChangeInitiated");
  EXPECT_EQ(*o.find("eventId")->if_string(), "id-1");
  EXPECT_EQ(json::serialize(*o.find("oldPrice")), "15.99");
  EXPECT_EQ(json::serialize(*o.find("newPrice")), "12.99");
  EXPECT_EQ(*o.find("theatreSeat")->if_string(), "1-A9");
  EXPECT_EQ(*o.find("movie")->if_string(), "Dune");
  EXPECT_EQ(*o.find("timestamp")->if_string(), "2026-11-28T02:00:00.000Z");
  EXPECT_EQ(json::serialize(*o.find("updatedItem")), w.item_json);
  EXPECT_EQ(std::prev(o.end())->first, "updatedItem");
}

TEST(PriceChange, PatchClearsThePreviousChangesDiscount) {
  json::object item = parse_object(
      R"({"Theatre-Seat":"1-A9","Price":12.99,"PreviousPrice":15.99,"DiscountPercentage":18.76,"IsDiscounted":true})");
  ticket_write w = patch(item, "20", "t", "id");
  EXPECT_FALSE(w.item.contains("DiscountPercentage"));
  EXPECT_FALSE(w.item.contains("IsDiscounted"));
  EXPECT_EQ(json::serialize(*w.item.find("PreviousPrice")), "12.99");
}

TEST(PriceChange, FirstPriceHasNoPreviousPrice) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune"})");
  ticket_write w = patch(item, "9", "t", "id");
  EXPECT_FALSE(w.item.contains("PreviousPrice"));
  EXPECT_FALSE(w.set.contains("PreviousPrice"));
  EXPECT_EQ(json::serialize(*w.item.find("Price")), "9");
  EXPECT_EQ(json::serialize(*parse_object(w.events[0].json).find("oldPrice")), "null");
}

TEST(PriceChange, PatchOverTheSizeLimitIsRefused) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Price":1})");
  item.set("Notes", std::string(max_item_bytes - 100, 'x'));
  auto w = change_price(item, *decimal::parse("2"), "2026-11-28T02:00:00.000Z", "0192f0c4-aaaa-7bbb-8ccc-123456789abc");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.err().message, "Item size exceeds the 400 KB limit");
}

// In the same write: the ticket gets the change and its metadata at once, and both events.
TEST(PriceChange, PatchHandledInTheSameWrite) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99,"IsDiscounted":false,"DiscountPercentage":0})");
  ticket_write w = patch(item, "12.99", "t1", "id-1", handling::in_same_write);
  EXPECT_EQ(w.item_json,
            R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"t1","LastPriceChangeEventId":"id-1","DiscountPercentage":18.76,"IsDiscounted":true})");
  EXPECT_TRUE(w.removed.empty());  // the discount is set again, not removed
  EXPECT_EQ(json::serialize(w.set),
            R"({"Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"t1","LastPriceChangeEventId":"id-1","DiscountPercentage":18.76,"IsDiscounted":true})");
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].event_type, price_change_initiated);
  EXPECT_EQ(w.events[1].event_type, price_change_processed);
  EXPECT_EQ(w.events[1].event_id, processed_event_id("id-1"));
  // The initiating event carries the ticket as the PATCH left it, the processed one as stored.
  json::object initiated = parse_object(w.events[0].json), processed = parse_object(w.events[1].json);
  EXPECT_FALSE(initiated.find("updatedItem")->if_object()->contains("IsDiscounted"));
  EXPECT_EQ(json::serialize(*processed.find("updatedItem")), w.item_json);
  EXPECT_EQ(*processed.find("causationId")->if_string(), "id-1");
}

TEST(PriceChange, ProcessedIdIsANameBasedUuidOfTheChange) {
  EXPECT_EQ(processed_event_id("id-1"), processed_event_id("id-1"));
  EXPECT_NE(processed_event_id("id-1"), processed_event_id("id-2"));
  std::string id = processed_event_id("id-1");
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '5');  // version 5: SHA-1, name-based
}

price_change_event event_of(const ticket_write& w, const std::string& fallback = "fb") {
  auto e = parse_price_change_event(parse_value(w.events.at(0).json), fallback);
  EXPECT_TRUE(e && e->has_value());
  return std::move(**e);
}

price_change_event legacy_event(std::string_view old_price, std::string_view new_price, const std::string& id) {
  auto e = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","oldPrice":)" + std::string(old_price) +
                  R"(,"newPrice":)" + std::string(new_price) + "}"),
      id);
  EXPECT_TRUE(e && e->has_value());
  return std::move(**e);
}

price_change_outcome outcome(const json::object* ticket, const price_change_event& e) {
  auto d = decide_price_change(ticket, e, "now", processed_event_id(e.event_id));
  EXPECT_TRUE(d);
  return d->outcome;
}

// Writes an applied decision onto the ticket, as a store does.
price_change_outcome handle(json::object& ticket, const price_change_event& e, const std::string& now = "now") {
  auto d = decide_price_change(&ticket, e, now, processed_event_id(e.event_id));
  EXPECT_TRUE(d);
  if (d->outcome == price_change_outcome::applied) ticket = d->write.item;
  return d->outcome;
}

TEST(PriceChangeRule, AppliedWritesMetadataAndRecordsProcessed) {
  json::object ticket = patch(parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"), "12.99", "t0", "e1").item;
  price_change_event e = event_of(patch(parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})"), "12.99", "t0", "e1"));
  auto d = decide_price_change(&ticket, e, "t1", "p1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, price_change_outcome::applied);
  EXPECT_EQ(json::serialize(d->write.set),
            R"({"LastPriceChangeTimestamp":"t1","PreviousPrice":15.99,"DiscountPercentage":18.76,"IsDiscounted":true})");
  EXPECT_TRUE(d->write.removed.empty());
  EXPECT_EQ(d->write.item_json,
            R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"t1","LastPriceChangeEventId":"e1","DiscountPercentage":18.76,"IsDiscounted":true})");
  ASSERT_EQ(d->write.events.size(), 1u);
  EXPECT_EQ(d->write.events[0].event_id, "p1");
  json::object processed = parse_object(d->write.events[0].json);
  EXPECT_EQ(*processed.find("eventId")->if_string(), "p1");
  EXPECT_EQ(json::serialize(*processed.find("updatedItem")), d->write.item_json);
}

TEST(PriceChangeRule, DuplicateOnceTheChangesMetadataIsThere) {
  ticket_write w = patch(parse_object(R"({"Theatre-Seat":"1-A9","Price":10})"), "8", "t0", "e1");
  json::object ticket = w.item;
  EXPECT_EQ(handle(ticket, event_of(w)), price_change_outcome::applied);
  const json::object after = ticket;
  EXPECT_EQ(handle(ticket, event_of(w), "later"), price_change_outcome::duplicate);
  EXPECT_EQ(ticket, after);
}

TEST(PriceChangeRule, MissingWhenTheTicketIsGone) {
  ticket_write w = patch(parse_object(R"({"Theatre-Seat":"1-A9","Price":10})"), "8", "t0", "e1");
  auto d = decide_price_change(nullptr, event_of(w), "now", "p");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, price_change_outcome::missing);
  EXPECT_TRUE(d->write.events.empty());
}

TEST(PriceChangeRule, StaleWhenANewerChangeStampedTheTicket) {
  json::object ticket = parse_object(R"({"Theatre-Seat":"1-A9","Price":10})");
  ticket_write first = patch(ticket, "8", "t1", "e1");
  ticket_write second = patch(first.item, "12", "t2", "e2");
  json::object current = second.item;
  EXPECT_EQ(handle(current, event_of(first)), price_change_outcome::stale);
  EXPECT_EQ(current, second.item);
  EXPECT_EQ(handle(current, event_of(second)), price_change_outcome::applied);
}

// The issue's case: 10 -> 8 -> 12 -> 8, every change handled but the first, which comes last.
// Its newPrice is the ticket's Price again, but it is not the ticket's latest change.
TEST(PriceChangeRule, AbaLateFirstChangeIsStale) {
  json::object ticket = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":10})");
  ticket_write c1 = patch(ticket, "8", "t1", "e1");
  ticket = c1.item;
  ticket_write c2 = patch(ticket, "12", "t2", "e2");
  ticket = c2.item;
  EXPECT_EQ(handle(ticket, event_of(c2)), price_change_outcome::applied);
  ticket_write c3 = patch(ticket, "8", "t3", "e3");
  ticket = c3.item;
  EXPECT_EQ(handle(ticket, event_of(c3)), price_change_outcome::applied);
  EXPECT_EQ(json::serialize(*ticket.find("PreviousPrice")), "12");
  EXPECT_EQ(json::serialize(*ticket.find("DiscountPercentage")), "33.33");
  const json::object before = ticket;
  // Late, under its own id, and again under a fresh stand-in id without its eventId.
  EXPECT_EQ(handle(ticket, event_of(c1)), price_change_outcome::stale);
  EXPECT_EQ(handle(ticket, legacy_event("10", "8", "sns-message-id")), price_change_outcome::stale);
  EXPECT_EQ(ticket, before);
}

// Before its own change's metadata is written, the ticket waits for exactly that change.
TEST(PriceChangeRule, AbaLateFirstChangeBeforeTheLatestIsHandled) {
  json::object ticket = parse_object(R"({"Theatre-Seat":"1-A9","Price":10})");
  ticket_write c1 = patch(ticket, "8", "t1", "e1");
  ticket_write c2 = patch(c1.item, "12", "t2", "e2");
  ticket_write c3 = patch(c2.item, "8", "t3", "e3");
  ticket = c3.item;
  EXPECT_EQ(handle(ticket, event_of(c1)), price_change_outcome::stale);
  EXPECT_EQ(handle(ticket, event_of(c2)), price_change_outcome::stale);
  EXPECT_EQ(handle(ticket, event_of(c3)), price_change_outcome::applied);
  EXPECT_EQ(json::serialize(*ticket.find("PreviousPrice")), "12");
}

// Events without eventId (the original service's) on tickets it repriced: judged by value.
TEST(PriceChangeRule, UnstampedTicketAppliesAnEventAtItsPrice) {
  json::object ticket = parse_object(R"({"Theatre-Seat":"1-A9","Price":8,"PreviousPrice":10})");
  EXPECT_EQ(handle(ticket, legacy_event("10", "8", "m1")), price_change_outcome::applied);
  EXPECT_FALSE(ticket.contains("LastPriceChangeEventId"));  // the handler never stamps
  EXPECT_EQ(json::serialize(*ticket.find("DiscountPercentage")), "20");
  // The same change again (a redelivery under another stand-in id): the ticket shows it.
  EXPECT_EQ(handle(ticket, legacy_event("10", "8", "m2")), price_change_outcome::duplicate);
  // Another price than the ticket's: stale.
  EXPECT_EQ(handle(ticket, legacy_event("8", "12", "m3")), price_change_outcome::stale);
}

// Once this service stamped a ticket, an event without eventId cannot be shown to be newer.
TEST(PriceChangeRule, StampedTicketTakesNoEventWithoutId) {
  ticket_write w = patch(parse_object(R"({"Theatre-Seat":"1-A9","Price":10})"), "8", "t1", "e1");
  EXPECT_EQ(outcome(&w.item, legacy_event("10", "8", "e1")), price_change_outcome::stale);  // even under its id
  EXPECT_EQ(outcome(&w.item, event_of(w)), price_change_outcome::applied);
}

// A writer that does not stamp (the original service) repriced after this service's change.
TEST(PriceChangeRule, StampedChangeOvertakenByAnotherWriterIsStale) {
  ticket_write w = patch(parse_object(R"({"Theatre-Seat":"1-A9","Price":10})"), "8", "t1", "e1");
  json::object ticket = w.item;
  ticket.set("Price", *decimal::parse("9"));
  EXPECT_EQ(outcome(&ticket, event_of(w)), price_change_outcome::stale);
}

TEST(PriceChangeRule, IgnoredForOtherEventTypes) {
  auto e = parse_price_change_event(parse_value(R"({"eventType":"PriceChangeProcessed","theatreSeat":"x"})"), "fb");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->has_value());
  EXPECT_EQ(to_string(price_change_outcome::ignored), "ignored");
}

TEST(PriceChangeRule, AppliedOverTheSizeLimitIsAnError) {
  json::object ticket = parse_object(R"({"Theatre-Seat":"1-A9","Price":8,"PreviousPrice":10})");
  ticket.set("Notes", std::string(max_item_bytes - 60, 'x'));
  auto d = decide_price_change(&ticket, legacy_event("10", "8", "m1"), "2026-11-28T02:00:00.000Z", "p");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.err().message, "Item size exceeds the 400 KB limit");
}

TEST(PriceChange, HandlerMetadataForADrop) {
  auto e = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","eventId":"e1","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99,"newPrice":12.99,"timestamp":"t0"})"),
      "fallback");
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->event_id, "e1");
  EXPECT_TRUE((*e)->identified);
  json::object m = price_change_metadata(**e, "t1");
  EXPECT_EQ(json::serialize(m),
            R"({"LastPriceChangeTimestamp":"t1","PreviousPrice":15.99,"DiscountPercentage":18.76,"IsDiscounted":true})");
}

TEST(PriceChange, HandlerMetadataForARiseOrSamePrice) {
  auto rise = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","oldPrice":10,"newPrice":12})"), "fb");
  ASSERT_TRUE(rise && rise->has_value());
  EXPECT_EQ((*rise)->event_id, "fb");  // no eventId: the fallback stands in
  EXPECT_FALSE((*rise)->identified);
  EXPECT_EQ(json::serialize(price_change_metadata(**rise, "t")),
            R"({"LastPriceChangeTimestamp":"t","PreviousPrice":10,"DiscountPercentage":0,"IsDiscounted":false})");
}

TEST(PriceChange, OtherEventTypesAreIgnored) {
  auto e = parse_price_change_event(parse_value(R"({"eventType":"PriceChangeProcessed","theatreSeat":"x"})"), "fb");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->has_value());
}

TEST(PriceChange, MalformedEventsAreRejectedWithAReason) {
  auto reason = [](std::string_view text) {
    auto e = parse_price_change_event(parse_value(text), "fb");
    return e ? std::string("accepted") : e.err().message;
  };
  EXPECT_EQ(reason("[1]"), "event is not a JSON object");
  EXPECT_EQ(reason(R"({"theatreSeat":"x"})"), "event has no eventType");
  EXPECT_EQ(reason(R"({"eventType":"PriceChangeInitiated","newPrice":1})"), "theatreSeat: Theatre-Seat is required");
  EXPECT_EQ(reason(R"({"eventType":"PriceChangeInitiated","theatreSeat":"x","newPrice":"1"})"),
            "newPrice must be a non-negative number");
  EXPECT_EQ(reason(R"({"eventType":"PriceChangeInitiated","theatreSeat":"x","newPrice":1,"oldPrice":"a"})"),
            "oldPrice must be a non-negative number or null");
}

TEST(PriceChange, ProcessedEventNamesItsCause) {
  auto e = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","eventId":"e1","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99,"newPrice":12.99,"timestamp":"t0"})"),
      "fb");
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99})");
  for (const auto& [k, v] : price_change_metadata(**e, "t1")) item.set(k, v);
  json::object o = parse_object(with_updated_item(price_change_processed_fields("p1", **e, item, "t1"), json::serialize(item)));
  EXPECT_EQ(*o.find("eventType")->if_string(), "PriceChangeProcessed");
  EXPECT_EQ(*o.find("causationId")->if_string(), "e1");
  EXPECT_EQ(json::serialize(*o.find("finalPrice")), "12.99");
  EXPECT_EQ(json::serialize(*o.find("discountPercentage")), "18.76");
  EXPECT_EQ(*o.find("isDiscounted")->if_bool(), true);
  EXPECT_EQ(*o.find("priceChangeTimestamp")->if_string(), "t0");
  EXPECT_EQ(*o.find("processedAt")->if_string(), "t1");
}

}  // namespace
}  // namespace tb
