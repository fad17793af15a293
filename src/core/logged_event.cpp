// The event log's one line shape, shared by GET /events and `ticket-booking events`.
#include "core/json.hpp"
#include "core/ports.hpp"

namespace tb {

void append_logged_event(std::string& out, const logged_event& e) {
  out += "{\"seq\":";
  out += std::to_string(e.seq);
  out += ",\"status\":";
  json::append_quoted(out, e.status);
  out += ",\"event\":";
  out += e.event_json;
  if (!e.reason.empty()) {  // why a dead event was parked, or why the last try failed
    out += ",\"reason\":";
    json::append_quoted(out, e.reason);
  }
  out += '}';
}

}  // namespace tb
