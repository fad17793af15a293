// `ticket-booking invoke FUNCTION --data EVENT --data-dir DIR`: the seven Lambda functions run
// once on a local data dir, no server. The HTTP functions take API Gateway proxy events and answer
// as API Gateway expects; priceChangeEventHandler takes SNS events, as the original's README shows.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "e2e/harness.hpp"
#include "e2e/lambda_events.hpp"

namespace tb::test {
namespace {

// JSON helpers (object_of, raw, str, ...) come from e2e/harness.hpp.

// ---- events in the shapes Lambda gets them ------------------------------------------------

// The test event of the original service's README, byte for byte: no eventId, no MessageId.
constexpr const char* readme_sns_event =
    R"({"Records":[{"EventSource":"aws:sns","Sns":{"Message":"{\"eventType\":\"PriceChangeInitiated\",\"theatreSeat\":\"1-A9\",\"movie\":\"Dune\",\"oldPrice\":15.99,\"newPrice\":12.99,\"timestamp\":\"2024-01-01T00:00:00Z\"}"}}]})";

std::string initiated_message(const std::string& seat, const std::string& old_price, const std::string& new_price,
                              std::optional<std::string> event_id = {}) {
  std::string m = "{\"eventType\":\"PriceChangeInitiated\",";
  if (event_id) m += "\"eventId\":" + json_string(*event_id) + ",";
  m += "\"theatreSeat\":" + json_string(seat) + ",\"movie\":\"Dune\",\"oldPrice\":" + old_price +
       ",\"newPrice\":" + new_price + ",\"timestamp\":\"2024-01-01T00:00:00Z\"}";
  return m;
}

// ---- a data dir and the functions on it ---------------------------------------------------

struct api_result {
  int exit = -1;
  int status = 0;
  json::object headers;
  std::string body;
  std::string err;
};

struct handler_result {
  int exit = -1;
  std::vector<json::object> results;
  std::string out, err;
  std::string outcome(std::size_t i = 0) const { return i < results.size() ? str(results[i], "outcome") : "<none>"; }
};

class InvokeTest : public ::testing::Test {
 protected:
  std::string data() const { return (dir_.path() / "data").string(); }

  command_result invoke(const std::string& function, const std::string& event) {
    return run_cli({"invoke", function, "--data", event, "--data-dir", data()});
  }

  api_result api(const std::string& function, const std::string& event) {
    auto r = invoke(function, event);
    api_result out;
    out.exit = r.status;
    out.err = r.err;
    json::object reply = object_of(r.out);
    out.status = std::stoi(raw(reply, "statusCode"));
    out.headers = member_object(reply, "headers");
    out.body = str(reply, "body");
    return out;
  }

  handler_result handle(const std::string& event) {
    auto r = invoke("priceChangeEventHandler", event);
    handler_result out;
    out.exit = r.status;
    out.out = r.out;
    out.err = r.err;
    json::object reply = object_of(r.out);
    if (const json::value* list = reply.find("results"); list && list->if_array())
      for (const auto& v : *list->if_array()) out.results.push_back(*v.if_object());
    return out;
  }

  void create(const std::string& seat, const std::string& price) {
    auto r = api("createTicket", api_event("POST", "/ticket",
                                           "{\"Theatre-Seat\":" + json_string(seat) + ",\"Movie\":\"Dune\",\"Price\":" + price + "}"));
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // The item's text as retrieveTicket returns it, or "" when there is none.
  std::string item_text(const std::string& seat) {
    auto r = api("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", seat}}));
    return r.status == 200 ? r.body : std::string();
  }

  // Every recorded event, via `ticket-booking events`.
  std::vector<json::object> events() {
    auto r = run_cli({"events", "--data-dir", data()});
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<json::object> out;
    for (const auto& line : lines_of(r.out)) out.push_back(object_of(line));
    return out;
  }

  std::vector<json::object> events_of_type(std::string_view type) {
    std::vector<json::object> out;
    for (auto& e : events())
      if (str(member_object(e, "event"), "eventType") == type) out.push_back(member_object(e, "event"));
    return out;
  }

  temp_dir dir_;
};

// ---- (1) the README's SNS event and idempotency -------------------------------------------

