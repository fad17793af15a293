// Exact decimal numbers with DynamoDB's N semantics: up to 38 significant digits, magnitude
// 1E-130 to 9.99...E+125. A price never passes through binary floating point.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace tb {

enum class decimal_error {
  syntax,          // not a number
  too_many_digits, // more than 38 significant digits
  out_of_range,    // magnitude outside 1E-130 .. 9.99E+125
};

class decimal {
 public:
  static constexpr int max_digits = 38;
  static constexpr int min_adjusted_exponent = -130;
  static constexpr int max_adjusted_exponent = 125;

  decimal() = default;  // zero

  // Accepts JSON number syntax and DynamoDB's looser N strings ("+1", ".5", "5.", " 1" is not).
  static std::optional<decimal> parse(std::string_view text, decimal_error* why = nullptr);
  static decimal from_int(long long v);

  // Canonical form: no trailing zeros, no exponent unless the plain form would need more than a
  // few padding zeros ("15.990" -> "15.99", "1e2" -> "100", "1e-130" -> "1E-130").
  std::string to_string() const;

  bool is_zero() const { return digits_.empty(); }
  bool is_negative() const { return negative_; }

  friend std::strong_ordering operator<=>(const decimal& a, const decimal& b);
  friend bool operator==(const decimal& a, const decimal& b) {
    return a.negative_ == b.negative_ && a.exponent_ == b.exponent_ && a.digits_ == b.digits_;
  }

  // (old - new) / old * 100, rounded half-up to 2 decimal places; 0 when old is not > 0.
  static decimal percent_decrease(const decimal& old_value, const decimal& new_value);

  // Builds digits * 10^exponent from unnormalised parts; used by arithmetic.
  static decimal from_parts(bool negative, std::string digits, int exponent);

 private:
  bool negative_ = false;
  std::string digits_;  // significant digits, no leading or trailing zeros; empty means zero
  int exponent_ = 0;    // value = digits * 10^exponent
};

}  // namespace tb
