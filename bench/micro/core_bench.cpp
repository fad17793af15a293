// Hot paths of a request, without I/O: decimal parse/print, item JSON decode/encode, validation,
// the discount rule, and routing through the router with a store that answers from memory.
#include <benchmark/benchmark.h>

#include "app/router.hpp"
#include "core/decimal.hpp"
#include "core/json.hpp"
#include "core/price_change.hpp"
#include "core/ticket.hpp"

namespace {

using namespace tb;

constexpr std::string_view sample_item =
    R"({"Theatre-Seat":"S-00042","Movie":"Movie 42","Price":10.98,"Row":"S","Seat":42,"Tags":["imax","3d"]})";

void BM_DecimalParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(decimal::parse("15.990"));
}
BENCHMARK(BM_DecimalParse);

void BM_DecimalPrint(benchmark::State& state) {
  decimal d = *decimal::parse("15.99");
  for (auto _ : state) benchmark::DoNotOptimize(d.to_string());
}
BENCHMARK(BM_DecimalPrint);

void BM_PercentDecrease(benchmark::State& state) {
  decimal old_price = *decimal::parse("15.99"), new_price = *decimal::parse("12.99");
  for (auto _ : state) benchmark::DoNotOptimize(decimal::percent_decrease(old_price, new_price));
}
BENCHMARK(BM_PercentDecrease);

void BM_ItemDecode(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(sample_item));
}
BENCHMARK(BM_ItemDecode);

void BM_ItemEncode(benchmark::State& state) {
  json::value v = std::get<json::value>(json::parse(sample_item));
  for (auto _ : state) benchmark::DoNotOptimize(json::serialize(v));
}
BENCHMARK(BM_ItemEncode);

void BM_ValidateNewTicket(benchmark::State& state) {
  for (auto _ : state) {
    auto body = parse_body_object(sample_item);
    benchmark::DoNotOptimize(validate_new_ticket(std::move(*body)));
  }
}
BENCHMARK(BM_ValidateNewTicket);

// The price-change rule of serve's PATCH, on a ticket as the bench's PATCHes leave it (stamped by
// an earlier change and its handling): the new item and both events, serialised.
void BM_ChangePriceInSameWrite(benchmark::State& state) {
  const json::object ticket = *std::get<json::value>(json::parse(
      R"({"Theatre-Seat":"S-00001","Movie":"Movie 01","Price":6.23,"PreviousPrice":6.49,)"
      R"("LastPriceChangeTimestamp":"2026-11-28T21:39:59.365Z","LastPriceChangeEventId":"01a22419-c905-72ee-8c34-196f2a48bf6c",)"
      R"("DiscountPercentage":4.01,"IsDiscounted":true})")).if_object();
  const decimal price = *decimal::parse("5.99");
  const std::string now = "2026-11-28T21:40:00.000Z", id = "01a22419-ca28-73cf-9625-5f745067f357";
  for (auto _ : state) benchmark::DoNotOptimize(change_price(ticket, price, now, id, handling::in_same_write));
}
BENCHMARK(BM_ChangePriceInSameWrite);

// Answers from memory, at once: what is left is the router's own cost.
class memory_store final : public ticket_store {
 public:
  result<item_text> get(std::string_view) override { return std::make_shared<const std::string>(sample_item); }
  result<std::optional<std::string>> scan(std::string_view, std::size_t, const item_visitor&) override {
    return std::optional<std::string>();
  }
  result<std::vector<std::string>> movies() override { return std::vector<std::string>{}; }
  result<void> ping() override { return ok; }
  void create(json::object, completion<void> done) override { done(ok); }
  void update(update_command cmd, completion<update_outcome> done) override {
    json::object item = *std::get<json::value>(json::parse(sample_item)).if_object();
    auto write = change_price(item, *cmd.update.value.if_number(), cmd.now, cmd.event_id, handling::in_same_write);
    if (!write) return done(write.err());
    done(update_outcome{std::move(item), std::move(write->item), std::move(write->item_json), true});
  }
  void remove(std::string, completion<json::object> done) override { done(json::object{}); }
  void apply_price_metadata(metadata_command, completion<price_change_outcome> done) override {
    done(price_change_outcome::applied);
  }
};

// One request through the router, again and again; the store answers from memory at once.
void route(benchmark::State& state, const api_request& request) {
  memory_store store;
  system_clock clock;
  router r(store, nullptr, clock);
  for (auto _ : state) {
    api_request req = request;
    r.handle(std::move(req), [](api_response res) { benchmark::DoNotOptimize(res); });
  }
}
BENCHMARK_CAPTURE(route, get_ticket, api_request{"GET", "/ticket", {{"Theatre-Seat", "S-00042"}}, {}});
BENCHMARK_CAPTURE(route, post_ticket, api_request{"POST", "/ticket", {}, std::string(sample_item)});
BENCHMARK_CAPTURE(route, patch_price,
                  api_request{"PATCH", "/ticket", {}, R"({"Theatre-Seat":"S-00042","updateKey":"Price","updateValue":12.99})"});

}  // namespace

BENCHMARK_MAIN();
