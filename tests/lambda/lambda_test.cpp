// `ticket-booking lambda`, the real binary, against the fake Runtime API: one process per
// function as on Lambda (_HANDLER names it), API Gateway and SNS events in, proxy responses,
// handler results and error reports out.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "e2e/harness.hpp"
#include "e2e/lambda_events.hpp"
#include "lambda/fake_runtime_api.hpp"
#include "support/child_process.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* initiated =
    R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99,"newPrice":12.99,"timestamp":"2024-01-01T00:00:00Z"})";

struct proxy_response {
  int status = 0;
  json::object headers;
  json::object body;
};

class LambdaTest : public ::testing::Test {
 protected:
  std::filesystem::path data() const { return dir_.path() / "data"; }

  // A runtime for that _HANDLER, replacing the one before (Lambda runs one function per process).
  child_process& start(const std::string& handler) {
    runtime_.reset();
    nexts_before_ = api_.nexts();
    std::map<std::string, std::string> env{{"AWS_LAMBDA_RUNTIME_API", api_.address()}, {"_HANDLER", handler}};
    runtime_ = std::make_unique<child_process>(
        std::vector<std::string>{binary_path(), "lambda", "--data-dir", data().string()},
        with_sanitizer_options(env), dir_.path() / ("runtime" + std::to_string(++started_) + ".log"));
    return *runtime_;
  }

  // The runtime last started is up and waiting for an event.
  bool ready() { return api_.wait_until_waiting(nexts_before_); }

  // The event through the running runtime; what it posted back.
  runtime_post invoke(const std::string& event) {
    const std::string id = api_.enqueue(event);
    auto post = api_.wait_for_outcome(id);
    if (!post) throw std::runtime_error("no outcome for " + id + "; runtime log: " + runtime_->output());
    return *post;
  }

  // A function's proxy response to an API Gateway event, through a runtime for it.
  proxy_response call(const std::string& function, const std::string& event) {
    if (function != current_) {
      start(function);
      current_ = function;
    }
    runtime_post post = invoke(event);
    if (post.kind != "response")
      throw std::runtime_error(function + " posted " + post.kind + ": " + post.body);
    json::object reply = object_of(post.body);
    proxy_response r;
    r.status = std::stoi(raw(reply, "statusCode"));
    r.headers = member_object(reply, "headers");
    r.body = object_of(str(reply, "body"));
    return r;
  }

  void create(const std::string& seat, const std::string& price) {
    auto r = call("createTicket", api_event("POST", "/ticket",
                                            "{\"Theatre-Seat\":" + json_string(seat) +
                                                ",\"Movie\":\"Dune\",\"Price\":" + price + "}"));
    ASSERT_EQ(r.status, 201) << raw(r.body, "error");
  }

  json::object ticket(const std::string& seat) {
    return call("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", seat}})).body;
  }

  temp_dir dir_;
  fake_runtime_api api_;
  std::unique_ptr<child_process> runtime_;
  std::string current_;
  int started_ = 0;
  std::size_t nexts_before_ = 0;
};

