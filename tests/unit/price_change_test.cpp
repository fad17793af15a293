#include "core/price_change.hpp"

#include <gtest/gtest.h>

#include "core/ticket.hpp"

namespace tb {
namespace {

json::value parse_value(std::string_view text) { return std::get<json::value>(json::parse(text)); }
json::object parse_object(std::string_view text) { return *parse_value(text).if_object(); }

TEST(PriceChange, PatchSetsPriceAndPreviousPriceAndTimestamp) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})");
  json::object old = item;
  apply_price_change(item, *decimal::parse("12.99"), "2026-11-28T02:00:00.000Z");
  EXPECT_EQ(json::serialize(item),
            R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":12.99,"PreviousPrice":15.99,"LastPriceChangeTimestamp":"2026-11-28T02:00:00.000Z"})");
  // The event's text, as the store records it: updatedItem is the stored item's text, last.
  json::object o = parse_object(with_updated_item(price_change_initiated_fields("id-1", old, item, "2026-11-28T02:00:00.000Z"),
                                                  json::serialize(item)));
  EXPECT_EQ(*o.find("eventType")->if_string(), "PriceChangeInitiated");
  EXPECT_EQ(json::serialize(*o.find("oldPrice")), "15.99");
  EXPECT_EQ(json::serialize(*o.find("newPrice")), "12.99");
  EXPECT_EQ(*o.find("theatreSeat")->if_string(), "1-A9");
  EXPECT_EQ(*o.find("movie")->if_string(), "Dune");
  EXPECT_EQ(json::serialize(*o.find("updatedItem")), json::serialize(item));
  EXPECT_EQ(std::prev(o.end())->first, "updatedItem");
}

TEST(PriceChange, PatchClearsThePreviousChangesDiscount) {
  json::object item = parse_object(
      R"({"Theatre-Seat":"1-A9","Price":12.99,"PreviousPrice":15.99,"DiscountPercentage":18.76,"IsDiscounted":true})");
  apply_price_change(item, *decimal::parse("20"), "t");
  EXPECT_FALSE(item.contains("DiscountPercentage"));
  EXPECT_FALSE(item.contains("IsDiscounted"));
  EXPECT_EQ(json::serialize(*item.find("PreviousPrice")), "12.99");
}

TEST(PriceChange, FirstPriceHasNoPreviousPrice) {
  json::object item = parse_object(R"({"Theatre-Seat":"1-A9","Movie":"Dune"})");
  apply_price_change(item, *decimal::parse("9"), "t");
  EXPECT_FALSE(item.contains("PreviousPrice"));
  EXPECT_EQ(json::serialize(*item.find("Price")), "9");
}

TEST(PriceChange, HandlerMetadataForADrop) {
  auto e = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","eventId":"e1","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99,"newPrice":12.99,"timestamp":"t0"})"),
      "fallback");
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->event_id, "e1");
  json::object m = price_change_metadata(**e, "t1");
  EXPECT_EQ(json::serialize(m),
            R"({"LastPriceChangeTimestamp":"t1","PreviousPrice":15.99,"DiscountPercentage":18.76,"IsDiscounted":true})");
}

TEST(PriceChange, HandlerMetadataForARiseOrSamePrice) {
  auto rise = parse_price_change_event(
      parse_value(R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","oldPrice":10,"newPrice":12})"), "fb");
  ASSERT_TRUE(rise && rise->has_value());
  EXPECT_EQ((*rise)->event_id, "fb");  // no eventId: the fallback stands in
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
