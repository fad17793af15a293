#include "dynamodb/dynamodb_store.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "log/log.hpp"
#include "dynamodb/attribute_value.hpp"

namespace tb::dynamodb {
namespace {

// The seat first, as the ticket was created; DynamoDB does not promise its attributes' order.
result<json::object> ticket_from(const boost::json::object& wire) {
  auto item = from_item(wire);
  if (!item) return item.err();
  json::object out;
  out.reserve(item->size());
  if (const json::value* seat = item->find(seat_key)) out.append_new(std::string(seat_key), *seat);
  for (const auto& [k, v] : *item)
    if (k != seat_key) out.append_new(k, v);
  return out;
}

// DynamoDB measures an item its own way; its refusal reads as the core's own size rule.
error write_error(const call_error& e) {
  if (e.is("ValidationException") && e.message.find("size") != std::string::npos)
    return check_item_size(max_item_bytes + 1).err();
  return e.to_error();
}

// An UpdateExpression built from attribute names and values, every name and value a placeholder
// (names such as Theatre-Seat are not valid in an expression).
class update_expression {
 public:
  void assign(const std::string& name, const json::value& v) {
    std::string n = placeholder(name);
    std::string value_name = n;
    value_name[0] = ':';
    values_[value_name] = to_attribute_value(v);
    set_.append(set_.empty() ? "SET " : ", ").append(n).append(" = ").append(value_name);
  }
  void erase(const std::string& name) {
    remove_.append(remove_.empty() ? " REMOVE " : ", ").append(placeholder(name));
  }
  std::string placeholder(const std::string& name) {
    std::string n("#a");
    n.append(std::to_string(count_++));
    names_[n] = name;
    return n;
  }
  void value(const std::string& placeholder, const json::value& v) {
    values_[placeholder] = to_attribute_value(v);
  }

  boost::json::object request(const std::string& table, std::string_view seat,
                              const std::string& condition) const {
    boost::json::object req{{"TableName", table},
                            {"Key", ticket_key(seat)},
                            {"UpdateExpression", set_ + remove_},
                            {"ConditionExpression", condition},
                            {"ExpressionAttributeNames", names_}};
    if (!values_.empty()) req["ExpressionAttributeValues"] = values_;
    return req;
  }

 private:
  std::string set_, remove_;
  boost::json::object names_, values_;
  int count_ = 0;
};

// The item an UpdateItem with ReturnValues ALL_NEW left, when it differs from `item` (what the
// write was computed from): then `item` and `text` become it, and the answer is true.
bool stored_as(const boost::json::object& response, json::object& item, std::string& text) {
  auto it = response.find("Attributes");
  if (it == response.end() || !it->value().is_object()) return false;
  auto stored = ticket_from(it->value().get_object());
  if (!stored) return false;
  std::string stored_text = json::serialize(json::value(*stored));
  if (stored_text == text) return false;
  item = std::move(*stored);
  text = std::move(stored_text);
  return true;
}

// The attributes a core ticket_write sets and removes, as an UpdateExpression.
update_expression expression_of(const ticket_write& w) {
  update_expression x;
  for (const auto& [k, v] : w.set) x.assign(k, v);
  for (const auto& k : w.removed) x.erase(k);
  return x;
}

// Exceptions stop here (an allocation failure, a bug): the caller gets a store failure.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("Store failure: ") + e.what()};
  }
}

}  // namespace

dynamodb_store::dynamodb_store(std::shared_ptr<dynamodb_client> client, options opts)
    : client_(client), opts_(std::move(opts)), outbox_(std::move(client), opts_.events_table) {}

result<std::optional<json::object>> dynamodb_store::read(const std::string& seat) {
  auto r =
      client_->call("GetItem", {{"TableName", opts_.table}, {"Key", ticket_key(seat)}, {"ConsistentRead", true}});
  if (!r) return r.err().to_error();
  auto it = r->find("Item");
  if (it == r->end() || !it->value().is_object()) return std::optional<json::object>();
  auto item = ticket_from(it->value().get_object());
  if (!item) return item.err();
  return std::optional<json::object>(std::move(*item));
}

result<item_text> dynamodb_store::get(std::string_view seat) {
  return guarded([&]() -> result<item_text> {
    auto item = read(std::string(seat));
    if (!item) return item.err();
    if (!*item) return item_text();
    return std::make_shared<const std::string>(json::serialize(json::value(std::move(**item))));
  });
}

