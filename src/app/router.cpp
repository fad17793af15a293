#include "app/router.hpp"

#include <charconv>
#include <future>

#include "log/log.hpp"

namespace tb {
namespace {

constexpr std::size_t max_page_limit = 1000;
constexpr std::size_t default_event_limit = 100;
// An unpaged GET /tickets is built page by page, so the store never holds a second copy of
// every item beside the response.
constexpr std::size_t listing_chunk = 1000;
constexpr std::size_t listing_cache_bytes = 32 * 1024 * 1024;
// What a 503 asks a client to wait: a busy store or a throttled table clears in moments.
constexpr std::string_view retry_after_seconds = "1";

// The original service's answers to failures that are not the client's, one per operation.
constexpr std::string_view failed_get = "Failed to retrieve ticket";
constexpr std::string_view failed_list = "Failed to retrieve tickets";
constexpr std::string_view failed_movies = "Failed to retrieve movies";
constexpr std::string_view failed_create = "Failed to create ticket";
constexpr std::string_view failed_update = "Failed to update ticket";
constexpr std::string_view failed_delete = "Failed to delete ticket";
constexpr std::string_view failed_events = "Failed to retrieve events";
constexpr std::string_view failed_health = "Store unavailable";

struct route {
  std::string_view path;
  std::string_view allow;  // methods, as sent in Allow
};

constexpr route routes[] = {
    {"/movies", "GET,OPTIONS"},
    {"/ticket", "GET,POST,PATCH,DELETE,OPTIONS"},
    {"/tickets", "GET,OPTIONS"},
    {"/events", "GET,OPTIONS"},
    {"/health", "GET,OPTIONS"},
};

int status_of(errc code) {
  switch (code) {
    case errc::bad_request: return 400;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::method_not_allowed: return 405;
    case errc::payload_too_large: return 413;
    case errc::unavailable: return 503;
    case errc::internal: return 500;
  }
  return 500;
}

api_response json_response(int status, const json::value& body) {
  return {status, json::serialize(body)};
}

std::string to_hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view s) {
  if (s.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, value, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
  }
  return out;
}

// The cursor is opaque to clients: a version tag and the last seat returned.
constexpr std::string_view cursor_tag = "c1";
std::string make_cursor(std::string_view last_seat) { return std::string(cursor_tag) + to_hex(last_seat); }
std::optional<std::string> read_cursor(std::string_view cursor) {
  if (cursor.substr(0, cursor_tag.size()) != cursor_tag) return std::nullopt;
  auto seat = from_hex(cursor.substr(cursor_tag.size()));
  if (!seat || seat->empty() || seat->size() > max_seat_bytes) return std::nullopt;
  return seat;
}

// A whole number in [low, high], digits only.
std::optional<std::size_t> parse_count(std::string_view s, std::size_t low, std::size_t high) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < low || v > high)
    return std::nullopt;
  return v;
}

}  // namespace

const std::string* api_request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

const std::vector<std::pair<std::string_view, std::string_view>>& standard_headers() {
  static const std::vector<std::pair<std::string_view, std::string_view>> headers{
      {"Content-Type", "application/json"},
      {"Access-Control-Allow-Origin", "*"},
      {"Access-Control-Allow-Methods", "GET,POST,PATCH,DELETE,OPTIONS"},
      {"Access-Control-Allow-Headers",
       "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"},
  };
  return headers;
}

api_response error_response(const error& e, std::string_view failed) {
  json::object body;
  if (is_clients_fault(e.code)) {
    body.append_new("error", e.message);
    return json_response(status_of(e.code), body);
  }
  const int status = status_of(e.code);
  log_line("error", failed, {{"status", std::to_string(status)}, {"reason", e.message}});
  body.append_new("error", std::string(failed));
  api_response r = json_response(status, body);
  if (e.code == errc::unavailable) r.retry_after = std::string(retry_after_seconds);
  return r;
}

void router::handle(api_request req, std::function<void(api_response)> done) {
  const route* matched = nullptr;
  for (const auto& r : routes)
    if (req.path == r.path && (r.path != "/events" || events_)) matched = &r;
  if (!matched) return done(error_response({errc::not_found, "Not Found"}));
  if (req.method == "OPTIONS") return done(api_response{204});
  if (req.body.size() > max_body_bytes)
    return done(error_response({errc::payload_too_large, "Request body is larger than 1 MiB"}));

  const std::string_view path = matched->path;
  const std::string& m = req.method;
  if (path == "/ticket") {
    if (m == "GET") return done(get_ticket(req));
    if (m == "POST") return create_ticket(req, std::move(done));
    if (m == "PATCH") return update_ticket(req, std::move(done));
    if (m == "DELETE") return remove_ticket(req, std::move(done));
  } else if (m == "GET") {
    if (path == "/tickets") return done(list_tickets(req));
    if (path == "/movies") return done(list_movies());
    if (path == "/events") return done(list_events(req));
    if (path == "/health") return done(health());
  }
  api_response r = error_response({errc::method_not_allowed, "Method Not Allowed"});
  r.allow = std::string(matched->allow);
  done(std::move(r));
}

