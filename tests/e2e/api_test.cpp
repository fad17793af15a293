// The HTTP contract (shared/CONTRACT.md), row by row, against the real binary on loopback: exact
// status codes, messages and bodies, the CORS headers on every answer, exact decimals end to end,
// and that a rejected request changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/json.hpp"
#include "e2e/harness.hpp"

namespace tb::test {
namespace {

const std::string created_message = "Ticket created successfully";
const std::string body_required = "Request body is required";
const std::string invalid_json = "Invalid JSON format";
const std::string not_an_object = "Request body must be a JSON object";
const std::string seat_required = "Theatre-Seat is required";
const std::string movie_required = "Movie is required";
const std::string bad_price = "Price must be a non-negative number";
const std::string not_found_message = "Ticket not found";
const std::vector<std::string> managed_keys{
    "PreviousPrice", "LastPriceChangeTimestamp", "LastPriceChangeEventId", "DiscountPercentage", "IsDiscounted",
    "previousprice", "ISDISCOUNTED"};

std::optional<json::value> parse_json(const std::string& text) {
  auto parsed = json::parse(text);
  if (auto* v = std::get_if<json::value>(&parsed)) return std::move(*v);
  return std::nullopt;
}

json::value json_of(const std::string& text) {
  auto v = parse_json(text);
  if (!v) throw std::runtime_error("not JSON: " + text);
  return std::move(*v);
}

const json::object& object_of(const json::value& v) {
  if (!v.if_object()) throw std::runtime_error("not a JSON object: " + json::serialize(v));
  return *v.if_object();
}

std::string text_of(const json::value* v) { return v ? json::serialize(*v) : "<absent>"; }

std::set<std::string> keys_of(const json::object& o) {
  std::set<std::string> keys;
  for (const auto& [k, _] : o) keys.insert(k);
  return keys;
}

::testing::AssertionResult has_standard_headers(const http_response& r) {
  const std::pair<const char*, const char*> expected[] = {
      {"content-type", "application/json"},
      {"access-control-allow-origin", "*"},
      {"access-control-allow-methods", "GET,POST,PATCH,DELETE,OPTIONS"},
      {"access-control-allow-headers", "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"},
  };
  for (const auto& [name, value] : expected) {
    if (!r.headers.contains(name))
      return ::testing::AssertionFailure() << "status " << r.status << ": header " << name << " missing";
    if (r.header(name) != value)
      return ::testing::AssertionFailure()
             << "status " << r.status << ": " << name << " is '" << r.header(name) << "', want '" << value << "'";
  }
  return ::testing::AssertionSuccess();
}

// Status, standard headers and a body equal, as JSON, to `expected` (every member, no extra).
::testing::AssertionResult is_json(const http_response& r, int status, const std::string& expected) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "status " << r.status << ", want " << status << "; body " << r.body;
  if (auto h = has_standard_headers(r); !h) return h;
  auto actual = parse_json(r.body);
  if (!actual) return ::testing::AssertionFailure() << "body is not JSON: " << r.body;
  if (!(*actual == json_of(expected)))
    return ::testing::AssertionFailure() << "body " << r.body << "\n want " << expected;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_error(const http_response& r, int status, const std::string& message) {
  json::object body;
  body.append_new("error", message);
  return is_json(r, status, json::serialize(body));
}

// A 4xx with the error shape, where the contract does not fix the message.
::testing::AssertionResult is_some_error(const http_response& r, int status) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "status " << r.status << ", want " << status << "; body " << r.body;
  if (auto h = has_standard_headers(r); !h) return h;
  auto actual = parse_json(r.body);
  if (!actual || !actual->if_object() || actual->if_object()->size() != 1)
    return ::testing::AssertionFailure() << "not an error body: " << r.body;
  const json::value* e = actual->if_object()->find("error");
  if (!e || !e->if_string() || e->if_string()->empty())
    return ::testing::AssertionFailure() << "not an error body: " << r.body;
  return ::testing::AssertionSuccess();
}

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string json_quoted(std::string_view s) {
  std::string out;
  json::append_quoted(out, s);
  return out;
}

std::string seat_body(std::string_view seat) { return "{\"Theatre-Seat\":" + json_quoted(seat) + "}"; }

std::string ticket_body(std::string_view seat, std::string_view movie = "Dune", std::string_view extra = "") {
  std::string body = "{\"Theatre-Seat\":" + json_quoted(seat) + ",\"Movie\":" + json_quoted(movie);
  if (!extra.empty()) body += "," + std::string(extra);
  return body + "}";
}

std::string update_body(std::string_view seat, std::string_view key, std::string_view value_json) {
  return "{\"Theatre-Seat\":" + json_quoted(seat) + ",\"updateKey\":" + json_quoted(key) +
         ",\"updateValue\":" + std::string(value_json) + "}";
}

// "2026-11-28T02:09:22.123Z", and close to now (a stamp in local time or from 1970 is wrong).
::testing::AssertionResult is_recent_utc_timestamp(const json::value* v) {
  static const std::regex iso(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$)");
  const std::string* s = v ? v->if_string() : nullptr;
  std::smatch m;
  if (!s || !std::regex_match(*s, m, iso))
    return ::testing::AssertionFailure() << "not an ISO-8601 UTC time: " << text_of(v);
  std::tm t{};
  t.tm_year = std::stoi(m[1]) - 1900;
  t.tm_mon = std::stoi(m[2]) - 1;
  t.tm_mday = std::stoi(m[3]);
  t.tm_hour = std::stoi(m[4]);
  t.tm_min = std::stoi(m[5]);
  t.tm_sec = std::stoi(m[6]);
  const auto skew = std::abs(static_cast<long long>(timegm(&t) - std::time(nullptr)));
  if (skew > 300) return ::testing::AssertionFailure() << *s << " is " << skew << " s away from now";
  return ::testing::AssertionSuccess();
}

class Api : public ::testing::Test {
 protected:
  unsigned short port() const { return server_.port(); }