result<std::optional<std::string>> dynamodb_store::scan(std::string_view after, std::size_t limit,
                                                        const item_visitor& visit) {
  return guarded([&]() -> result<std::optional<std::string>> {
    // A Scan comes in no useful order: read every page, then take the seats after `after` in
    // byte order. Costs a full read per page of the API; the table is one theatre's tickets.
    std::vector<std::pair<std::string, boost::json::object>> items;
    boost::json::object req{{"TableName", opts_.table}, {"ConsistentRead", true}};
    for (;;) {
      auto r = client_->call("Scan", req);
      if (!r) return r.err().to_error();
      if (auto it = r->find("Items"); it != r->end() && it->value().is_array())
        for (auto& wire : it->value().get_array())
          if (wire.is_object())
            if (std::string seat = attribute_text(wire.get_object(), seat_key); seat > after)
              items.emplace_back(std::move(seat), std::move(wire.get_object()));
      auto next = r->find("LastEvaluatedKey");
      if (next == r->end()) break;
      req["ExclusiveStartKey"] = next->value();
    }
    const std::size_t n = std::min(limit, items.size());
    std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < n; ++i) {
      auto item = ticket_from(items[i].second);
      if (!item) return item.err();
      visit(json::serialize(json::value(std::move(*item))));
    }
    if (items.size() > n && n > 0) return std::optional<std::string>(items[n - 1].first);
    return std::optional<std::string>();
  });
}

result<std::vector<std::string>> dynamodb_store::movies() {
  return guarded([&]() -> result<std::vector<std::string>> {
    std::set<std::string> movies;
    boost::json::object req{{"TableName", opts_.table},
                            {"ProjectionExpression", "#movie"},
                            {"ExpressionAttributeNames", {{"#movie", movie_key}}}};
    for (;;) {
      auto r = client_->call("Scan", req);
      if (!r) return r.err().to_error();
      if (auto it = r->find("Items"); it != r->end() && it->value().is_array())
        for (const auto& wire : it->value().get_array()) {
          auto item = wire.is_object() ? from_item(wire.get_object()) : result<json::object>(json::object());
          if (!item) return item.err();
          const json::value* m = item->find(movie_key);
          if (const std::string* s = m ? m->if_string() : nullptr; s && !s->empty()) movies.insert(*s);
        }
      auto next = r->find("LastEvaluatedKey");
      if (next == r->end()) break;
      req["ExclusiveStartKey"] = next->value();
    }
    return std::vector<std::string>(movies.begin(), movies.end());
  });
}

result<void> dynamodb_store::ping() {
  return guarded([&]() -> result<void> {
    auto r = client_->call("DescribeTable", {{"TableName", opts_.table}});
    if (!r) return r.err().to_error();
    return ok;
  });
}

void dynamodb_store::create(json::object item, completion<void> done) {
  done(guarded([&]() -> result<void> {
    boost::json::object req{{"TableName", opts_.table},
                            {"Item", to_item(item)},
                            {"ConditionExpression", "attribute_not_exists(#seat)"},
                            {"ExpressionAttributeNames", {{"#seat", seat_key}}}};
    auto r = client_->call("PutItem", req);
    if (!r && r.err().is(conditional_check_failed)) return error{errc::conflict, "Ticket already exists"};
    if (!r) return write_error(r.err());
    return ok;
  }));
}

void dynamodb_store::remove(std::string seat, completion<json::object> done) {
  done(guarded([&]() -> result<json::object> {
    boost::json::object req{{"TableName", opts_.table},
                            {"Key", ticket_key(seat)},
                            {"ConditionExpression", "attribute_exists(#seat)"},
                            {"ExpressionAttributeNames", {{"#seat", seat_key}}},
                            {"ReturnValues", "ALL_OLD"}};
    auto r = client_->call("DeleteItem", req);
    if (!r && r.err().is(conditional_check_failed)) return not_found("Ticket not found");
    if (!r) return r.err().to_error();
    auto it = r->find("Attributes");
    if (it == r->end() || !it->value().is_object())
      return error{errc::internal, "DeleteItem returned no item"};
    return ticket_from(it->value().get_object());
  }));
}

void dynamodb_store::update(update_command cmd, completion<update_outcome> done) {
  done(guarded([&] { return cmd.update.is_price_change ? change_price(cmd) : set_attribute(cmd); }));
}

// One conditional UpdateItem: the old item comes back from the write itself, so nothing is read
// before it and a concurrent DELETE is never undone.
result<update_outcome> dynamodb_store::set_attribute(const update_command& cmd) {
  update_expression x;
  x.assign(cmd.update.key, cmd.update.value);
  auto req = x.request(opts_.table, cmd.update.seat,
                       "attribute_exists(" + x.placeholder(std::string(seat_key)) + ")");
  req["ReturnValues"] = "ALL_OLD";
  auto r = client_->call("UpdateItem", req);
  if (!r && r.err().is(conditional_check_failed)) return not_found("Ticket not found");
  if (!r) return write_error(r.err());
  auto it = r->find("Attributes");
  if (it == r->end() || !it->value().is_object()) return error{errc::internal, "UpdateItem returned no item"};
  auto old_item = ticket_from(it->value().get_object());
  if (!old_item) return old_item.err();
  update_outcome out{*old_item, std::move(*old_item), {}, false};
  out.new_item.set(cmd.update.key, cmd.update.value);
  out.new_item_json = json::serialize(json::value(out.new_item));
  return out;
}

