// The ports the core needs from the outside world. Adapters (sqlite/, later dynamodb/ and sns/)
// implement them; the core and the router depend only on these interfaces.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/price_change.hpp"
#include "core/result.hpp"
#include "core/ticket.hpp"

namespace tb {

// Durable writes complete through a callback, possibly on another thread, because a store may
// batch many of them into one commit (group commit). A store may also call it before returning.
template <class T>
using completion = std::function<void(result<T>)>;

// Starts an operation with a completion and waits for its result: for a caller with nothing else
// to do meanwhile (a command, a Lambda invocation, a test).
template <class T, class F>
result<T> wait_for(F&& start) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  start([&p](result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

// Receives each item of a scan as canonical JSON; the view is valid during the call only.
using item_visitor = std::function<void(std::string_view item_json)>;
using item_text = std::shared_ptr<const std::string>;

struct update_outcome {
  json::object old_item;
  json::object new_item;
  std::string new_item_json;  // new_item as stored: canonical JSON
  bool event_recorded = false;  // a PriceChangeInitiated was stored with the write
};

struct update_command {
  ticket_update update;
  std::string now;       // ISO-8601 UTC
  std::string event_id;  // for the PriceChangeInitiated of a price change
};

// What decide_price_change needs beside the ticket, which the store reads.
struct metadata_command {
  price_change_event event;
  std::string now;
  std::string processed_event_id;  // processed_event_id(event.event_id)
};

class ticket_store {
 public:
  virtual ~ticket_store() = default;

  // The item's JSON text; null when there is no such ticket. The text is shared: never modified.
  virtual result<item_text> get(std::string_view seat) = 0;
  // Visits the items after `after` (the seat the previous page ended at; empty: from the start),
  // at most limit of them: in seat byte order, or in the store's own order when it has
  // listing_page. Returns the seat to continue after when more items follow, nullopt at the end.
  virtual result<std::optional<std::string>> scan(std::string_view after, std::size_t limit,
                                                  const item_visitor& visit) = 0;
  // A store whose listings come a page at a time in its own order (DynamoDB's Scan) answers an
  // unpaged listing with one page of at most this many items; nullopt: every item at once.
  virtual std::optional<std::size_t> listing_page() const { return std::nullopt; }
  virtual result<std::vector<std::string>> movies() = 0;
  virtual result<void> ping() = 0;
  // Changes whenever anything in the store may have changed; nullopt when the store cannot tell
  // cheaply (then nothing derived from it may be cached).
  virtual std::optional<std::uint64_t> version() { return std::nullopt; }

  // Fails with conflict when the seat is taken.
  virtual void create(json::object item, completion<void> done) = 0;
  // One conditional write: not_found when the seat does not exist. A price change is the core's
  // change_price, its events stored in the same atomic step.
  virtual void update(update_command cmd, completion<update_outcome> done) = 0;
  // Returns the deleted item; not_found when there was none.
  virtual void remove(std::string seat, completion<json::object> done) = 0;
  // The handler's write: reads the ticket, decides with decide_price_change and writes what it
  // returns (metadata and PriceChangeProcessed) in one atomic step, on the condition that the
  // ticket is still as read.
  virtual void apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) = 0;
};

struct logged_event {
  std::int64_t seq = 0;
  std::string status;  // pending | delivered | dead
  std::string event_json;
  std::string reason;  // why a dead event was parked
};

// One event of the log as GET /events and `ticket-booking events` print it:
// {"seq":N,"status":"...","event":{...}[,"reason":"..."]}.
void append_logged_event(std::string& out, const logged_event& e);

class event_log {
 public:
  virtual ~event_log() = default;
  virtual result<std::vector<logged_event>> events_after(std::int64_t after, std::size_t limit) = 0;
};

// Takes events off a bus (the local outbox, SNS). `fallback_id` stands in for a missing eventId
// (an SNS MessageId; empty: the handler derives one from the message). Fails with bad_request
// for a malformed message, which no retry can fix; other failures are worth retrying.
class event_handler {
 public:
  virtual ~event_handler() = default;
  virtual void handle(std::string_view message, std::string fallback_id, completion<price_change_outcome> done) = 0;
};

// Carries a recorded event to its consumers: in process for the local service, SNS on AWS.
// Completes when the event is accepted; the same failure rules as event_handler.
class event_publisher {
 public:
  virtual ~event_publisher() = default;
  virtual void publish(std::string_view event_json, const std::string& event_id, completion<void> done) = 0;
};

class clock {
 public:
  virtual ~clock() = default;
  virtual std::chrono::system_clock::time_point now() = 0;
};

class system_clock final : public clock {
 public:
  std::chrono::system_clock::time_point now() override { return std::chrono::system_clock::now(); }
};

// One system_clock, for the parts that are not handed another.
clock& system_time();

// "2026-11-28T02:09:22.123Z"
std::string iso8601(std::chrono::system_clock::time_point t);
// A time-ordered (version 7) UUID of `now` (the caller's clock).
std::string new_event_id(std::chrono::system_clock::time_point now);

}  // namespace tb