// The AWS settings are read only when DYNAMODB_TABLE asks for DynamoDB: a local run does not
// trip over a variable set for something else; a DynamoDB run names the one it cannot use.
TEST_F(InvokeTest, AwsSettingsCountOnlyWhenADynamoDBTableIsNamed) {
  environment env = this_environment();
  env.erase("DYNAMODB_TABLE");
  env["AWS_REGION"] = "not a region";
  env["AWS_ENDPOINT_URL"] = "ftp://nowhere";
  const std::string event = R"({"httpMethod":"POST","body":"{\"Theatre-Seat\":\"A-1\",\"Movie\":\"Dune\"}"})";
  auto local = run_cli({"invoke", "createTicket", "--data", event, "--data-dir", data()}, env);
  ASSERT_EQ(local.status, 0) << local.err;
  EXPECT_NE(local.out.find("\"statusCode\":201"), std::string::npos) << local.out;

  env["DYNAMODB_TABLE"] = "ticket-booking";
  const auto other = (dir_.path() / "other").string();
  auto aws = run_cli({"invoke", "createTicket", "--data", event, "--data-dir", other}, env);
  EXPECT_EQ(aws.status, 2);
  EXPECT_NE(aws.err.find("AWS_REGION"), std::string::npos) << aws.err;
  EXPECT_FALSE(std::filesystem::exists(other));
}

TEST_F(InvokeTest, ReadmeSnsEventAppliesTheMetadataOnceAndADuplicateChangesNothing) {
  create("1-A9", "12.99");

  auto first = handle(readme_sns_event);
  EXPECT_EQ(first.exit, 0) << first.err;
  ASSERT_EQ(first.results.size(), 1u) << first.out;
  EXPECT_EQ(first.outcome(), "applied") << first.out;

  const std::string item = item_text("1-A9");
  json::object ticket = object_of(item);
  EXPECT_NE(item.find("\"DiscountPercentage\":18.76"), std::string::npos) << item;
  EXPECT_EQ(raw(ticket, "IsDiscounted"), "true");
  EXPECT_EQ(raw(ticket, "PreviousPrice"), "15.99");
  EXPECT_EQ(raw(ticket, "Price"), "12.99");
  EXPECT_TRUE(ticket.contains("LastPriceChangeTimestamp"));

  auto processed = events_of_type("PriceChangeProcessed");
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_FALSE(str(processed[0], "causationId").empty());
  EXPECT_EQ(raw(processed[0], "discountPercentage"), "18.76");
  EXPECT_EQ(str(processed[0], "priceChangeTimestamp"), "2024-01-01T00:00:00Z");

  // The same delivery again (SNS is at-least-once): the hash of the message is its id.
  auto again = handle(readme_sns_event);
  EXPECT_EQ(again.exit, 0) << again.err;
  EXPECT_EQ(again.outcome(), "duplicate") << again.out;
  EXPECT_EQ(item_text("1-A9"), item) << "a duplicate changed the item";
  EXPECT_EQ(events_of_type("PriceChangeProcessed").size(), 1u) << "a duplicate published twice";
}

TEST_F(InvokeTest, ReadmeSnsEventFromAFile) {
  create("1-A9", "12.99");
  auto path = dir_.path() / "event.json";
  std::ofstream(path) << readme_sns_event;
  auto r = run_cli({"invoke", "priceChangeEventHandler", "--path", path.string(), "--data-dir", data()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"applied\""), std::string::npos) << r.out;
  EXPECT_NE(item_text("1-A9").find("\"DiscountPercentage\":18.76"), std::string::npos);
}

TEST_F(InvokeTest, TheSnsMessageIdIsTheIdempotencyKeyOfAnEventWithoutEventId) {
  create("1-A9", "12.99");
  auto first = handle(sns_event(initiated_message("1-A9", "15.99", "12.99"), "msg-0001"));
  EXPECT_EQ(first.exit, 0) << first.err;
  EXPECT_EQ(first.outcome(), "applied") << first.out;
  const std::string item = item_text("1-A9");
  auto processed = events_of_type("PriceChangeProcessed");
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(str(processed[0], "causationId"), "msg-0001");

  // Redelivered with the same MessageId, even if the text differs (whitespace here), is a duplicate.
  std::string spaced = initiated_message("1-A9", "15.99", "12.99");
  spaced.insert(spaced.begin(), ' ');
  spaced.push_back('\n');
  auto again = handle(sns_event(spaced, "msg-0001"));
  EXPECT_EQ(again.exit, 0) << again.err;
  EXPECT_EQ(again.outcome(), "duplicate") << again.out;
  EXPECT_EQ(item_text("1-A9"), item);
  EXPECT_EQ(events_of_type("PriceChangeProcessed").size(), 1u);
}