  http_response post(const std::string& body) { return request(port(), "POST", "/ticket", body); }
  http_response patch(const std::string& body) { return request(port(), "PATCH", "/ticket", body); }
  http_response remove(const std::string& body) { return request(port(), "DELETE", "/ticket", body); }
  http_response get_ticket(std::string_view seat) { return get(port(), "/ticket?Theatre-Seat=" + url_encode(seat)); }
  std::string listing() {
    auto r = get(port(), "/tickets");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  std::string events() {
    auto r = get(port(), "/events?limit=1000");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  void create(const std::string& body) {
    auto r = post(body);
    ASSERT_EQ(r.status, 201) << body << " -> " << r.body;
  }
  // The seats of a GET /tickets body, in order.
  static std::vector<std::string> seats_of(const std::string& listing_body) {
    std::vector<std::string> seats;
    const json::value listed = json_of(listing_body);
    for (const auto& item : *object_of(listed).find("tickets")->if_array())
      seats.push_back(*object_of(item).find("Theatre-Seat")->if_string());
    return seats;
  }

  temp_dir dir_;
  server_process server_{dir_.path() / "data"};
};

// --- GET /health, OPTIONS, unknown paths and methods ---------------------------------------------

TEST_F(Api, HealthIsOk) { EXPECT_TRUE(is_json(get(port(), "/health"), 200, R"({"status":"ok"})")); }

TEST_F(Api, OptionsOnEveryPathIs204WithTheCorsHeaders) {
  for (const char* target : {"/movies", "/ticket", "/tickets", "/ticket?Theatre-Seat=1-A1", "/health"}) {
    SCOPED_TRACE(target);
    auto r = request(port(), "OPTIONS", target);
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(has_standard_headers(r));
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.headers.count("content-length"), 0u) << "a 204 says nothing of a length (RFC 9110, 8.6)";
  }
}

TEST_F(Api, UnknownPathIs404NotFound) {
  for (const char* method : {"GET", "POST", "PATCH", "DELETE", "OPTIONS", "PUT"}) {
    for (const char* target : {"/nope", "/ticket/", "/ticket/1-A1", "/Tickets", "/movies/x", "/tickets.json",
                               "/index.html", "/docs/", "/assets/", "/assets/missing.js"}) {
      SCOPED_TRACE(std::string(method) + " " + target);
      EXPECT_TRUE(is_error(request(port(), method, target), 404, "Not Found"));
    }
  }
}

TEST_F(Api, KnownPathWithAnotherMethodIs405WithAllow) {
  struct probe {
    const char* method;
    const char* path;
    std::set<std::string> allow;
  };
  // serve answers HEAD wherever it answers GET, and says so
  const std::set<std::string> read_only{"GET", "HEAD", "OPTIONS"};
  const std::set<std::string> ticket{"GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"};
  const probe probes[] = {
      {"PUT", "/ticket", ticket},       {"TRACE", "/ticket", ticket},    {"POST", "/movies", read_only},
      {"DELETE", "/movies", read_only}, {"POST", "/tickets", read_only}, {"PATCH", "/tickets", read_only},
      {"PUT", "/tickets", read_only},   {"POST", "/health", read_only},
      // serve's pages (the console, the reference, the document) are read-only, and take no preflight
      {"POST", "/", {"GET", "HEAD"}},   {"DELETE", "/docs", {"GET", "HEAD"}},
      {"OPTIONS", "/openapi.json", {"GET", "HEAD"}},
  };
  for (const auto& p : probes) {
    SCOPED_TRACE(std::string(p.method) + " " + p.path);
    auto r = request(port(), p.method, p.path, p.method == std::string("TRACE") ? "" : "{}");
    EXPECT_TRUE(is_error(r, 405, "Method Not Allowed"));
    std::set<std::string> allow;
    std::string header = r.header("allow");
    std::regex token(R"([A-Z]+)");
    for (auto it = std::sregex_iterator(header.begin(), header.end(), token); it != std::sregex_iterator(); ++it)
      allow.insert(it->str());
    EXPECT_EQ(allow, p.allow) << "Allow: " << header;
  }
  EXPECT_EQ(listing(), R"({"tickets":[]})");  // a POST to /tickets or /movies created nothing
}

// --- GET /movies ---------------------------------------------------------------------------------

TEST_F(Api, MoviesAreTheDistinctNonEmptyStringMoviesSorted) {
  EXPECT_TRUE(is_json(get(port(), "/movies"), 200, R"({"movies":[]})"));
  create(ticket_body("m01", "Zed"));
  create(ticket_body("m02", "alpha"));
  create(ticket_body("m03", "Alpha"));
  create(ticket_body("m04", "Zed"));
  create(ticket_body("m05", "\xc3\x9cnicode"));  // Ü: after every ASCII letter in code-point order
  create(R"({"Theatre-Seat":"m06","Movie":5})");
  create(R"({"Theatre-Seat":"m07","Movie":["Listed"]})");
  create(R"({"Theatre-Seat":"m08","Movie":{"title":"Nested"}})");
  create(R"({"Theatre-Seat":"m09","Movie":true})");
  create(ticket_body("m10", "Blanked"));
  create(ticket_body("m11", "Nulled"));
  create(ticket_body("m12", "Deleted"));
  create(ticket_body("m13", "Renamed"));
  ASSERT_EQ(patch(update_body("m10", "Movie", R"("")")).status, 200);
  ASSERT_EQ(patch(update_body("m11", "Movie", "null")).status, 400);  // updateValue is required
  ASSERT_EQ(patch(update_body("m11", "Movie", "false")).status, 200);
  ASSERT_EQ(remove(seat_body("m12")).status, 200);
  ASSERT_EQ(patch(update_body("m13", "Movie", R"("Beta")")).status, 200);
  EXPECT_TRUE(
      is_json(get(port(), "/movies"), 200, "{\"movies\":[\"Alpha\",\"Beta\",\"Zed\",\"alpha\",\"\xc3\x9cnicode\"]}"));
}

// --- GET /ticket ---------------------------------------------------------------------------------

TEST_F(Api, GetTicketReturnsTheItemItself) {
  const std::string item =
      R"({"Theatre-Seat":"1-A1","Movie":"Dune","Price":15.99,"Showtime":"20:00","Vip":false,"Note":null,)"
      R"("Seats":[1,"two",{"three":3}],"Hall":{"Name":"Grand","Floor":2}})";
  create(item);
  auto r = get_ticket("1-A1");
  EXPECT_TRUE(is_json(r, 200, item));
}

TEST_F(Api, GetTicketWithoutASeatIs400) {
  create(ticket_body("1-A1"));
  for (const char* target : {"/ticket", "/ticket?", "/ticket?Theatre-Seat=", "/ticket?Theatre-Seat",
                             "/ticket?seat=1-A1", "/ticket?theatre-seat=1-A1"}) {
    SCOPED_TRACE(target);
    EXPECT_TRUE(is_error(get(port(), target), 400, "Theatre-Seat query parameter is required"));
  }
}

TEST_F(Api, GetMissingTicketIs404) {
  create(ticket_body("1-A1"));
  EXPECT_TRUE(is_error(get_ticket("1-A2"), 404, not_found_message));
  EXPECT_TRUE(is_error(get_ticket("1-a1"), 404, not_found_message));  // seats are case sensitive
}

TEST_F(Api, SeatsThatNeedUrlEncodingRoundTrip) {
  const std::vector<std::string> seats{
      "Row 1 Seat 2",
      "B+2",
      "C&D=3",
      "50%",
      "q?r#s",
      "a/b\\c",
      "quote\"d",
      "\xc3\x9cml\xc3\xa4ut-\xf0\x9f\x8e\xac",
      " leading and trailing ",
  };
  for (const auto& seat : seats) {
    SCOPED_TRACE(seat);
    auto created = post(ticket_body(seat));
    EXPECT_TRUE(is_json(
        created, 201,
        "{\"message\":\"Ticket created successfully\",\"Theatre-Seat\":" + json_quoted(seat) + ",\"Movie\":\"Dune\"}"));
    EXPECT_TRUE(is_json(get_ticket(seat), 200, ticket_body(seat)));
  }
  std::vector<std::string> sorted = seats;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seats_of(listing()), sorted);
  // The encoded and the literal forms are different seats.
  EXPECT_TRUE(is_error(get(port(), "/ticket?Theatre-Seat=B%252B2"), 404, not_found_message));
  for (const auto& seat : seats) {
    SCOPED_TRACE(seat);
    EXPECT_EQ(remove(seat_body(seat)).status, 200);
    EXPECT_TRUE(is_error(get_ticket(seat), 404, not_found_message));
  }
}

// --- GET /tickets --------------------------------------------------------------------------------

TEST_F(Api, ListingIsEveryItemInByteOrderOfTheSeat) {
  EXPECT_TRUE(is_json(get(port(), "/tickets"), 200, R"({"tickets":[]})"));
  const std::vector<std::string> seats{"b", "B", "10", "9", "a", "\xc3\x84", "~", "A-1", "A 1", "Z"};
  for (const auto& s : seats) create(ticket_body(s, "Movie " + s));
  std::vector<std::string> sorted = seats;
  std::sort(sorted.begin(), sorted.end());  // std::string compares bytes as unsigned char
  auto r = get(port(), "/tickets");
  std::string expected = "{\"tickets\":[";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i) expected += ',';
    expected += ticket_body(sorted[i], "Movie " + sorted[i]);
  }
  EXPECT_TRUE(is_json(r, 200, expected + "]}"));  // arrays compare in order; no nextCursor
}