api_response router::handle_sync(api_request req) {
  std::promise<api_response> promise;
  auto future = promise.get_future();
  handle(std::move(req), [&promise](api_response r) { promise.set_value(std::move(r)); });
  api_response r = future.get();
  if (r.next_chunk || r.shared_body) {
    auto body = collect_body(r);
    if (!body) return error_response(body.err(), failed_list);  // only a listing streams
    r.body = std::move(*body);
    r.next_chunk = nullptr;
    r.shared_body.reset();
  }
  return r;
}

result<std::string> collect_body(api_response& r) {
  std::string body = r.shared_body ? *r.shared_body : r.body;
  if (!r.next_chunk) return body;
  for (;;) {
    switch (r.next_chunk(body)) {
      case chunk_status::more: continue;
      case chunk_status::last: return body;
      case chunk_status::failed: return error{errc::unavailable, "the store failed midway through a listing"};
    }
  }
}

api_response router::get_ticket(const api_request& req) {
  const std::string* seat = req.query_param(seat_key);
  if (!seat || seat->empty()) return error_response(bad_request("Theatre-Seat query parameter is required"));
  if (auto valid = validate_seat(*seat); !valid) return error_response(valid.err());
  auto item = store_.get(*seat);
  if (!item) return error_response(item.err(), failed_get);
  if (!*item) return error_response(not_found("Ticket not found"));
  api_response r{200};
  r.shared_body = std::move(*item);
  return r;
}

api_response router::list_tickets(const api_request& req) {
  std::optional<std::size_t> limit;
  if (const std::string* l = req.query_param("limit")) {
    limit = parse_count(*l, 1, max_page_limit);
    if (!limit) return error_response(bad_request("limit must be a whole number from 1 to 1000"));
  }
  if (!limit) limit = store_.listing_page();
  std::string after;
  if (const std::string* c = req.query_param("cursor")) {
    auto seat = read_cursor(*c);
    if (!seat) return error_response(bad_request("Invalid cursor"));
    after = std::move(*seat);
  }

  // Appends items to `out`, comma-separated; `first` carries across pages.
  struct listing {
    std::string after;
    bool first = true;
    std::optional<error> failure;  // why a page could not be read
  };
  auto state = std::make_shared<listing>(listing{std::move(after), true, std::nullopt});
  auto page = [this, state](std::string& out, std::size_t n) -> result<std::optional<std::string>> {
    return store_.scan(state->after, n, [&](std::string_view item) {
      if (!state->first) out += ',';
      state->first = false;
      out += item;
    });
  };

  api_response r{200, "{\"tickets\":["};
  if (limit) {  // one bounded page, built at once
    auto more = page(r.body, *limit);
    if (!more) return error_response(more.err(), failed_list);
    r.body += ']';
    if (*more) {
      r.body += ",\"nextCursor\":";
      json::append_quoted(r.body, make_cursor(**more));
    }
    r.body += '}';
    return r;
  }
  // Every ticket: the cached listing when nothing changed since it was made...
  const auto version = store_.version();
  if (version) {
    std::lock_guard lock(listing_cache_.mutex);
    if (listing_cache_.body && listing_cache_.version == *version) {
      r.body.clear();
      r.shared_body = listing_cache_.body;
      return r;
    }
  }
  // ...else streamed a page at a time. One of the listings streaming at once also keeps a copy
  // for the cache while it is small enough; the claim is released when its producer goes, even
  // if its client hung up midway.
  std::shared_ptr<std::string> copy;
  std::shared_ptr<void> claim;
  if (version) {
    std::lock_guard lock(listing_cache_.mutex);
    if (!listing_cache_.building) {
      listing_cache_.building = true;
      copy = std::make_shared<std::string>(r.body);
      claim = std::shared_ptr<void>(nullptr, [cache = &listing_cache_](void*) {
        std::lock_guard release(cache->mutex);
        cache->building = false;
      });
    }
  }
  r.next_chunk = [this, page, state, version, copy, claim](std::string& out) mutable {
    const std::size_t start = out.size();
    auto more = page(out, listing_chunk);
    if (!more) {
      state->failure = more.err();
      return chunk_status::failed;
    }
    if (*more) state->after = std::move(**more);
    else out += "]}";
    if (copy && copy->size() + (out.size() - start) <= listing_cache_bytes) {
      copy->append(out, start);
    } else {
      copy.reset();  // too large to keep: the listing streams and is not cached
    }
    if (*more) return chunk_status::more;
    if (copy) {
      std::lock_guard lock(listing_cache_.mutex);
      listing_cache_.version = *version;
      listing_cache_.body = std::move(copy);
    }
    return chunk_status::last;
  };
  // The first page now: a store that cannot answer at all gets its own status and message, not
  // a 200 cut off. A listing that fits in one page is complete here.
  switch (r.next_chunk(r.body)) {
    case chunk_status::failed: return error_response(*state->failure, failed_list);
    case chunk_status::last: r.next_chunk = nullptr; break;
    case chunk_status::more: break;
  }
  return r;
}

