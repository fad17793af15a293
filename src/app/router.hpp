// The one router every transport uses: the HTTP server, the API Gateway codec and `invoke` turn
// their input into an api_request and write out the api_response; the meaning lives here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ports.hpp"

namespace tb {

inline constexpr std::size_t max_body_bytes = 1024 * 1024;
inline constexpr std::string_view internal_failure = "Internal server error";

struct api_request {
  std::string method;  // upper case
  std::string path;    // decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string body;

  const std::string* query_param(std::string_view name) const;
};

enum class chunk_status { more, last, failed };

struct api_response {
  api_response(int status_code = 200, std::string body_text = {})
      : status(status_code), body(std::move(body_text)) {}

  int status = 200;
  std::string body;   // JSON (empty for 204); with next_chunk, only its beginning
  std::string allow;  // the Allow header of a 405
  // Every API answer is JSON; serve's pages (src/web) are HTML, scripts and styles.
  std::string_view content_type = "application/json";
  std::string retry_after;  // the Retry-After header (seconds) of a 503
  // When set, the body is this shared, immutable text (a cached listing) instead of `body`.
  std::shared_ptr<const std::string> shared_body;
  // A body too large to hold at once (the whole ticket listing) comes in parts: each call
  // appends the next part to its argument. `failed` means the store stopped answering midway;
  // the transport must then end the response as incomplete, never as a shorter valid one.
  std::function<chunk_status(std::string&)> next_chunk;
};

// The whole body of a response, chunks included (for transports that cannot stream).
result<std::string> collect_body(api_response& r);

// Headers every response carries (the contract's CORS set and the content type).
const std::vector<std::pair<std::string_view, std::string_view>>& standard_headers();

class router {
 public:
  router(ticket_store& store, event_log* events, clock& clock)
      : store_(store), events_(events), clock_(clock) {}

  // `done` may run on another thread (after a group commit) or before handle returns.
  void handle(api_request req, std::function<void(api_response)> done);
  // For transports that have nothing better to do while waiting (invoke, Lambda).
  api_response handle_sync(api_request req);

 private:
  api_response get_ticket(const api_request& req);
  api_response list_tickets(const api_request& req);
  api_response list_movies();
  api_response list_events(const api_request& req);
  api_response health();
  void create_ticket(const api_request& req, std::function<void(api_response)> done);
  void update_ticket(const api_request& req, std::function<void(api_response)> done);
  void remove_ticket(const api_request& req, std::function<void(api_response)> done);

  ticket_store& store_;
  event_log* events_;
  clock& clock_;

  // The last complete listing of every ticket, valid while the store's version is unchanged.
  // Only a listing of at most listing_cache_bytes is kept, so memory follows the data.
  struct listing_cache {
    std::mutex mutex;
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> body;
    bool building = false;  // one listing at a time keeps a copy to fill the cache
  };
  listing_cache listing_cache_;
};

// The one place an error becomes an answer. A client's error answers its message with its status.
// A failure that is not the client's answers `failed`, the original service's message for the
// operation (e.g. "Failed to retrieve ticket"): 503 with Retry-After when it is temporary, 500
// otherwise; its detail goes to the log, never to the client.
api_response error_response(const error& e, std::string_view failed = internal_failure);

}  // namespace tb