// Follows nextCursor from the first page; returns the pages' seats.
std::vector<std::vector<std::string>> walk_pages(unsigned short port, std::size_t limit) {
  std::vector<std::vector<std::string>> pages;
  std::string target = "/tickets?limit=" + std::to_string(limit);
  for (int guard = 0; guard < 10'000; ++guard) {
    auto r = get(port, target);
    EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
    if (r.status != 200) break;
    const json::value body = json_of(r.body);
    const auto& page = object_of(body);
    std::vector<std::string> seats;
    for (const auto& item : *page.find("tickets")->if_array())
      seats.push_back(*object_of(item).find("Theatre-Seat")->if_string());
    pages.push_back(seats);
    const json::value* next = page.find("nextCursor");
    if (!next) break;
    EXPECT_TRUE(next->if_string() && !next->if_string()->empty()) << r.body;
    EXPECT_EQ(seats.size(), limit) << "a page before the last is full";
    target = "/tickets?limit=" + std::to_string(limit) + "&cursor=" + url_encode(*next->if_string());
  }
  return pages;
}

TEST_F(Api, PagingWalksEveryItemExactlyOnce) {
  std::vector<std::string> seats;
  for (int i = 0; i < 10; ++i) seats.push_back("P-" + std::string(1, static_cast<char>('j' - i)));
  for (const auto& s : seats) create(ticket_body(s));
  std::sort(seats.begin(), seats.end());
  ASSERT_EQ(seats_of(listing()), seats);
  for (std::size_t limit : {1, 3, 5, 9, 10, 11, 1000}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    auto pages = walk_pages(port(), limit);
    EXPECT_EQ(pages.size(), (seats.size() + limit - 1) / limit);
    std::vector<std::string> walked;
    for (const auto& p : pages) {
      EXPECT_LE(p.size(), limit);
      walked.insert(walked.end(), p.begin(), p.end());
    }
    EXPECT_EQ(walked, seats);
  }
}