api_response router::list_movies() {
  auto movies = store_.movies();
  if (!movies) return error_response(movies.err(), failed_movies);
  json::array list;
  list.reserve(movies->size());
  for (auto& m : *movies) list.emplace_back(std::move(m));
  json::object body;
  body.append_new("movies", std::move(list));
  return json_response(200, body);
}

api_response router::list_events(const api_request& req) {
  std::int64_t after = 0;
  if (const std::string* a = req.query_param("after")) {
    auto v = parse_count(*a, 0, static_cast<std::size_t>(INT64_MAX));
    if (!v) return error_response(bad_request("after must be a whole number"));
    after = static_cast<std::int64_t>(*v);
  }
  std::size_t limit = default_event_limit;
  if (const std::string* l = req.query_param("limit")) {
    auto v = parse_count(*l, 1, max_page_limit);
    if (!v) return error_response(bad_request("limit must be a whole number from 1 to 1000"));
    limit = *v;
  }
  auto events = events_->events_after(after, limit);
  if (!events) return error_response(events.err(), failed_events);
  std::string body = "{\"events\":[";
  std::int64_t next_after = after;
  for (std::size_t i = 0; i < events->size(); ++i) {
    const logged_event& e = (*events)[i];
    if (i) body += ',';
    append_logged_event(body, e);
    next_after = e.seq;
  }
  body += "],\"nextAfter\":" + std::to_string(next_after) + "}";
  return {200, std::move(body)};
}

api_response router::health() {
  // A store that cannot answer is unhealthy, whatever the cause: 503 either way.
  if (auto r = store_.ping(); !r) return error_response({errc::unavailable, r.err().message}, failed_health);
  json::object body;
  body.append_new("status", "ok");
  return json_response(200, body);
}

void router::create_ticket(const api_request& req, std::function<void(api_response)> done) {
  auto body = parse_body_object(req.body);
  if (!body) return done(error_response(body.err()));
  auto item = validate_new_ticket(std::move(*body));
  if (!item) return done(error_response(item.err()));
  json::object reply;
  reply.append_new("message", "Ticket created successfully");
  reply.append_new(std::string(seat_key), seat_of(*item));
  reply.append_new(std::string(movie_key), *item->find(movie_key));
  store_.create(std::move(*item), [done = std::move(done), reply = std::move(reply)](result<void> r) {
    if (!r) return done(error_response(r.err(), failed_create));
    done(json_response(201, reply));
  });
}

void router::update_ticket(const api_request& req, std::function<void(api_response)> done) {
  auto body = parse_body_object(req.body);
  if (!body) return done(error_response(body.err()));
  auto update = parse_update(*body);
  if (!update) return done(error_response(update.err()));
  json::value client_key = *body->find("updateKey");
  std::string stored_key = update->key;  // "Price" for a price change, whatever case was sent
  const auto now = clock_.now();
  update_command cmd{std::move(*update), iso8601(now), {}};
  if (cmd.update.is_price_change) cmd.event_id = new_event_id(now);
  store_.update(std::move(cmd), [done = std::move(done), client_key = std::move(client_key),
                                 stored_key = std::move(stored_key)](result<update_outcome> r) {
    if (!r) return done(error_response(r.err(), failed_update));
    json::object reply;
    reply.append_new("message", "Ticket updated successfully");
    reply.append_new(std::string(seat_key), seat_of(r->new_item));
    reply.append_new("updateKey", client_key);
    // As stored (canonical), from the attribute written: a price change writes Price.
    const json::value* value = r->new_item.find(stored_key);
    reply.append_new("updateValue", value ? *value : json::value());
    std::string text;
    text.reserve(r->new_item_json.size() + 200);
    json::serialize_to(text, reply);
    json::append_member(text, "updatedItem", r->new_item_json);  // the item's text as stored
    json::append_member(text, "priceChangeEventPublished", r->event_recorded ? "true" : "false");
    done(api_response{200, std::move(text)});
  });
}

void router::remove_ticket(const api_request& req, std::function<void(api_response)> done) {
  std::string seat;
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos && req.query_param(seat_key)) {
    // curl -X DELETE '/ticket?Theatre-Seat=...' is what people type; accept it too.
    auto valid = validate_seat(*req.query_param(seat_key));
    if (!valid) return done(error_response(valid.err()));
    seat = std::move(*valid);
  } else {
    auto body = parse_body_object(req.body);
    if (!body) return done(error_response(body.err()));
    auto valid = parse_seat_request(*body);
    if (!valid) return done(error_response(valid.err()));
    seat = std::move(*valid);
  }
  json::object reply;
  reply.append_new("message", "Ticket deleted successfully");
  reply.append_new(std::string(seat_key), seat);
  store_.remove(std::move(seat), [done = std::move(done), reply = std::move(reply)](
                                     result<json::object> r) mutable {
    if (!r) return done(error_response(r.err(), failed_delete));
    reply.append_new("deletedItem", std::move(*r));
    done(json_response(200, reply));
  });
}

}  // namespace tb
