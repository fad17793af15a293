// The README's flow, end to end: create 1-A9, change its price, read it back with the discount.
#include <gtest/gtest.h>

#include <thread>

#include "core/json.hpp"
#include "e2e/harness.hpp"

namespace tb::test {
namespace {

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

namespace tb::test {
namespace {

std::size_t count_tickets(unsigned short port) {
  auto listing = get(port, "/tickets");
  EXPECT_EQ(listing.status, 200);
  auto parsed = json::parse(listing.body);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v || !v->if_object() || !v->if_object()->find("tickets")) return SIZE_MAX;
  return v->if_object()->find("tickets")->if_array()->size();
}

// The full listing is cached between writes: every kind of write must show in the next listing,
// also one made by another process on the same data directory.
TEST(Smoke, FullListingReflectsEveryWriteIncludingOtherProcesses) {
  temp_dir dir;
  auto data = dir.path() / "data";
  server_process server(data);
  EXPECT_EQ(count_tickets(server.port()), 0u);
  ASSERT_EQ(request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"A","Movie":"M","Price":5})").status, 201);
  EXPECT_EQ(count_tickets(server.port()), 1u);
  EXPECT_EQ(count_tickets(server.port()), 1u);  // served from the cache

  auto invoked = run_cli({"invoke", "createTicket", "--data-dir", data.string(), "--data",
                          R"({"httpMethod":"POST","body":"{\"Theatre-Seat\":\"B\",\"Movie\":\"M\"}"})"});
  ASSERT_EQ(invoked.status, 0) << invoked.err;
  EXPECT_EQ(count_tickets(server.port()), 2u);

  ASSERT_EQ(request(server.port(), "PATCH", "/ticket", R"({"Theatre-Seat":"A","updateKey":"Movie","updateValue":"Z"})").status, 200);
  EXPECT_NE(get(server.port(), "/tickets").body.find(R"("Movie":"Z")"), std::string::npos);
  ASSERT_EQ(request(server.port(), "DELETE", "/ticket", R"({"Theatre-Seat":"A"})").status, 200);
  EXPECT_EQ(count_tickets(server.port()), 1u);
}

// A ticket once read is served from memory: every write must show in the next read of it, also
// one made by another process (invoke) on the same data directory.
TEST(Smoke, OneTicketReflectsEveryWriteIncludingOtherProcesses) {
  temp_dir dir;
  auto data = dir.path() / "data";
  server_process server(data);
  const std::string target = "/ticket?Theatre-Seat=A";
  ASSERT_EQ(request(server.port(), "POST", "/ticket", R"({"Theatre-Seat":"A","Movie":"M","Price":5})").status, 201);
  EXPECT_EQ(get(server.port(), target).body, R"({"Theatre-Seat":"A","Movie":"M","Price":5})");
  EXPECT_EQ(get(server.port(), target).body, R"({"Theatre-Seat":"A","Movie":"M","Price":5})");  // from memory

  auto invoked = run_cli({"invoke", "updateTicket", "--data-dir", data.string(), "--data",
                          R"({"httpMethod":"PATCH","body":"{\"Theatre-Seat\":\"A\",\"updateKey\":\"Movie\",\"updateValue\":\"Z\"}"})"});
  ASSERT_EQ(invoked.status, 0) << invoked.err;
  EXPECT_EQ(get(server.port(), target).body, R"({"Theatre-Seat":"A","Movie":"Z","Price":5})");
  EXPECT_EQ(get(server.port(), target).body, R"({"Theatre-Seat":"A","Movie":"Z","Price":5})");

  for (int i = 0; i < 20; ++i) {
    std::string movie = "\"M";  // built by appending: GCC 12 warns falsely on operator+ here
    movie.append(std::to_string(i)).append("\"");
    std::string patch = R"({"Theatre-Seat":"A","updateKey":"Movie","updateValue":)";
    patch.append(movie).append("}");
    ASSERT_EQ(request(server.port(), "PATCH", "/ticket", patch).status, 200);
    std::string expected = R"({"Theatre-Seat":"A","Movie":)";
    expected.append(movie).append(R"(,"Price":5})");
    EXPECT_EQ(get(server.port(), target).body, expected);
  }
  auto removed = run_cli({"invoke", "removeTicket", "--data-dir", data.string(), "--data",
                          R"({"httpMethod":"DELETE","queryStringParameters":{"Theatre-Seat":"A"}})"});
  ASSERT_EQ(removed.status, 0) << removed.err;
  EXPECT_EQ(get(server.port(), target).status, 404);
}

}  // namespace
}  // namespace tb::test

namespace tb::test {
namespace {

TEST(Smoke, ServesOnAHostNameAndOnIpv6WithAUrlInTheLog) {
  for (auto [host, url_host] : {std::pair{"localhost", "localhost"}, std::pair{"::1", "[::1]"}}) {
    temp_dir dir;
    server_process server(dir.path() / "data", {"--host", host});
    const std::string url = std::string("http://") + url_host + ":" + std::to_string(server.port());
    EXPECT_NE(server.log().find("listening on " + url), std::string::npos) << server.log();
    auto health = dir.path() / "health";
    std::string curl = "curl -s -g -o " + health.string() + " -w '%{http_code}' " + url + "/health | grep -q 200";
    EXPECT_EQ(std::system(curl.c_str()), 0) << curl;
  }
}

}  // namespace
}  // namespace tb::test

namespace tb::test {
namespace {

TEST(Smoke, CommandLineSaysWhatItCannotDo) {
  // Outside Lambda there is no Runtime API to serve (tests/lambda runs the command inside one).
  auto lambda = run_cli({"lambda"});
  EXPECT_EQ(lambda.status, 2);
  EXPECT_NE(lambda.err.find("lambda needs AWS_LAMBDA_RUNTIME_API"), std::string::npos) << lambda.err;
  auto unknown = run_cli({"frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown command frobnicate"), std::string::npos) << unknown.err;
  auto help = run_cli({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("ticket-booking serve"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("ticket-booking lambda"), std::string::npos) << help.out;
  auto bad_port = run_cli({"serve", "--port", "70000"});
  EXPECT_EQ(bad_port.status, 2);
  EXPECT_NE(bad_port.err.find("--port takes 0 to 65535"), std::string::npos) << bad_port.err;
}

}  // namespace
}  // namespace tb::test