TEST_F(Api, ListingCrossesTheStoresPageSize) {
  // More items than the store returns in one page (1000): the unpaged listing must still hold
  // each exactly once. Created over a few keep-alive connections to keep this quick.
  constexpr int count = 1005;
  constexpr int writers = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      http_client client(port());
      for (int i = w; i < count; i += writers) {
        char seat[16];
        std::snprintf(seat, sizeof seat, "S%04d", i);
        if (client.send("POST", "/ticket", ticket_body(seat)).status != 201) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures, 0);
  std::vector<std::string> expected;
  for (int i = 0; i < count; ++i) {
    char seat[16];
    std::snprintf(seat, sizeof seat, "S%04d", i);
    expected.emplace_back(seat);
  }
  auto all = json_of(listing());
  EXPECT_EQ(object_of(all).find("nextCursor"), nullptr);
  EXPECT_EQ(seats_of(json::serialize(all)), expected);
  auto pages = walk_pages(port(), 1000);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].size(), 1000u);
  EXPECT_EQ(pages[1].size(), 5u);
}

TEST_F(Api, BadLimitOrCursorIs400) {
  create(ticket_body("1-A1"));
  create(ticket_body("1-A2"));
  for (const char* query :
       {"limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=5x", "limit=%205",
        "limit=99999999999999999999999", "cursor=", "cursor=garbage", "cursor=%00%01", "limit=1&cursor=nonsense"}) {
    SCOPED_TRACE(query);
    EXPECT_TRUE(is_some_error(get(port(), std::string("/tickets?") + query), 400));
  }
  // A cursor the service handed out is accepted.
  auto first = json_of(get(port(), "/tickets?limit=1").body);
  const json::value* next = object_of(first).find("nextCursor");
  ASSERT_TRUE(next && next->if_string());
  auto second = get(port(), "/tickets?limit=1&cursor=" + url_encode(*next->if_string()));
  EXPECT_TRUE(is_json(second, 200, "{\"tickets\":[" + ticket_body("1-A2") + "]}"));
}

// --- POST /ticket --------------------------------------------------------------------------------

TEST_F(Api, CreateAnswers201AndStoresTheBody) {
  const std::string item = R"({"Theatre-Seat":"1-A9","Movie":"Dune","Price":15.99,"Extras":{"Popcorn":true}})";
  auto r = post(item);
  EXPECT_TRUE(is_json(r, 201, R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})"));
  EXPECT_EQ(r.body, R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})");
  EXPECT_TRUE(is_json(get_ticket("1-A9"), 200, item));
  EXPECT_EQ(listing(), "{\"tickets\":[" + json::serialize(json_of(item)) + "]}");

  // Price 0 is a price; a ticket without one is a ticket.
  EXPECT_EQ(post(ticket_body("1-B1", "Dune", "\"Price\":0")).status, 201);
  EXPECT_EQ(post(ticket_body("1-B2")).status, 201);
  // Movie is any non-blank value; the reply echoes it as given.
  EXPECT_TRUE(is_json(post(R"({"Theatre-Seat":"1-B3","Movie":42})"), 201,
                      R"({"message":"Ticket created successfully","Theatre-Seat":"1-B3","Movie":42})"));
}

TEST_F(Api, CreateRejectsEachInvalidBodyWithTheContractMessage) {
  create(ticket_body("1-A1", "Dune", "\"Price\":10"));
  const std::string before = listing();
  const std::string events_before = events();
  const std::pair<std::string, std::string> cases[] = {
      {"", body_required},
      {"   \r\n\t ", body_required},
      {"{", invalid_json},
      {"not json", invalid_json},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune",})", invalid_json},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune"} trailing)", invalid_json},
      {R"({'Theatre-Seat':'1-A2'})", invalid_json},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":NaN})", invalid_json},
      {"[]", not_an_object},
      {R"([{"Theatre-Seat":"1-A2","Movie":"Dune"}])", not_an_object},
      {R"("1-A2")", not_an_object},
      {"42", not_an_object},
      {"null", not_an_object},
      {"true", not_an_object},
      {"{}", seat_required},
      {R"({"Movie":"Dune"})", seat_required},
      {R"({"Theatre-Seat":"","Movie":"Dune"})", seat_required},
      {R"({"Theatre-Seat":null,"Movie":"Dune"})", seat_required},
      {R"({"Theatre-Seat":"1-A2"})", movie_required},
      {R"({"Theatre-Seat":"1-A2","Movie":""})", movie_required},
      {R"({"Theatre-Seat":"1-A2","Movie":null})", movie_required},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":-1})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":-0.01})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":"15.99"})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":null})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":true})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":[1]})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","Price":{"amount":1}})", bad_price},
      {R"({"Theatre-Seat":"1-A2","Movie":"Dune","price":-5})", bad_price},
  };
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_error(post(body), 400, message));
    EXPECT_EQ(listing(), before);
  }
  EXPECT_EQ(events(), events_before);
}

