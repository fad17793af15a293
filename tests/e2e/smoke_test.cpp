// The README's flow, end to end: create 1-A9, change its price, read it back with the discount.
#include <gtest/gtest.h>

#include <thread>

#include "core/json.hpp"
#include "e2e/harness.hpp"

namespace tb::test {
namespace {

json::object object_of(const std::string& text) {
  auto parsed = json::parse(text);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v || !v->if_object()) throw std::runtime_error("not a JSON object: " + text);
  return *v->if_object();
}

TEST(Smoke, ReadmeFlowShowsTheDiscountAfterAPriceDrop) {
  temp_dir dir;
  server_process server(dir.path() / "data");
  auto created = request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body, R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})");

  auto patched = request(server.port(), "PATCH", "/ticket",
                         R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":12.99})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto reply = object_of(patched.body);
  EXPECT_EQ(*reply.find("priceChangeEventPublished")->if_bool(), true);

  std::string metadata;
  for (int i = 0; i < 500 && metadata.empty(); ++i) {
    auto item = object_of(get(server.port(), "/ticket?Theatre-Seat=1-A9").body);
    if (const json::value* d = item.find("DiscountPercentage")) metadata = json::serialize(*d);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metadata, "18.76");
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace tb::test