TEST_F(InvokeTest, AnEventIdWinsOverTheMessageId) {
  create("1-A9", "12.99");
  const std::string id = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
  auto first = handle(sns_event(initiated_message("1-A9", "15.99", "12.99", id), "msg-1"));
  EXPECT_EQ(first.outcome(), "applied") << first.out;
  auto processed = events_of_type("PriceChangeProcessed");
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(str(processed[0], "causationId"), id);
  const std::string item = item_text("1-A9");
  // The same event published again gets a new MessageId; its eventId still marks it handled.
  auto again = handle(sns_event(initiated_message("1-A9", "15.99", "12.99", id), "msg-2"));
  EXPECT_EQ(again.outcome(), "duplicate") << again.out;
  EXPECT_EQ(item_text("1-A9"), item);
  EXPECT_EQ(events_of_type("PriceChangeProcessed").size(), 1u);
}

// ---- (2) stale, missing, ignored, malformed -----------------------------------------------

TEST_F(InvokeTest, AStaleEventChangesNothing) {
  create("1-A9", "10");
  const std::string before = item_text("1-A9");
  auto r = handle(sns_event(initiated_message("1-A9", "15.99", "12.99"), "msg-stale"));
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.outcome(), "stale") << r.out;
  EXPECT_EQ(item_text("1-A9"), before);
  EXPECT_TRUE(events_of_type("PriceChangeProcessed").empty());
}

