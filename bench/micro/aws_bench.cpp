// Hot paths of a Lambda invocation on AWS, without I/O: signing a request (SigV4) and turning an
// item into DynamoDB's AttributeValue form and back.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "aws/sigv4.hpp"
#include "core/json.hpp"
#include "dynamodb/attribute_value.hpp"

namespace {

using namespace tb;

constexpr std::string_view sample_item =
    R"({"Theatre-Seat":"S-00042","Movie":"Movie 42","Price":10.98,"Row":"S","Seat":42,"Tags":["imax","3d"]})";

aws::sigv4_signer signer() {
  return {{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"}, "us-east-1", "dynamodb"};
}

aws::http_request request(std::size_t body_bytes) {
  aws::http_request r;
  r.url = "https://dynamodb.us-east-1.amazonaws.com/";
  r.headers = {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "DynamoDB_20120810.GetItem"}};
  r.body = R"({"TableName":"ticket-booking","Key":{"Theatre-Seat":{"S":"S-00042"}},"ConsistentRead":true})";
  r.body.resize(std::max(r.body.size(), body_bytes), ' ');
  return r;
}

// A GetItem's size, then an SNS Publish of an event with its item (a few KB).
void BM_SigV4Sign(benchmark::State& state) {
  const auto s = signer();
  const auto base = request(static_cast<std::size_t>(state.range(0)));
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto r = base;
    s.sign(r, now);
    benchmark::DoNotOptimize(r.headers.back());
  }
}
BENCHMARK(BM_SigV4Sign)->Arg(0)->Arg(4096);

void BM_ItemToAttributeValues(benchmark::State& state) {
  const json::value v = std::get<json::value>(json::parse(sample_item));
  for (auto _ : state) benchmark::DoNotOptimize(dynamodb::to_item(*v.if_object()));
}
BENCHMARK(BM_ItemToAttributeValues);

void BM_ItemFromAttributeValues(benchmark::State& state) {
  const auto wire = dynamodb::to_item(*std::get<json::value>(json::parse(sample_item)).if_object());
  for (auto _ : state) benchmark::DoNotOptimize(dynamodb::from_item(wire));
}
BENCHMARK(BM_ItemFromAttributeValues);

}  // namespace

BENCHMARK_MAIN();