TEST_F(Api, CreateRejectsServiceManagedAttributes) {
  const std::string before = listing();
  for (const auto& key : managed_keys) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(is_some_error(post(ticket_body("1-A1", "Dune", json_quoted(key) + ":0")), 400));
    EXPECT_TRUE(is_some_error(post(ticket_body("1-A1", "Dune", "\"Price\":5," + json_quoted(key) + ":false")), 400));
    EXPECT_EQ(listing(), before);
  }
}

TEST_F(Api, CreateRejectsAnInvalidSeat) {
  const std::string max_seat(2048, 'x');
  const std::string max_utf8_seat = [] {
    std::string s;
    for (int i = 0; i < 1024; ++i) s += "\xc3\xa9";  // é: 2048 bytes, 1024 characters
    return s;
  }();
  create(ticket_body(max_seat));
  create(ticket_body(max_utf8_seat));
  create(
      ticket_body("1-A\xc2\xa0"
                  "1"));  // a no-break space is text, not a control character
  const std::string before = listing();
  for (const std::string& bad :
       {std::string(2049, 'x'), max_utf8_seat + "x", std::string("1-A\n1"), std::string("1-A\t1"),
        std::string("nul\x01"), std::string("del\x7f"), std::string("nel\xc2\x85"),
        std::string("\xc2\x9f"
                    "apc")}) {
    SCOPED_TRACE(bad.substr(0, 20));
    EXPECT_TRUE(is_some_error(post(ticket_body(bad)), 400));
  }
  for (const char* body : {R"({"Theatre-Seat":42,"Movie":"Dune"})", R"({"Theatre-Seat":["1-A1"],"Movie":"Dune"})",
                           R"({"Theatre-Seat":{"Row":1},"Movie":"Dune"})", R"({"Theatre-Seat":true,"Movie":"Dune"})"}) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_some_error(post(body), 400));
  }
  EXPECT_EQ(listing(), before);
  EXPECT_TRUE(is_json(get_ticket(max_seat), 200, ticket_body(max_seat)));
}

TEST_F(Api, ItemsAreAtMost400KB) {
  const std::string big(300 * 1024, 'a');
  create(ticket_body("1-A1", "Dune", "\"Blob\":" + json_quoted(big)));
  const std::string too_big(401 * 1024, 'a');
  const std::string before = listing();
  EXPECT_TRUE(is_some_error(post(ticket_body("1-A2", "Dune", "\"Blob\":" + json_quoted(too_big))), 400));
  // An update that would grow the item past the limit is refused, and the item is as it was.
  EXPECT_TRUE(is_some_error(patch(update_body("1-A1", "More", json_quoted(std::string(150 * 1024, 'b')))), 400));
  EXPECT_EQ(listing(), before);
}

TEST_F(Api, CreatingAnExistingSeatIs409AndKeepsTheOriginal) {
  const std::string original = ticket_body("1-A1", "Dune", "\"Price\":15.99,\"Holder\":\"Ann\"");
  create(original);
  const std::string before = listing();
  EXPECT_TRUE(
      is_error(post(ticket_body("1-A1", "Alien", "\"Price\":1,\"Holder\":\"Bob\"")), 409, "Ticket already exists"));
  EXPECT_TRUE(is_error(post(original), 409, "Ticket already exists"));
  EXPECT_TRUE(is_json(get_ticket("1-A1"), 200, original));
  EXPECT_EQ(listing(), before);
}

// --- PATCH /ticket -------------------------------------------------------------------------------

TEST_F(Api, PatchSetsOneAttribute) {
  create(ticket_body("1-A1", "Dune", "\"Price\":15.99"));
  auto r = patch(update_body("1-A1", "Movie", R"("Arrival")"));
  EXPECT_TRUE(
      is_json(r, 200,
              R"({"message":"Ticket updated successfully","Theatre-Seat":"1-A1","updateKey":"Movie",)"
              R"("updateValue":"Arrival","updatedItem":{"Theatre-Seat":"1-A1","Movie":"Arrival","Price":15.99},)"
              R"("priceChangeEventPublished":false})"));
  EXPECT_TRUE(is_json(get_ticket("1-A1"), 200, ticket_body("1-A1", "Arrival", "\"Price\":15.99")));

  // A new attribute, with a nested value that comes back canonical.
  r = patch(update_body("1-A1", "Extras", R"({"Snacks":[1.50,2.0e0,"x"],"Vip":true})"));
  EXPECT_TRUE(is_json(r, 200,
                      R"({"message":"Ticket updated successfully","Theatre-Seat":"1-A1","updateKey":"Extras",)"
                      R"("updateValue":{"Snacks":[1.5,2,"x"],"Vip":true},)"
                      R"("updatedItem":{"Theatre-Seat":"1-A1","Movie":"Arrival","Price":15.99,)"
                      R"("Extras":{"Snacks":[1.5,2,"x"],"Vip":true}},"priceChangeEventPublished":false})"));
  EXPECT_NE(r.body.find(R"("Snacks":[1.5,2,"x"])"), std::string::npos) << r.body;
  EXPECT_TRUE(is_json(get_ticket("1-A1"), 200,
                      ticket_body("1-A1", "Arrival", R"("Price":15.99,"Extras":{"Snacks":[1.5,2,"x"],"Vip":true})")));
  EXPECT_EQ(events(), R"({"events":[],"nextAfter":0})");  // no price change, no event
}

