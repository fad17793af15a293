// libFuzzer target: the exact-decimal parser and printer. Input: one number's text, or two
// separated by '|'. For any text: no crash; for any number it takes: the printed form parses back
// to the same value, printing is canonical (a fixed point), JSON reads it alike, and the order and
// the discount arithmetic behave.
#include <cstdint>
#include <string>

#include "core/decimal.hpp"
#include "core/json.hpp"
#include "fuzz/fuzz_check.hpp"

namespace {

using tb::decimal;
using tb::fuzz::require;

void round_trip(const decimal& d) {
  const std::string printed = d.to_string();
  auto again = decimal::parse(printed);
  require(again.has_value(), "a printed decimal parses", printed);
  require(*again == d, "parse(print(d)) == d", printed);
  require(again->to_string() == printed, "printing is canonical", printed);
  // The plain form up to 9.99E+125 (126 digits and a sign), else at most 38 digits, a sign, a
  // point, a few padding zeros or an exponent: never more.
  require(printed.size() <= 1 + 126 + 1, "a printed decimal is short", printed);
  auto parsed = tb::json::parse(printed);
  const auto* v = std::get_if<tb::json::value>(&parsed);
  require(v && v->if_number() && *v->if_number() == d, "JSON reads the printed form alike", printed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tb::fuzz::as_text(data, size);
  const auto bar = text.find('|');
  tb::decimal_error why{};
  auto a = decimal::parse(text.substr(0, bar), &why);
  if (a) round_trip(*a);
  if (bar == std::string_view::npos) return 0;
  auto b = decimal::parse(text.substr(bar + 1));
  if (!a || !b) return 0;
  round_trip(*b);
  require((*a <=> *b) == 0 ? *a == *b : !(*a == *b), "order agrees with equality", text);
  require((*a < *b) == (*b > *a), "order is antisymmetric", text);
  // Prices are >= 0 wherever percent_decrease is called (validation, the event decoder). Outside
  // that domain its result may exceed 38 digits (13 -> -1E64 gives a 67-digit percentage: found
  // here, input kept as regress-negative-new-price), so only in-domain results must round-trip.
  const decimal p = decimal::percent_decrease(*a, *b);
  const decimal zero, hundred = decimal::from_int(100);
  if (!b->is_negative()) {
    round_trip(p);
    if (!a->is_negative() && !a->is_zero() && *b <= *a)
      require(p >= zero && p <= hundred, "a decrease is 0 to 100 percent", text);
  }
  if (a->is_negative() || a->is_zero()) require(p.is_zero(), "no percentage of a price not above 0", text);
  return 0;
}
