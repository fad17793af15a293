#include "core/decimal.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

std::string canon(std::string_view s) {
  auto d = decimal::parse(s);
  return d ? d->to_string() : "invalid";
}

TEST(Decimal, CanonicalFormKeepsCentsExact) {
  EXPECT_EQ(canon("15.99"), "15.99");
  EXPECT_EQ(canon("15.990"), "15.99");
  EXPECT_EQ(canon("1e2"), "100");
  EXPECT_EQ(canon("1E+2"), "100");
  EXPECT_EQ(canon("0.10"), "0.1");
  EXPECT_EQ(canon("-0"), "0");
  EXPECT_EQ(canon("0.000"), "0");
  EXPECT_EQ(canon("-12.50"), "-12.5");
  EXPECT_EQ(canon("007"), "7");
  EXPECT_EQ(canon("1599e-2"), "15.99");
  EXPECT_EQ(canon("0.0000001"), "1E-7");
  EXPECT_EQ(canon("0.000001"), "0.000001");
}

TEST(Decimal, ThirtyEightSignificantDigitsSurvive) {
  EXPECT_EQ(canon("12345678901234567890123456789012345678"), "12345678901234567890123456789012345678");
  EXPECT_EQ(canon("1.2345678901234567890123456789012345678"), "1.2345678901234567890123456789012345678");
  EXPECT_EQ(canon("0.12345678901234567890123456789012345678"), "0.12345678901234567890123456789012345678");
  // trailing zeros are not significant
  EXPECT_EQ(canon("123456789012345678901234567890123456780000"), "123456789012345678901234567890123456780000");
}

TEST(Decimal, RejectsWhatDynamoDbCannotHold) {
  decimal_error why{};
  EXPECT_FALSE(decimal::parse("123456789012345678901234567890123456789", &why));
  EXPECT_EQ(why, decimal_error::too_many_digits);
  EXPECT_FALSE(decimal::parse("1E+126", &why));
  EXPECT_EQ(why, decimal_error::out_of_range);
  EXPECT_FALSE(decimal::parse("1E-131", &why));
  EXPECT_EQ(why, decimal_error::out_of_range);
  EXPECT_FALSE(decimal::parse("1e999999999999999999999", &why));
  EXPECT_EQ(why, decimal_error::out_of_range);
  EXPECT_EQ(canon("9.99E+125"), "9.99E+125");
  EXPECT_EQ(canon("1E-130"), "1E-130");
  EXPECT_EQ(canon("0e999999999999"), "0");
}

TEST(Decimal, RejectsSyntax) {
  for (auto bad : {"", "-", "abc", "1.2.3", "1e", "1e+", "--1", "0x10", "1 "})
    EXPECT_FALSE(decimal::parse(bad)) << bad;
}

TEST(Decimal, ComparesByValueNotText) {
  auto d = [](const char* s) { return *decimal::parse(s); };
  EXPECT_EQ(d("15.990"), d("15.99"));
  EXPECT_LT(d("12.99"), d("15.99"));
  EXPECT_LT(d("1.9"), d("2"));
  EXPECT_LT(d("-2"), d("-1.5"));
  EXPECT_LT(d("-1"), d("0"));
  EXPECT_LT(d("0"), d("0.0001"));
  EXPECT_GT(d("100"), d("99.999"));
  EXPECT_LT(d("1E-130"), d("1E+125"));
}

TEST(Decimal, PercentDecreaseIsExactAndRoundsHalfUp) {
  auto pct = [](const char* o, const char* n) {
    return decimal::percent_decrease(*decimal::parse(o), *decimal::parse(n)).to_string();
  };
  EXPECT_EQ(pct("15.99", "12.99"), "18.76");   // 18.7617...
  EXPECT_EQ(pct("10", "8"), "20");
  EXPECT_EQ(pct("3", "2"), "33.33");           // 33.333...
  EXPECT_EQ(pct("3", "1"), "66.67");           // 66.666... rounds up
  EXPECT_EQ(pct("8", "7.9996"), "0.01");       // 0.005 exactly: half rounds up
  EXPECT_EQ(pct("8", "7.99961"), "0");         // 0.004875 rounds down
  EXPECT_EQ(pct("10", "0"), "100");
  EXPECT_EQ(pct("10", "12"), "0");             // a rise is no discount
  EXPECT_EQ(pct("0", "0"), "0");
  EXPECT_EQ(pct("1E+100", "1E-100"), "100");   // far-apart exponents stay exact
}

}  // namespace
}  // namespace tb