TEST_F(Api, PatchOfPriceInAnyLetterCaseIsAPriceChange) {
  for (const std::string key : {"Price", "price", "PRICE", "pRiCe"}) {
    SCOPED_TRACE(key);
    const std::string seat = "seat-" + key;
    create(ticket_body(seat, "Dune", "\"Price\":15.99"));
    auto r = patch(update_body(seat, key, "12.990"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(has_standard_headers(r));
    EXPECT_NE(r.body.find("\"updateValue\":12.99,"), std::string::npos) << r.body;
    const auto reply = json_of(r.body);
    const auto& o = object_of(reply);
    EXPECT_EQ(keys_of(o), (std::set<std::string>{"message", "Theatre-Seat", "updateKey", "updateValue", "updatedItem",
                                                 "priceChangeEventPublished"}));
    EXPECT_EQ(text_of(o.find("message")), R"("Ticket updated successfully")");
    EXPECT_EQ(text_of(o.find("Theatre-Seat")), json_quoted(seat));
    EXPECT_EQ(text_of(o.find("updateKey")), json_quoted(key));
    EXPECT_EQ(text_of(o.find("updateValue")), "12.99");
    EXPECT_EQ(text_of(o.find("priceChangeEventPublished")), "true");
    const auto& item = object_of(*o.find("updatedItem"));
    // The change and its metadata, written at once.
    EXPECT_EQ(keys_of(item), (std::set<std::string>{"Theatre-Seat", "Movie", "Price", "PreviousPrice",
                                                    "LastPriceChangeTimestamp", "LastPriceChangeEventId",
                                                    "DiscountPercentage", "IsDiscounted"}))
        << "the price is written to Price, never to a second attribute spelled " << key;
    EXPECT_EQ(text_of(item.find("DiscountPercentage")), "18.76");
    EXPECT_EQ(text_of(item.find("Price")), "12.99");
    EXPECT_EQ(text_of(item.find("PreviousPrice")), "15.99");
    EXPECT_TRUE(is_recent_utc_timestamp(item.find("LastPriceChangeTimestamp")));

    // The stored ticket is the one the answer showed.
    auto stored = get_ticket(seat);
    ASSERT_EQ(stored.status, 200);
    EXPECT_NE(stored.body.find("\"Price\":12.99"), std::string::npos) << stored.body;
    EXPECT_NE(stored.body.find("\"PreviousPrice\":15.99"), std::string::npos) << stored.body;
    const auto stored_item = json_of(stored.body);
    EXPECT_EQ(object_of(stored_item).find(key == "Price" ? "price" : key), nullptr) << stored.body;
    EXPECT_TRUE(is_recent_utc_timestamp(object_of(stored_item).find("LastPriceChangeTimestamp")));
  }
}

TEST_F(Api, PatchEchoesTheValueItWrote) {
  // A ticket may carry an unrelated attribute spelled like the update key ("price"); the reply's
  // updateValue is still the new Price, not that attribute.
  create(ticket_body("1-A1", "Dune", R"("Price":15.99,"price":1)"));
  auto r = patch(update_body("1-A1", "price", "12.99"));
  EXPECT_TRUE(has_standard_headers(r));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto reply = json_of(r.body);
  const auto& o = object_of(reply);
  EXPECT_EQ(text_of(o.find("updateValue")), "12.99") << r.body;
  const auto& item = object_of(*o.find("updatedItem"));
  EXPECT_EQ(text_of(item.find("Price")), "12.99");
  EXPECT_EQ(text_of(item.find("PreviousPrice")), "15.99");
  EXPECT_EQ(text_of(item.find("price")), "1");
}

TEST_F(Api, PriceChangeRecordsItsEvent) {
  create(ticket_body("1-A9", "Dune", "\"Price\":15.99"));
  ASSERT_EQ(patch(update_body("1-A9", "Price", "12.99")).status, 200);
  auto log = json_of(events());
  const json::value* initiated = nullptr;
  for (const auto& entry : *object_of(log).find("events")->if_array()) {
    const auto& e = object_of(*object_of(entry).find("event"));
    if (text_of(e.find("eventType")) == R"("PriceChangeInitiated")") initiated = object_of(entry).find("event");
  }
  ASSERT_NE(initiated, nullptr) << json::serialize(log);
  const auto& e = object_of(*initiated);
  EXPECT_EQ(keys_of(e), (std::set<std::string>{"eventType", "eventId", "theatreSeat", "movie", "oldPrice", "newPrice",
                                               "timestamp", "updatedItem"}));
  static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  ASSERT_TRUE(e.find("eventId") && e.find("eventId")->if_string());
  EXPECT_TRUE(std::regex_match(*e.find("eventId")->if_string(), uuid)) << text_of(e.find("eventId"));
  EXPECT_EQ(text_of(e.find("theatreSeat")), R"("1-A9")");
  EXPECT_EQ(text_of(e.find("movie")), R"("Dune")");
  EXPECT_EQ(text_of(e.find("oldPrice")), "15.99");
  EXPECT_EQ(text_of(e.find("newPrice")), "12.99");
  EXPECT_TRUE(is_recent_utc_timestamp(e.find("timestamp")));
}

TEST_F(Api, PatchRejectsEachInvalidBody) {
  const std::string original = ticket_body("1-A1", "Dune", "\"Price\":15.99");
  create(original);
  const std::string before = listing();
  const std::string events_before = events();
  const std::pair<std::string, std::string> cases[] = {
      {"", body_required},
      {" \n ", body_required},
      {"{", invalid_json},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":})", invalid_json},
      {"{}", seat_required},
      {R"({"updateKey":"Movie","updateValue":"Alien"})", seat_required},
      {R"({"Theatre-Seat":"","updateKey":"Movie","updateValue":"Alien"})", seat_required},
      {R"({"Theatre-Seat":"1-A1"})", "updateKey is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"","updateValue":"Alien"})", "updateKey is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":null,"updateValue":"Alien"})", "updateKey is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Movie"})", "updateValue is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Theatre-Seat","updateValue":"1-A2"})",
       "Cannot update primary key Theatre-Seat"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":-1})", bad_price},
      {R"({"Theatre-Seat":"1-A1","updateKey":"price","updateValue":-0.5})", bad_price},
      {R"({"Theatre-Seat":"1-A1","updateKey":"PRICE","updateValue":"9.99"})", bad_price},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":null})", "updateValue is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":null})", "updateValue is required"},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":true})", bad_price},
      {R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":[9]})", bad_price},
  };
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_error(patch(body), 400, message));
  }
  for (const char* body : {"[1]", R"("1-A1")", R"({"Theatre-Seat":7,"updateKey":"Movie","updateValue":"x"})",
                           R"({"Theatre-Seat":"1-A1","updateKey":7,"updateValue":"x"})"}) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_some_error(patch(body), 400));
  }
  for (const auto& key : managed_keys) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(is_some_error(patch(update_body("1-A1", key, "1")), 400));
  }
  EXPECT_TRUE(is_json(get_ticket("1-A1"), 200, original));
  EXPECT_EQ(listing(), before);
  EXPECT_EQ(events(), events_before);
}

