#include "app/price_change_handler.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/nil_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "log/log.hpp"

namespace tb {

namespace {

std::string content_id(std::string_view message) {
  boost::uuids::name_generator_sha1 generate(boost::uuids::nil_uuid());
  return boost::uuids::to_string(generate(message.data(), message.size()));
}

}  // namespace

void price_change_handler::handle(std::string_view message, std::string fallback_id,
                                  completion<price_change_outcome> done) {
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
  if (!*event) return done(price_change_outcome::ignored);

  price_change_event& e = **event;
  std::string id = e.event_id;
  metadata_command cmd{std::move(e), iso8601(clock_.now()), processed_event_id(id)};
  store_.apply_price_metadata(std::move(cmd), [done = std::move(done), id](result<price_change_outcome> r) {
    if (!r)
      log_line("error", "price change not applied", {{"eventId", id}, {"reason", r.err().message}});
    else
      log_line("info", "price change handled", {{"eventId", id}, {"outcome", std::string(to_string(*r))}});
    done(std::move(r));
  });
}

}  // namespace tb
