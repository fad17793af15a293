#include "core/json.hpp"

#include <gtest/gtest.h>

namespace tb::json {
namespace {

std::string roundtrip(std::string_view text) {
  auto parsed = parse(text);
  if (auto* f = std::get_if<parse_failure>(&parsed)) return "error: " + f->detail;
  return serialize(std::get<value>(parsed));
}

TEST(Json, NumbersNeverBecomeDoubles) {
  EXPECT_EQ(roundtrip(R"({"Price":15.99})"), R"({"Price":15.99})");
  EXPECT_EQ(roundtrip(R"({"Price":15.990})"), R"({"Price":15.99})");
  EXPECT_EQ(roundtrip(R"([1e2,0.1,-0,12345678901234567890123456789012345678])"),
            "[100,0.1,0,12345678901234567890123456789012345678]");
  EXPECT_EQ(roundtrip("0.30000000000000004"), "0.30000000000000004");
}

TEST(Json, AppendsAMemberToSerialisedObjects) {
  std::string empty = "{}", one = R"({"a":1})";
  json::append_member(empty, "item", R"({"k":"v"})");
  json::append_member(one, "say \"hi\"", "true");
  EXPECT_EQ(empty, R"({"item":{"k":"v"}})");
  EXPECT_EQ(one, R"({"a":1,"say \"hi\"":true})");
}

TEST(Json, KeepsMemberOrderAndLastDuplicateWins) {
  EXPECT_EQ(roundtrip(R"({"b":1,"a":2,"b":3})"), R"({"b":3,"a":2})");
  std::string many = "{";
  for (int i = 0; i < 50; ++i) many += "\"k" + std::to_string(i % 20) + "\":" + std::to_string(i) + ",";
  many.back() = '}';
  auto out = roundtrip(many);
  EXPECT_EQ(out.find("\"k0\":40"), 1u);  // first position, last value
  EXPECT_EQ(std::get<value>(parse(many)).if_object()->size(), 20u);
}

TEST(Json, EscapesStringsAndKeepsUnicode) {
  EXPECT_EQ(roundtrip(R"(["a\"b\\c\n\u0001","h\u00e9llo ✓"])"), "[\"a\\\"b\\\\c\\n\\u0001\",\"héllo ✓\"]");
}

TEST(Json, RejectsMalformedAndHostileInput) {
  for (auto bad : {"", "{", "{\"a\":}", "[1,]", "{'a':1}", "nul", "1 2", "{\"a\":1}x", "\"\xff\"", "NaN"}) {
    auto parsed = parse(bad);
    EXPECT_TRUE(std::holds_alternative<parse_failure>(parsed)) << bad;
  }
  std::string deep(33, '[');
  deep += std::string(33, ']');
  EXPECT_TRUE(std::holds_alternative<parse_failure>(parse(deep)));
  std::string ok_depth(32, '[');
  ok_depth += std::string(32, ']');
  EXPECT_TRUE(std::holds_alternative<value>(parse(ok_depth)));
}

TEST(Json, NumberOutOfRangeIsReportedAsSuch) {
  auto parsed = parse("[1e400]");
  auto* f = std::get_if<parse_failure>(&parsed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, parse_error::number);
  parsed = parse("123456789012345678901234567890123456789");
  f = std::get_if<parse_failure>(&parsed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, parse_error::number);
  EXPECT_EQ(f->detail, "Number 123456789012345678901234567890123456789 has more than 38 significant digits");
}

// A 400 quotes at most 64 bytes of what the client sent, however long its number.
TEST(Json, AHugeNumberIsQuotedOnlyInPart) {
  const std::string digits(200000, '7');
  auto parsed = parse(R"({"Price":)" + digits + "}");
  auto* f = std::get_if<parse_failure>(&parsed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->detail, "Number " + digits.substr(0, 64) + "... has more than 38 significant digits");
  const std::string huge = "1" + std::string(200000, '0');  // one digit, out of range
  parsed = parse(huge);
  f = std::get_if<parse_failure>(&parsed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, parse_error::number);
  EXPECT_EQ(f->detail, "Number " + huge.substr(0, 64) + "... is outside the range 1E-130 to 9.99E+125");
}

}  // namespace
}  // namespace tb::json