TEST_F(Api, PatchOfAMissingSeatIs404AndCreatesNothing) {
  create(ticket_body("1-A1"));
  const std::string before = listing();
  EXPECT_TRUE(is_error(patch(update_body("1-Z9", "Movie", R"("Alien")")), 404, not_found_message));
  EXPECT_TRUE(is_error(patch(update_body("1-Z9", "Price", "9.99")), 404, not_found_message));
  EXPECT_TRUE(is_error(patch(update_body("1-a1", "Movie", R"("Alien")")), 404, not_found_message));
  EXPECT_TRUE(is_error(get_ticket("1-Z9"), 404, not_found_message));
  EXPECT_EQ(listing(), before);
  EXPECT_EQ(events(), R"({"events":[],"nextAfter":0})");  // no event for a change that did not happen
}

// --- DELETE /ticket ------------------------------------------------------------------------------

TEST_F(Api, DeleteAnswersWithTheDeletedItem) {
  create(ticket_body("1-A1", "Dune", R"("Price":15.990,"Tags":[1e1])"));
  create(ticket_body("1-A2"));
  auto r = remove(seat_body("1-A1"));
  EXPECT_TRUE(is_json(r, 200,
                      R"({"message":"Ticket deleted successfully","Theatre-Seat":"1-A1",)"
                      R"("deletedItem":{"Theatre-Seat":"1-A1","Movie":"Dune","Price":15.99,"Tags":[10]}})"));
  EXPECT_NE(r.body.find(R"("Price":15.99,"Tags":[10])"), std::string::npos) << r.body;
  EXPECT_TRUE(is_error(get_ticket("1-A1"), 404, not_found_message));
  EXPECT_EQ(listing(), "{\"tickets\":[" + ticket_body("1-A2") + "]}");
  EXPECT_TRUE(is_error(remove(seat_body("1-A1")), 404, not_found_message));
  // The seat is free again.
  EXPECT_EQ(post(ticket_body("1-A1", "Alien")).status, 201);
  EXPECT_TRUE(is_json(get_ticket("1-A1"), 200, ticket_body("1-A1", "Alien")));
}

TEST_F(Api, DeleteRejectsInvalidBodiesAndMissingSeats) {
  create(ticket_body("1-A1"));
  const std::string before = listing();
  const std::pair<std::string, std::string> cases[] = {
      {"", body_required},
      {"\n", body_required},
      {"{", invalid_json},
      {R"({"Theatre-Seat":"1-A1")", invalid_json},
      {"{}", seat_required},
      {R"({"Theatre-Seat":""})", seat_required},
      {R"({"Theatre-Seat":null})", seat_required},
      {R"({"Movie":"Dune"})", seat_required},
  };
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_error(remove(body), 400, message));
    EXPECT_EQ(listing(), before);
  }
  for (const char* body : {"[1]", R"("1-A1")", R"({"Theatre-Seat":["1-A1"]})"}) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(is_some_error(remove(body), 400));
  }
  EXPECT_TRUE(is_error(remove(seat_body("1-A2")), 404, not_found_message));
  EXPECT_TRUE(is_error(remove(seat_body("1-a1")), 404, not_found_message));
  EXPECT_EQ(listing(), before);
}