TEST_F(LambdaTest, ApiGatewayEventsGetTheContractsProxyResponses) {
  auto movies = call("retrieveMovies", api_event("GET", "/movies"));
  EXPECT_EQ(movies.status, 200);
  EXPECT_EQ(json::serialize(json::value(movies.body)), R"({"movies":[]})");
  expect_api_gateway_headers(movies.headers);

  const std::string item = R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})";
  auto created = call("createTicket", api_event("POST", "/ticket", item));
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(json::serialize(json::value(created.body)),
            R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})");
  expect_api_gateway_headers(created.headers);
  // The same process serves the next invocation.
  auto again = call("createTicket", api_event("POST", "/ticket", item));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(str(again.body, "error"), "Ticket already exists");
  auto no_movie = call("createTicket", api_event("POST", "/ticket", R"({"Theatre-Seat":"1-B1"})"));
  EXPECT_EQ(no_movie.status, 400);
  EXPECT_EQ(str(no_movie.body, "error"), "Movie is required");

  auto got = call("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "1-A9"}}));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::serialize(json::value(got.body)), item);
  auto no_seat = call("retrieveTicket", api_event("GET", "/ticket"));
  EXPECT_EQ(no_seat.status, 400);
  EXPECT_EQ(str(no_seat.body, "error"), "Theatre-Seat query parameter is required");

  // A price change: the runtime hands on the event it recorded before taking the next one.
  auto updated = call(
      "updateTicket",
      api_event("PATCH", "/ticket", R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":12.99})"));
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(str(updated.body, "message"), "Ticket updated successfully");
  EXPECT_EQ(raw(updated.body, "priceChangeEventPublished"), "true");
  EXPECT_EQ(raw(member_object(updated.body, "updatedItem"), "Price"), "12.99");
  json::object discounted = ticket("1-A9");
  EXPECT_EQ(raw(discounted, "DiscountPercentage"), "18.76");
  EXPECT_EQ(raw(discounted, "PreviousPrice"), "15.99");

  auto movies_now = call("retrieveMovies", api_event("GET", "/movies"));
  EXPECT_EQ(json::serialize(json::value(movies_now.body)), R"({"movies":["Dune"]})");
  auto all = call("retrieveAllTickets", api_event("GET", "/tickets"));
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(raw(all.body, "tickets").find("\"Theatre-Seat\":\"1-A9\""), 2u) << raw(all.body, "tickets");

  auto removed = call("removeTicket", api_event("DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})"));
  EXPECT_EQ(removed.status, 200);
  EXPECT_EQ(str(removed.body, "message"), "Ticket deleted successfully");
  EXPECT_EQ(str(member_object(removed.body, "deletedItem"), "Theatre-Seat"), "1-A9");
  auto gone = call("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "1-A9"}}));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(str(gone.body, "error"), "Ticket not found");
}

// An HTTP API (payload 2.0) event: the method is in requestContext.http, not in httpMethod.
std::string http_api_event(const std::string& method, const std::string& body, bool base64) {
  json::object http;
  http.append_new("method", method);
  http.append_new("path", "/ticket");
  http.append_new("protocol", "HTTP/1.1");
  json::object context;
  context.append_new("http", std::move(http));
  context.append_new("requestId", "JKJaXmPLvHcESHA=");
  context.append_new("routeKey", "ANY /ticket");
  json::object e;
  e.append_new("version", "2.0");
  e.append_new("routeKey", "ANY /ticket");
  e.append_new("rawPath", "/ticket");
  e.append_new("rawQueryString", "");
  json::object headers;
  headers.append_new("content-type", "application/json");
  e.append_new("headers", std::move(headers));
  e.append_new("requestContext", std::move(context));
  e.append_new("body", body);
  e.append_new("isBase64Encoded", base64);
  return json::serialize(json::value(std::move(e)));
}

// A REST API (payload 1.0) event whose body API Gateway took for binary.
std::string base64_api_event(const std::string& encoded_body) {
  json::object e = object_of(api_event("POST", "/ticket", encoded_body));
  e.set("isBase64Encoded", true);
  return json::serialize(json::value(std::move(e)));
}

TEST_F(LambdaTest, AnHttpApiPreflightIsAnsweredAsOneAndChangesNothing) {
  start("createTicket");
  // Served as the function's POST, this would create the ticket.
  runtime_post preflight =
      invoke(http_api_event("OPTIONS", R"({"Theatre-Seat":"2-B4","Movie":"Dune","Price":12.99})", false));
  ASSERT_EQ(preflight.kind, "response") << preflight.body;
  json::object reply = object_of(preflight.body);
  EXPECT_EQ(raw(reply, "statusCode"), "204") << preflight.body;
  expect_api_gateway_headers(member_object(reply, "headers"));

  runtime_post created = invoke(http_api_event("POST", R"({"Theatre-Seat":"2-B5","Movie":"Dune"})", false));
  EXPECT_EQ(raw(object_of(created.body), "statusCode"), "201") << created.body;

  auto absent = call("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "2-B4"}}));
  EXPECT_EQ(absent.status, 404) << "the preflight created the ticket";
  EXPECT_EQ(str(ticket("2-B5"), "Movie"), "Dune");
}

TEST_F(LambdaTest, ABase64BodyIsDecodedAndABadOneIsA400ThatChangesNothing) {
  start("createTicket");
  // {"Theatre-Seat":"3-C1","Movie":"Amélie","Price":9.5}, as API Gateway encodes a binary body.
  const std::string encoded = "eyJUaGVhdHJlLVNlYXQiOiIzLUMxIiwiTW92aWUiOiJBbcOpbGllIiwiUHJpY2UiOjkuNX0=";
  runtime_post rest = invoke(base64_api_event(encoded));
  EXPECT_EQ(raw(object_of(rest.body), "statusCode"), "201") << rest.body;
  // HTTP API: the same, in payload 2.0 ({"Theatre-Seat":"3-C2","Movie":"Dune"}).
  runtime_post http =
      invoke(http_api_event("POST", "eyJUaGVhdHJlLVNlYXQiOiIzLUMyIiwiTW92aWUiOiJEdW5lIn0=", true));
  EXPECT_EQ(raw(object_of(http.body), "statusCode"), "201") << http.body;
  // Marked base64 but not: a clear 400, nothing stored.
  runtime_post bad = invoke(http_api_event("POST", R"({"Theatre-Seat":"3-C3","Movie":"Dune"})", true));
  json::object reply = object_of(bad.body);
  EXPECT_EQ(raw(reply, "statusCode"), "400") << bad.body;
  EXPECT_EQ(str(object_of(str(reply, "body")), "error"),
            "the event's body is marked isBase64Encoded but is not base64");

  json::object stored = ticket("3-C1");
  EXPECT_EQ(str(stored, "Movie"), "Am\u00e9lie");
  EXPECT_EQ(raw(stored, "Price"), "9.5");
  EXPECT_EQ(str(ticket("3-C2"), "Movie"), "Dune");
  auto absent = call("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "3-C3"}}));
  EXPECT_EQ(absent.status, 404);
}

TEST_F(LambdaTest, AHandlerInFileDotNameFormNamesTheFunctionAfterTheLastDot) {
  create("1-A9", "15.99");
  start("bootstrap.handlers.retrieveMovies");
  runtime_post post = invoke(api_event("GET", "/movies"));
  ASSERT_EQ(post.kind, "response") << post.body;
  EXPECT_EQ(str(object_of(post.body), "body"), R"({"movies":["Dune"]})");
}

TEST_F(LambdaTest, AnSnsEventOnThePriceChangeHandlerAppliesTheMetadata) {
  create("1-A9", "12.99");
  start("priceChangeEventHandler");
  runtime_post post = invoke(sns_event(initiated, "msg-1"));
  ASSERT_EQ(post.kind, "response") << post.body;
  EXPECT_EQ(post.body, R"({"results":[{"messageId":"msg-1","outcome":"applied"}]})");
  // SNS delivers at least once: the same message again changes nothing.
  runtime_post again = invoke(sns_event(initiated, "msg-1"));
  EXPECT_EQ(again.body, R"({"results":[{"messageId":"msg-1","outcome":"duplicate"}]})");

  json::object t = ticket("1-A9");
  EXPECT_EQ(raw(t, "DiscountPercentage"), "18.76");
  EXPECT_EQ(raw(t, "IsDiscounted"), "true");
  EXPECT_EQ(raw(t, "PreviousPrice"), "15.99");
  EXPECT_TRUE(t.contains("LastPriceChangeTimestamp"));
}

TEST_F(LambdaTest, AMalformedMessageIsDroppedWithALoggedReason) {
  create("1-A9", "12.99");
  child_process& runtime = start("priceChangeEventHandler");
  runtime_post post = invoke(sns_event("this is not JSON", "msg-bad"));
  // Not an error: SNS would deliver it again and again, and no retry can fix it.
  ASSERT_EQ(post.kind, "response") << post.body;
  const std::string reply = post.body;
  json::value parsed = value_of(reply);
  const json::value* results = parsed.if_object() ? parsed.if_object()->find("results") : nullptr;
  ASSERT_TRUE(results && results->if_array() && results->if_array()->size() == 1u) << reply;
  const json::object entry =
      results->if_array()->front().if_object() ? *results->if_array()->front().if_object() : json::object();
  EXPECT_EQ(str(entry, "outcome"), "rejected");
  EXPECT_FALSE(str(entry, "reason").empty());
  bool logged = false;
  for (const auto& line : lines_of(runtime.output())) {
    json::object l = object_of(line);
    if (str(l, "level") == "warn" && str(l, "eventId") == "msg-bad" && !str(l, "reason").empty())
      logged = true;
  }
  EXPECT_TRUE(logged) << runtime.output();
  EXPECT_FALSE(ticket("1-A9").contains("DiscountPercentage"));
}

TEST_F(LambdaTest, ARetryableFailureFailsTheInvocationSoThatItIsDeliveredAgain) {
  create("1-A9", "12.99");
  start("priceChangeEventHandler");
  ASSERT_TRUE(ready());
  // Another writer holds the database: the handler's write cannot commit (after the busy timeout).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data() / "tickets.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  runtime_post failed = invoke(sns_event(initiated, "msg-1"));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(failed.kind, "error") << failed.body;
  EXPECT_EQ(failed.error_type, "Function.EventNotHandled");
  EXPECT_FALSE(str(object_of(failed.body), "errorMessage").empty()) << failed.body;

  // Lambda's retry of the same event then applies it.
  runtime_post retried = invoke(sns_event(initiated, "msg-1"));
  EXPECT_EQ(retried.body, R"({"results":[{"messageId":"msg-1","outcome":"applied"}]})");
}

TEST_F(LambdaTest, MalformedEventsGetA400OrAnErrorReportAndTheLoopGoesOn) {
  start("createTicket");
  // An event that is JSON but not an API Gateway object: the function answers it, with a 400.
  runtime_post not_object = invoke("[1,2]");
  ASSERT_EQ(not_object.kind, "response") << not_object.body;
  json::object reply = object_of(not_object.body);
  EXPECT_EQ(raw(reply, "statusCode"), "400");
  EXPECT_EQ(str(reply, "body"), R"({"error":"the event must be a JSON object"})");
  runtime_post body_not_string = invoke(R"({"httpMethod":"POST","body":{"Theatre-Seat":"1-A9"}})");
  EXPECT_EQ(raw(object_of(body_not_string.body), "statusCode"), "400") << body_not_string.body;

  // Not JSON at all: nothing to answer, so it is the invocation's error.
  runtime_post not_json = invoke("{\"httpMethod\":");
  EXPECT_EQ(not_json.kind, "error");
  EXPECT_EQ(not_json.error_type, "Function.InvalidEvent");
  EXPECT_NE(not_json.body.find("not valid JSON"), std::string::npos) << not_json.body;

  // The runtime is still there and serves the next one.
  runtime_post created = invoke(api_event("POST", "/ticket", R"({"Theatre-Seat":"1-A9","Movie":"Dune"})"));
  ASSERT_EQ(created.kind, "response") << created.body;
  EXPECT_EQ(raw(object_of(created.body), "statusCode"), "201");

  // The event handler given an API Gateway event: not an SNS event.
  start("priceChangeEventHandler");
  runtime_post not_sns = invoke(api_event("GET", "/tickets"));
  EXPECT_EQ(not_sns.kind, "error");
  EXPECT_EQ(not_sns.error_type, "Function.InvalidEvent");
  EXPECT_NE(not_sns.body.find("Records"), std::string::npos) << not_sns.body;
  runtime_post applied = invoke(sns_event(R"({"eventType":"TicketCreated"})", "msg-2"));
  EXPECT_EQ(applied.body, R"({"results":[{"messageId":"msg-2","outcome":"ignored"}]})");
}

TEST_F(LambdaTest, AnUnknownHandlerIsAnInitErrorAndTheProcessExitsNonzero) {
  child_process& runtime = start("tickets.retrieveEverything");
  auto status = runtime.wait(30s);
  ASSERT_TRUE(status) << "still running: " << runtime.output();
  EXPECT_NE(*status, 0);
  auto posts = api_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].error_type, "Runtime.HandlerNotFound");
  EXPECT_NE(posts[0].body.find("tickets.retrieveEverything"), std::string::npos) << posts[0].body;
  EXPECT_EQ(api_.nexts(), 0u) << "asked for an invocation it cannot serve";
  EXPECT_FALSE(std::filesystem::exists(data())) << "opened a store for no function";
}

TEST_F(LambdaTest, AStoreThatCannotOpenIsAnInitError) {
  std::ofstream(data()) << "a file where the data dir should be";
  child_process runtime(
      {binary_path(), "lambda", "--data-dir", data().string()},
      with_sanitizer_options({{"AWS_LAMBDA_RUNTIME_API", api_.address()}, {"_HANDLER", "retrieveMovies"}}),
      dir_.path() / "init.log");
  auto status = runtime.wait(30s);
  ASSERT_TRUE(status) << "still running: " << runtime.output();
  EXPECT_NE(*status, 0);
  auto posts = api_.posts();
  ASSERT_EQ(posts.size(), 1u) << runtime.output();
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].error_type, "Runtime.InitError");
  EXPECT_FALSE(str(object_of(posts[0].body), "errorMessage").empty()) << posts[0].body;
  EXPECT_EQ(api_.nexts(), 0u);
}