// Read the price, store the event prepared, write what the core's change_price returns on the
// condition that the price is still the one read, then make the event pending (see
// outbox_table.hpp). A price that moved in between fails the condition: read again.
result<update_outcome> dynamodb_store::change_price(const update_command& cmd) {
  const decimal& new_price = *cmd.update.value.if_number();
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto read_item = read(cmd.update.seat);
    if (!read_item) return read_item.err();
    if (!*read_item) return not_found("Ticket not found");
    auto write = tb::change_price(**read_item, new_price, cmd.now, cmd.event_id);
    if (!write) return write.err();
    const recorded_event& event = write->events.front();
    if (auto p = outbox_.prepare(event.event_id, event.event_type, event.json); !p) return p.err();

    update_expression x = expression_of(*write);
    const json::value* old_price = (*read_item)->find(price_key);
    std::string condition = "attribute_exists(" + x.placeholder(std::string(seat_key)) + ") AND ";
    std::string price = x.placeholder(std::string(price_key));
    if (old_price) {
      x.value(":expected", *old_price);
      condition += price + " = :expected";
    } else {
      condition += "attribute_not_exists(" + price + ")";
    }
    auto req = x.request(opts_.table, cmd.update.seat, condition);
    req["ReturnValues"] = "ALL_NEW";
    auto r = client_->call("UpdateItem", req);
    if (r) {
      update_outcome out{std::move(**read_item), std::move(write->item), std::move(write->item_json), true};
      // Another attribute may have changed since the read: the reply and the event carry the
      // item as this write left it.
      std::string event_json = stored_as(*r, out.new_item, out.new_item_json)
                                   ? with_updated_item(price_change_initiated_fields(
                                                           cmd.event_id, out.old_item, out.new_item, cmd.now),
                                                       out.new_item_json)
                                   : std::string();
      if (auto promoted = outbox_.promote(cmd.event_id, event_json); !promoted)  // a relay will promote it
        log_line("warn", "price change event left prepared",
                 {{"eventId", cmd.event_id}, {"reason", promoted.err().message}});
      else
        recorded(cmd.event_id);
      return out;
    }
    // Refused: the ticket is as it was, and the event must go. No answer: the write may have
    // landed, so the event stays prepared for a relay to resolve from the ticket.
    if (state_of(r.err()) == write_state::refused) (void)outbox_.discard(cmd.event_id);
    if (!r.err().is(conditional_check_failed)) return write_error(r.err());
  }
  return error{errc::unavailable, "Store failure: the price kept changing during the update"};
}

void dynamodb_store::apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) {
  done(guarded([&] { return write_metadata(cmd); }));
}

// Read, decide with the core's rule, then as a price change: event prepared, conditional write
// (the ticket still as the rule saw it: same stamp, same price, and for a stamped change no
// metadata yet), event pending. A ticket that moved in between fails the condition: decide again.
result<price_change_outcome> dynamodb_store::write_metadata(const metadata_command& cmd) {
  const price_change_event& e = cmd.event;
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto item = read(e.seat);
    if (!item) return item.err();
    auto decided = decide_price_change(*item ? &**item : nullptr, e, cmd.now, cmd.processed_event_id);
    if (!decided) return decided.err();  // not written: the bus parks the event with the reason
    if (decided->outcome != price_change_outcome::applied) return decided->outcome;
    ticket_write& w = decided->write;
    const recorded_event& processed = w.events.front();
    if (auto p = outbox_.prepare(processed.event_id, processed.event_type, processed.json); !p) return p.err();

    update_expression x = expression_of(w);
    x.value(":expected", e.new_price);
    std::string condition = "attribute_exists(" + x.placeholder(std::string(seat_key)) + ") AND " +
                            x.placeholder(std::string(price_key)) + " = :expected AND ";
    std::string stamp = x.placeholder(std::string(last_change_id_key));
    if ((*item)->contains(last_change_id_key)) {
      x.value(":stamp", e.event_id);
      condition += stamp + " = :stamp AND attribute_not_exists(" + x.placeholder(std::string(discounted_key)) + ")";
    } else {
      condition += "attribute_not_exists(" + stamp + ")";
    }
    auto req = x.request(opts_.table, e.seat, condition);
    req["ReturnValues"] = "ALL_NEW";
    auto r = client_->call("UpdateItem", req);
    if (!r) {
      if (state_of(r.err()) == write_state::refused) (void)outbox_.discard(processed.event_id);
      if (r.err().is(conditional_check_failed)) continue;  // changed since the read
      return write_error(r.err());
    }
    std::string event_json =
        stored_as(*r, w.item, w.item_json)
            ? with_updated_item(price_change_processed_fields(processed.event_id, e, w.item, cmd.now), w.item_json)
            : std::string();
    if (auto promoted = outbox_.promote(processed.event_id, event_json); !promoted)
      log_line("warn", "price change processed event left prepared",
               {{"eventId", processed.event_id}, {"reason", promoted.err().message}});
    else
      recorded(processed.event_id);
    return price_change_outcome::applied;
  }
  return error{errc::unavailable, "Store failure: the ticket kept changing during the handling"};
}

void dynamodb_store::recorded(const std::string& event_id) {
  std::lock_guard lock(recorded_mutex_);
  recorded_.push_back(event_id);
}

std::vector<std::string> dynamodb_store::take_recorded() {
  std::lock_guard lock(recorded_mutex_);
  return std::exchange(recorded_, {});
}

}  // namespace tb::dynamodb