// --- Numbers: exact decimals, canonical form -------------------------------------------------------

TEST_F(Api, NumbersAreExactAndComeBackCanonical) {
  const std::pair<std::string, std::string> canonical[] = {
      {"15.990", "15.99"},
      {"15.99", "15.99"},
      {"1e2", "100"},
      {"1E2", "100"},
      {"1.0", "1"},
      {"0.000", "0"},
      {"0.1", "0.1"},
      {"-0", "0"},
      {"100", "100"},
      {"2.50E-3", "0.0025"},
      {"12345678901234567.89", "12345678901234567.89"},  // beyond a double's precision
      {"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
      {"0.12345678901234567890123456789012345678", "0.12345678901234567890123456789012345678"},
      {"-9.9999999999999999999999999999999999999", "-9.9999999999999999999999999999999999999"},
  };
  int n = 0;
  for (const auto& [in, out] : canonical) {
    SCOPED_TRACE(in);
    const std::string seat = "N-" + std::to_string(n++);
    const bool price = in[0] != '-';  // a negative Price is refused; other attributes take any number
    const std::string values = "\"Value\":" + in + ",\"Nested\":[" + in + ",{\"x\":" + in + "}]";
    ASSERT_EQ(post(ticket_body(seat, "Dune", price ? "\"Price\":" + in + "," + values : values)).status, 201);
    auto r = get_ticket(seat);
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("\"Value\":" + out + ",\"Nested\":[" + out + ",{\"x\":" + out + "}]"), std::string::npos)
        << r.body;
    if (price) {
      EXPECT_NE(r.body.find("\"Price\":" + out + ","), std::string::npos) << r.body;
    }
    EXPECT_NE(listing().find("\"Value\":" + out + ","), std::string::npos);
  }
  // Where DynamoDB's N ends: 38 significant digits, magnitude 1E-130 to 9.99E+125.
  const std::string before = listing();
  for (const char* bad : {"123456789012345678901234567890123456789", "1.23456789012345678901234567890123456789",
                          "1E+126", "1e126", "-1E+126", "1E-131", "123456789012345678901234567890123456789e-5"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(is_some_error(post(ticket_body("N-bad", "Dune", std::string("\"Value\":") + bad)), 400));
    EXPECT_TRUE(is_some_error(post(ticket_body("N-bad", "Dune", std::string("\"Deep\":{\"a\":[") + bad + "]}")), 400));
    EXPECT_TRUE(is_some_error(patch(update_body("N-0", "Value", bad)), 400));
  }
  EXPECT_EQ(listing(), before);
  for (const char* edge : {"9.99E+125", "1E-130", "-1E-130"}) {
    SCOPED_TRACE(edge);
    auto r = patch(update_body("N-0", "Value", edge));
    EXPECT_EQ(r.status, 200) << r.body;
    auto stored = json_of(get_ticket("N-0").body);
    const json::value* v = object_of(stored).find("Value");
    EXPECT_TRUE(v && *v == json_of(edge)) << text_of(v);
  }
}

TEST_F(Api, PriceChangeKeepsExactDecimals) {
  create(ticket_body("1-A1", "Dune", "\"Price\":0.30"));
  auto r = patch(update_body("1-A1", "Price", "0.1000"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("updateValue":0.1,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("Price":0.1,"PreviousPrice":0.3,)"), std::string::npos) << r.body;
  auto stored = get_ticket("1-A1").body;
  EXPECT_NE(stored.find(R"("Price":0.1,)"), std::string::npos) << stored;
  EXPECT_NE(stored.find(R"("PreviousPrice":0.3,)"), std::string::npos) << stored;
}

// --- Every answer carries the content type and CORS headers --------------------------------------

TEST_F(Api, EveryAnswerCarriesTheContentTypeAndCorsHeaders) {
  create(ticket_body("1-A1"));
  const std::vector<std::tuple<std::string, std::string, std::string, int>> calls{
      {"GET", "/health", "", 200},
      {"GET", "/movies", "", 200},
      {"GET", "/tickets", "", 200},
      {"GET", "/tickets?limit=0", "", 400},
      {"GET", "/ticket?Theatre-Seat=1-A1", "", 200},
      {"GET", "/ticket", "", 400},
      {"GET", "/ticket?Theatre-Seat=nope", "", 404},
      {"POST", "/ticket", ticket_body("1-A2"), 201},
      {"POST", "/ticket", ticket_body("1-A2"), 409},
      {"POST", "/ticket", "{", 400},
      {"PATCH", "/ticket", update_body("1-A2", "Movie", "\"X\""), 200},
      {"PATCH", "/ticket", update_body("nope", "Movie", "\"X\""), 404},
      {"DELETE", "/ticket", seat_body("1-A2"), 200},
      {"DELETE", "/ticket", "", 400},
      {"OPTIONS", "/ticket", "", 204},
      {"PUT", "/ticket", "{}", 405},
      {"GET", "/elsewhere", "", 404},
  };
  for (const auto& [method, target, body, status] : calls) {
    SCOPED_TRACE(method + " " + target + " " + body);
    auto r = request(port(), method, target, body);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_TRUE(has_standard_headers(r));
  }
}

}  // namespace
}  // namespace tb::test
