#include "app/price_change_handler.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/nil_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "app/log.hpp"
#include "metrics/metrics.hpp"

namespace tb {

std::string_view to_string(handler_outcome o) {
  switch (o) {
    case handler_outcome::applied: return "applied";
    case handler_outcome::ignored: return "ignored";
    case handler_outcome::duplicate: return "duplicate";
    case handler_outcome::stale: return "stale";
    case handler_outcome::missing: return "missing";
  }
  return "unknown";
}

namespace {

std::string content_id(std::string_view message) {
  boost::uuids::name_generator_sha1 generate(boost::uuids::nil_uuid());
  return boost::uuids::to_string(generate(message.data(), message.size()));
}

handler_outcome from_store(metadata_outcome o) {
  switch (o) {
    case metadata_outcome::applied: return handler_outcome::applied;
    case metadata_outcome::duplicate: return handler_outcome::duplicate;
    case metadata_outcome::stale: return handler_outcome::stale;
    case metadata_outcome::missing: return handler_outcome::missing;
  }
  return handler_outcome::ignored;
}

}  // namespace

void price_change_handler::handle(std::string_view message, std::string fallback_id,
                                  completion<handler_outcome> done) {
  // Known before parsing, so even a rejection of unreadable text names the message it was.
  if (fallback_id.empty()) fallback_id = content_id(message);
  auto parsed = json::parse(message);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v) {
    log_line("warn", "rejected malformed event",
             {{"eventId", fallback_id}, {"reason", "message is not valid JSON"}});
    return done(bad_request("message is not valid JSON"));
  }
  auto event = parse_price_change_event(*v, fallback_id);
  if (!event) {
    log_line("warn", "rejected malformed event",
             {{"eventId", event_id_of(*v, fallback_id)}, {"reason", event.err().message}});
    return done(event.err());
  }
  if (!*event) return done(handler_outcome::ignored);

  metadata_command cmd = command_for(std::move(**event));
  std::string id = cmd.event.event_id;
  store_.apply_price_metadata(std::move(cmd), [this, done = std::move(done), id](result<metadata_outcome> r) {
    handled(id, r);
    if (!r) return done(r.err());
    done(from_store(*r));
  });
}

metadata_command price_change_handler::command_for(price_change_event event) {
  const auto now = clock_.now();
  metrics::observe_event_lag(event.timestamp, now);  // every handling, the bus's and the store's own
  return {std::move(event), iso8601(now), new_event_id()};
}

void price_change_handler::handled(const std::string& event_id, const result<metadata_outcome>& outcome) {
  if (!outcome) {
    log_line("error", "price change not applied", {{"eventId", event_id}, {"reason", outcome.err().message}});
    return;
  }
  log_line("info", "price change handled",
           {{"eventId", event_id}, {"outcome", std::string(to_string(from_store(*outcome)))}});
}

}  // namespace tb