TEST_F(LambdaTest, WithoutTheRuntimeApiAddressItIsAUsageError) {
  auto missing = std::make_unique<child_process>(
      std::vector<std::string>{binary_path(), "lambda", "--data-dir", data().string()},
      with_sanitizer_options({{"_HANDLER", "retrieveMovies"}}), dir_.path() / "missing.log");
  auto status = missing->wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  EXPECT_NE(missing->output().find("AWS_LAMBDA_RUNTIME_API"), std::string::npos) << missing->output();

  auto malformed = std::make_unique<child_process>(
      std::vector<std::string>{binary_path(), "lambda", "--data-dir", data().string()},
      with_sanitizer_options({{"_HANDLER", "retrieveMovies"}, {"AWS_LAMBDA_RUNTIME_API", "localhost"}}),
      dir_.path() / "malformed.log");
  status = malformed->wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  EXPECT_NE(malformed->output().find("host:port"), std::string::npos) << malformed->output();
  EXPECT_FALSE(std::filesystem::exists(data()));
}

TEST_F(LambdaTest, ARuntimeApiThatGoesAwayEndsTheProcessWithALoggedReason) {
  child_process& runtime = start("retrieveMovies");
  ASSERT_TRUE(ready()) << runtime.output();
  api_.stop();
  auto status = runtime.wait(30s);
  ASSERT_TRUE(status) << "still running after the Runtime API went away";
  EXPECT_NE(*status, 0);
  bool logged = false;
  for (const auto& line : lines_of(runtime.output())) {
    json::object l = object_of(line);
    if (str(l, "msg") == "the Runtime API went away" && !str(l, "reason").empty()) logged = true;
  }
  EXPECT_TRUE(logged) << runtime.output();
}

}  // namespace
}  // namespace tb::test
