#include "core/ticket.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

std::string create_error(std::string_view body) {
  auto obj = parse_body_object(body);
  if (!obj) return obj.err().message;
  auto item = validate_new_ticket(std::move(*obj));
  return item ? "ok" : item.err().message;
}

std::string update_error(std::string_view body) {
  auto obj = parse_body_object(body);
  if (!obj) return obj.err().message;
  auto u = parse_update(*obj);
  return u ? "ok" : u.err().message;
}

TEST(Ticket, CreateMessagesMatchTheContract) {
  EXPECT_EQ(create_error(""), "Request body is required");
  EXPECT_EQ(create_error("  \n"), "Request body is required");
  EXPECT_EQ(create_error("{not json"), "Invalid JSON format");
  EXPECT_EQ(create_error("[1,2]"), "Request body must be a JSON object");
  EXPECT_EQ(create_error("\"x\""), "Request body must be a JSON object");
  EXPECT_EQ(create_error(R"({"Movie":"M"})"), "Theatre-Seat is required");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"","Movie":"M"})"), "Theatre-Seat is required");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9"})"), "Movie is required");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":null})"), "Movie is required");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Price":-1})"), "Price must be a non-negative number");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Price":"15.99"})"), "Price must be a non-negative number");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Price":null})"), "Price must be a non-negative number");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Price":15.99})"), "ok");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Price":0})"), "ok");
}

TEST(Ticket, SeatRules) {
  EXPECT_EQ(create_error(R"({"Theatre-Seat":12,"Movie":"M"})"), "Theatre-Seat must be a string");
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"a\u0001b","Movie":"M"})"), "Theatre-Seat must not contain control characters");
  std::string long_seat(2049, 'x');
  EXPECT_EQ(create_error(R"({"Movie":"M","Theatre-Seat":")" + long_seat + "\"}"), "Theatre-Seat must be at most 2048 bytes");
  long_seat.pop_back();
  EXPECT_EQ(create_error(R"({"Movie":"M","Theatre-Seat":")" + long_seat + "\"}"), "ok");
}

TEST(Ticket, ServiceManagedAttributesCannotBeWritten) {
  for (auto key : {"PreviousPrice", "LastPriceChangeTimestamp", "DiscountPercentage", "IsDiscounted", "isdiscounted"}) {
    std::string body = std::string(R"({"Theatre-Seat":"1-A9","Movie":"M",")") + key + "\":1}";
    EXPECT_EQ(create_error(body), std::string(key) + " is managed by the service and cannot be set");
    EXPECT_EQ(update_error(std::string(R"({"Theatre-Seat":"1-A9","updateKey":")") + key + R"(","updateValue":1})"),
              std::string(key) + " is managed by the service and cannot be set");
  }
}

TEST(Ticket, ItemSizeIsLimitedTo400KB) {
  std::string big(400 * 1024, 'x');
  EXPECT_EQ(create_error(R"({"Theatre-Seat":"1-A9","Movie":"M","Notes":")" + big + "\"}"),
            "Item size exceeds the 400 KB limit");
}

TEST(Ticket, UpdateMessagesMatchTheContract) {
  EXPECT_EQ(update_error(""), "Request body is required");
  EXPECT_EQ(update_error("{"), "Invalid JSON format");
  EXPECT_EQ(update_error(R"({"updateKey":"Movie","updateValue":"X"})"), "Theatre-Seat is required");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateValue":"X"})"), "updateKey is required");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"Movie"})"), "updateValue is required");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"Theatre-Seat","updateValue":"X"})"),
            "Cannot update primary key Theatre-Seat");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"price","updateValue":-0.01})"),
            "Price must be a non-negative number");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"Movie","updateValue":null})"),
            "updateValue is required");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":null})"),
            "updateValue is required");
  EXPECT_EQ(update_error(R"({"Theatre-Seat":"1-A9","updateKey":"Movie","updateValue":""})"), "ok");
}

TEST(Ticket, PriceKeyInAnyCaseIsAPriceChange) {
  for (auto key : {"Price", "price", "PRICE", "pRiCe"}) {
    auto u = parse_update(*parse_body_object(std::string(R"({"Theatre-Seat":"1-A9","updateKey":")") + key +
                                             R"(","updateValue":12.990})"));
    ASSERT_TRUE(u) << key;
    EXPECT_TRUE(u->is_price_change);
    EXPECT_EQ(u->key, "Price");
    EXPECT_EQ(json::serialize(u->value), "12.99");
  }
  auto other = parse_update(*parse_body_object(R"({"Theatre-Seat":"1-A9","updateKey":"Prices","updateValue":1})"));
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->is_price_change);
}

}  // namespace
}  // namespace tb
