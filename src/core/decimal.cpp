#include "core/decimal.hpp"

#include <algorithm>
#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>

namespace tb {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exponents beyond this cannot produce an in-range number from at most a few thousand digits;
// clamping keeps the arithmetic in int without overflow.
constexpr long long exponent_clamp = 100'000'000;

using boost::multiprecision::cpp_int;

cpp_int to_int(const std::string& digits, int zeros) {
  cpp_int v(digits.empty() ? std::string("0") : digits);
  if (zeros > 0) v *= boost::multiprecision::pow(cpp_int(10), static_cast<unsigned>(zeros));
  return v;
}

}  // namespace

decimal decimal::from_parts(bool negative, std::string digits, int exponent) {
  auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return {};
  digits.erase(0, first);
  auto last = digits.find_last_not_of('0');
  exponent += static_cast<int>(digits.size() - 1 - last);
  digits.resize(last + 1);
  decimal d;
  d.negative_ = negative;
  d.digits_ = std::move(digits);
  d.exponent_ = exponent;
  return d;
}

std::optional<decimal> decimal::parse(std::string_view s, decimal_error* why) {
  auto fail = [&](decimal_error e) -> std::optional<decimal> {
    if (why) *why = e;
    return std::nullopt;
  };
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  std::string mantissa;
  int fraction_digits = 0;
  bool any_digit = false;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    mantissa.push_back(s[i]);
    any_digit = true;
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && is_digit(s[i]); ++i) {
      mantissa.push_back(s[i]);
      ++fraction_digits;
      any_digit = true;
    }
  }
  if (!any_digit) return fail(decimal_error::syntax);
  long long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) exp_negative = s[i++] == '-';
    if (i == s.size() || !is_digit(s[i])) return fail(decimal_error::syntax);
    for (; i < s.size() && is_digit(s[i]); ++i)
      exponent = std::min(exponent * 10 + (s[i] - '0'), exponent_clamp);
    if (exp_negative) exponent = -exponent;
  }
  if (i != s.size()) return fail(decimal_error::syntax);
  if (mantissa.size() > static_cast<std::size_t>(exponent_clamp))
    return fail(decimal_error::too_many_digits);

  decimal d = from_parts(negative, std::move(mantissa),
                         static_cast<int>(exponent - fraction_digits));
  if (d.is_zero()) return d;
  if (d.digits_.size() > static_cast<std::size_t>(max_digits))
    return fail(decimal_error::too_many_digits);
  long long adjusted = static_cast<long long>(d.exponent_) + static_cast<long long>(d.digits_.size()) - 1;
  if (adjusted < min_adjusted_exponent || adjusted > max_adjusted_exponent)
    return fail(decimal_error::out_of_range);
  return d;
}

decimal decimal::from_int(long long v) {
  bool negative = v < 0;
  unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(v)
                                          : static_cast<unsigned long long>(v);
  return from_parts(negative, std::to_string(magnitude), 0);
}

std::string decimal::to_string() const {
  if (is_zero()) return "0";
  const int n = static_cast<int>(digits_.size());
  const int adjusted = exponent_ + n - 1;
  std::string out = negative_ ? "-" : "";
  // Plain notation for integers of up to 50 digits and fractions down to 1E-6; beyond, scientific.
  constexpr int max_plain_integer_digits = 50;
  constexpr int min_plain_adjusted = -6;  // as Python's Decimal
  if (exponent_ >= 0 && adjusted < max_plain_integer_digits) {
    out += digits_;
    out.append(static_cast<std::size_t>(exponent_), '0');
  } else if (exponent_ < 0 && adjusted >= 0) {
    out.append(digits_, 0, static_cast<std::size_t>(n + exponent_));
    out += '.';
    out.append(digits_, static_cast<std::size_t>(n + exponent_));
  } else if (exponent_ < 0 && adjusted >= min_plain_adjusted) {
    out += "0.";
    out.append(static_cast<std::size_t>(-adjusted - 1), '0');
    out += digits_;
  } else {
    out += digits_[0];
    if (n > 1) {
      out += '.';
      out.append(digits_, 1);
    }
    out += adjusted > 0 ? "E+" : "E-";
    out += std::to_string(std::abs(adjusted));
  }
  return out;
}

std::strong_ordering operator<=>(const decimal& a, const decimal& b) {
  if (a.is_zero() || b.is_zero()) {
    auto sign = [](const decimal& d) { return d.is_zero() ? 0 : (d.negative_ ? -1 : 1); };
    return sign(a) <=> sign(b);
  }
  if (a.negative_ != b.negative_) return a.negative_ ? std::strong_ordering::less
                                                     : std::strong_ordering::greater;
  const int adj_a = a.exponent_ + static_cast<int>(a.digits_.size());
  const int adj_b = b.exponent_ + static_cast<int>(b.digits_.size());
  std::strong_ordering magnitude = adj_a != adj_b ? adj_a <=> adj_b : a.digits_.compare(b.digits_) <=> 0;
  return a.negative_ ? 0 <=> magnitude : magnitude;
}

decimal decimal::percent_decrease(const decimal& old_value, const decimal& new_value) {
  if (old_value.is_zero() || old_value.negative_ || !(new_value < old_value)) return {};
  // Align both on the smaller exponent, then q = round_half_up((old - new) * 10000 / old),
  // and the result is q * 10^-2. All integer arithmetic, so 15.99 -> 12.99 gives exactly 18.76.
  const int base = std::min(old_value.exponent_, new_value.exponent_);
  cpp_int old_int = to_int(old_value.digits_, old_value.exponent_ - base);
  cpp_int new_int = to_int(new_value.digits_, new_value.exponent_ - base);
  if (new_value.negative_) new_int = -new_int;
  cpp_int numerator = (old_int - new_int) * 10000;
  cpp_int q = (numerator * 2 + old_int) / (old_int * 2);
  return from_parts(false, q.str(), -2);
}

}  // namespace tb