// The issue's ABA through invoke: 10 -> 8 -> 12 -> 8 with updateTicket (each change handled in
// its own write), then the first change's event once more under a fresh MessageId, with and
// without its eventId: stale, although its newPrice is the Price again.
TEST_F(InvokeTest, ALateEventOfAnEarlierChangeToTheSamePriceIsStale) {
  create("1-A9", "10");
  for (const char* price : {"8", "12", "8"}) {
    auto r = api("updateTicket", api_event("PATCH", "/ticket",
                                           std::string(R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":)") +
                                               price + "}"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const std::string latest = item_text("1-A9");
  json::object ticket = object_of(latest);
  ASSERT_EQ(raw(ticket, "PreviousPrice"), "12");
  ASSERT_EQ(raw(ticket, "DiscountPercentage"), "33.33");
  auto initiated = events_of_type("PriceChangeInitiated");
  ASSERT_EQ(initiated.size(), 3u);
  EXPECT_EQ(events_of_type("PriceChangeProcessed").size(), 3u);

  json::object late = initiated[0];
  auto with_id = handle(sns_event(json::serialize(json::value(late)), "late-1"));
  EXPECT_EQ(with_id.exit, 0) << with_id.err;
  EXPECT_EQ(with_id.outcome(), "stale") << with_id.out;
  late.erase("eventId");
  auto without_id = handle(sns_event(json::serialize(json::value(late)), "late-2"));
  EXPECT_EQ(without_id.outcome(), "stale") << without_id.out;
  EXPECT_EQ(item_text("1-A9"), latest);
  EXPECT_EQ(events_of_type("PriceChangeProcessed").size(), 3u);
}

TEST_F(InvokeTest, AnEventForAMissingTicketDoesNotCreateIt) {
  create("1-A9", "12.99");  // the data dir exists, the seat below does not
  auto r = handle(sns_event(initiated_message("9-Z9", "15.99", "12.99"), "msg-missing"));
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.outcome(), "missing") << r.out;
  auto got = api("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "9-Z9"}}));
  EXPECT_EQ(got.status, 404) << got.body;
  EXPECT_TRUE(events_of_type("PriceChangeProcessed").empty());
  auto all = api("retrieveAllTickets", api_event("GET", "/tickets"));
  EXPECT_EQ(all.body.find("9-Z9"), std::string::npos) << all.body;
}

TEST_F(InvokeTest, ProcessedAndUnknownEventTypesAreIgnored) {
  create("1-A9", "12.99");
  const std::string before = item_text("1-A9");
  const std::string processed =
      R"({"eventType":"PriceChangeProcessed","eventId":"0b6f6c39-8d0e-4d55-9a53-2f1f0e3c4d5a","causationId":"x",)"
      R"("theatreSeat":"1-A9","movie":"Dune","finalPrice":12.99,"priceChangeTimestamp":"2024-01-01T00:00:00Z",)"
      R"("isDiscounted":true,"discountPercentage":18.76,"processedAt":"2024-01-01T00:00:01Z","updatedItem":{}})";
  for (const std::string& message :
       {processed, std::string(R"({"eventType":"TicketCreated","theatreSeat":"1-A9","newPrice":1})")}) {
    auto r = handle(sns_event(message));
    EXPECT_EQ(r.exit, 0) << r.err;
    EXPECT_EQ(r.outcome(), "ignored") << message << " -> " << r.out;
    EXPECT_EQ(item_text("1-A9"), before);
    EXPECT_TRUE(events().empty()) << "an ignored event recorded something";
  }
}

TEST_F(InvokeTest, MalformedMessagesAreRejectedWithAReasonAndChangeNothing) {
  create("1-A9", "12.99");
  const std::string before = item_text("1-A9");
  const std::vector<std::string> malformed = {
      "this is not JSON",
      R"({"eventType":"PriceChangeInitiated","movie":"Dune","oldPrice":15.99,"newPrice":12.99})",
      R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99,"newPrice":-1})",
      R"({"eventType":"PriceChangeInitiated","theatreSeat":"1-A9","movie":"Dune","oldPrice":15.99})",
      R"(["PriceChangeInitiated"])",
      R"({"eventType":"PriceChangeInitiated","eventId":"evt-bad","theatreSeat":"1-A9","newPrice":-0.01})",
  };
  for (const auto& message : malformed) {
    auto r = handle(sns_event(message, "msg-bad"));
    EXPECT_NE(r.exit, 0) << message;
    ASSERT_EQ(r.results.size(), 1u) << r.out;
    EXPECT_EQ(r.outcome(), "rejected") << message << " -> " << r.out;
    EXPECT_FALSE(str(r.results[0], "reason").empty()) << r.out;
    EXPECT_EQ(item_text("1-A9"), before) << message;
    EXPECT_TRUE(events().empty()) << message;
    // The logged reason names the message: its eventId, else the MessageId standing in for it.
    const std::string id = message.find("evt-bad") != std::string::npos ? "evt-bad" : "msg-bad";
    bool logged = false;
    for (const auto& line : lines_of(r.err)) {
      json::object entry = object_of(line);
      if (str(entry, "level") == "warn" && str(entry, "eventId") == id && !str(entry, "reason").empty()) logged = true;
    }
    EXPECT_TRUE(logged) << message << " -> " << r.err;
  }
}

// ---- (3) the six HTTP functions -----------------------------------------------------------

TEST_F(InvokeTest, HttpFunctionsAnswerInApiGatewayShapeLikeTheServer) {
  auto movies = api("retrieveMovies", api_event("GET", "/movies"));
  EXPECT_EQ(movies.exit, 0) << movies.err;
  EXPECT_EQ(movies.status, 200);
  EXPECT_EQ(movies.body, R"({"movies":[]})");
  expect_api_gateway_headers(movies.headers);

  const std::string ticket = R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})";
  auto created = api("createTicket", api_event("POST", "/ticket", ticket));
  EXPECT_EQ(created.exit, 0);
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(created.body, R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})");
  expect_api_gateway_headers(created.headers);

  auto again = api("createTicket", api_event("POST", "/ticket", ticket));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, R"({"error":"Ticket already exists"})");
  expect_api_gateway_headers(again.headers);

  auto bad_json = api("createTicket", api_event("POST", "/ticket", "{not json"));
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.body, R"({"error":"Invalid JSON format"})");
  auto no_body = api("createTicket", api_event("POST", "/ticket"));
  EXPECT_EQ(no_body.status, 400);
  EXPECT_EQ(no_body.body, R"({"error":"Request body is required"})");

  auto got = api("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "1-A9"}}));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99})");
  expect_api_gateway_headers(got.headers);
  auto absent = api("retrieveTicket", api_event("GET", "/ticket", {}, {{"Theatre-Seat", "9-Z9"}}));
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(absent.body, R"({"error":"Ticket not found"})");
  auto no_query = api("retrieveTicket", api_event("GET", "/ticket"));
  EXPECT_EQ(no_query.status, 400);
  EXPECT_EQ(no_query.body, R"({"error":"Theatre-Seat query parameter is required"})");

  auto all = api("retrieveAllTickets", api_event("GET", "/tickets"));
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body, R"({"tickets":[{"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99}]})");
  movies = api("retrieveMovies", api_event("GET", "/movies"));
  EXPECT_EQ(movies.body, R"({"movies":["Dune"]})");

  // A price change: invoke delivers the event it recorded before it exits, so the discount is
  // there on the next call.
  auto updated = api("updateTicket", api_event("PATCH", "/ticket",
                                               R"({"Theatre-Seat":"1-A9","updateKey":"Price","updateValue":12.99})"));
  EXPECT_EQ(updated.exit, 0) << updated.err;
  EXPECT_EQ(updated.status, 200) << updated.body;
  expect_api_gateway_headers(updated.headers);
  json::object reply = object_of(updated.body);
  EXPECT_EQ(str(reply, "message"), "Ticket updated successfully");
  EXPECT_EQ(raw(reply, "updateValue"), "12.99");
  EXPECT_EQ(raw(reply, "priceChangeEventPublished"), "true");
  const std::string item = item_text("1-A9");
  json::object after = object_of(item);
  EXPECT_NE(item.find("\"DiscountPercentage\":18.76"), std::string::npos) << item;
  EXPECT_EQ(raw(after, "IsDiscounted"), "true");
  EXPECT_EQ(raw(after, "PreviousPrice"), "15.99");
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  for (const auto& e : recorded) EXPECT_EQ(str(e, "status"), "delivered") << json::serialize(json::value(e));
  EXPECT_EQ(str(member_object(recorded[1], "event"), "causationId"),
            str(member_object(recorded[0], "event"), "eventId"));

  auto missing_update = api("updateTicket", api_event("PATCH", "/ticket",
                                                      R"({"Theatre-Seat":"9-Z9","updateKey":"Price","updateValue":1})"));
  EXPECT_EQ(missing_update.status, 404);
  EXPECT_EQ(missing_update.body, R"({"error":"Ticket not found"})");
  auto managed = api("updateTicket", api_event("PATCH", "/ticket",
                                               R"({"Theatre-Seat":"1-A9","updateKey":"IsDiscounted","updateValue":false})"));
  EXPECT_EQ(managed.status, 400) << managed.body;

  auto removed = api("removeTicket", api_event("DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})"));
  EXPECT_EQ(removed.status, 200) << removed.body;
  json::object removed_reply = object_of(removed.body);
  EXPECT_EQ(str(removed_reply, "message"), "Ticket deleted successfully");
  EXPECT_EQ(str(removed_reply, "Theatre-Seat"), "1-A9");
  EXPECT_EQ(json::serialize(json::value(member_object(removed_reply, "deletedItem"))), item);
  auto gone = api("removeTicket", api_event("DELETE", "/ticket", R"({"Theatre-Seat":"1-A9"})"));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, R"({"error":"Ticket not found"})");
  EXPECT_EQ(item_text("1-A9"), "");

  auto preflight = api("retrieveTicket", api_event("OPTIONS", "/ticket"));
  EXPECT_EQ(preflight.status, 204);
  expect_api_gateway_headers(preflight.headers);
}

// ---- (4) bad usage ------------------------------------------------------------------------

TEST_F(InvokeTest, BadUsageExitsWith2AndSaysWhy) {
  auto unknown = invoke("retrieveEverything", api_event("GET", "/tickets"));
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown function retrieveEverything"), std::string::npos) << unknown.err;
  EXPECT_TRUE(unknown.out.empty()) << unknown.out;
  EXPECT_FALSE(std::filesystem::exists(data())) << "a mistyped name created a data dir";

  auto no_data = run_cli({"invoke", "retrieveMovies", "--data-dir", data()});
  EXPECT_EQ(no_data.status, 2);
  EXPECT_NE(no_data.err.find("--data"), std::string::npos) << no_data.err;

  auto both = run_cli({"invoke", "retrieveMovies", "--data", "{}", "--path", "x.json", "--data-dir", data()});
  EXPECT_EQ(both.status, 2);
  EXPECT_FALSE(both.err.empty());

  auto dangling = run_cli({"invoke", "retrieveMovies", "--data"});
  EXPECT_EQ(dangling.status, 2);
  EXPECT_NE(dangling.err.find("--data needs a value"), std::string::npos) << dangling.err;

  auto no_function = run_cli({"invoke", "--data", "{}"});
  EXPECT_EQ(no_function.status, 2);
  EXPECT_NE(no_function.err.find("FUNCTION"), std::string::npos) << no_function.err;

  auto not_json = invoke("retrieveMovies", "{\"httpMethod\":");
  EXPECT_EQ(not_json.status, 2);
  EXPECT_NE(not_json.err.find("not valid JSON"), std::string::npos) << not_json.err;
  auto handler_not_json = invoke("priceChangeEventHandler", "Records");
  EXPECT_EQ(handler_not_json.status, 2);
  EXPECT_NE(handler_not_json.err.find("not valid JSON"), std::string::npos) << handler_not_json.err;

  auto no_file = run_cli({"invoke", "retrieveMovies", "--path", (dir_.path() / "none.json").string(), "--data-dir", data()});
  EXPECT_EQ(no_file.status, 2);
  EXPECT_NE(no_file.err.find("cannot read"), std::string::npos) << no_file.err;

  // An API Gateway event handed to the SNS handler is not an SNS event.
  auto not_sns = invoke("priceChangeEventHandler", api_event("GET", "/tickets"));
  EXPECT_EQ(not_sns.status, 2);
  EXPECT_NE(not_sns.err.find("Records"), std::string::npos) << not_sns.err;
}

}  // namespace
}  // namespace tb::test
