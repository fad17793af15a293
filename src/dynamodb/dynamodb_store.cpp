#include "dynamodb/dynamodb_store.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "dynamodb/attribute_value.hpp"
#include "dynamodb/outbox_table.hpp"

namespace tb::dynamodb {
namespace {

constexpr std::string_view condition_failed = "ConditionalCheckFailed";
constexpr std::string_view catalog_count = "tickets";

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

// Whether item `i` of a cancelled transaction failed its condition.
bool failed_condition(const call_error& e, std::size_t i) {
  return e.is(transaction_canceled) && i < e.cancellation_reasons.size() &&
         e.cancellation_reasons[i].code == condition_failed;
}

// The item of a failed condition (ALL_OLD), nullopt when there was none.
std::optional<json::object> item_of(const call_error& e, std::size_t i) {
  const auto& wire = e.cancellation_reasons[i].item;
  if (wire.empty()) return std::nullopt;
  auto item = ticket_from(wire);
  return item ? std::optional<json::object>(std::move(*item)) : std::nullopt;
}

bool same_item(const json::object& a, const json::object& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    const json::value* other = b.find(k);
    if (!other || !(*other == v)) return false;
  }
  return true;
}

// The Movie the catalog counts the ticket under: a non-empty string, else none.
std::optional<std::string> movie_of(const json::object& item) {
  const json::value* m = item.find(movie_key);
  const std::string* s = m ? m->if_string() : nullptr;
  return s && !s->empty() ? std::optional<std::string>(*s) : std::nullopt;
}

// An UpdateExpression built from attribute names and values, every name and value a placeholder
// (names such as Theatre-Seat are not valid in an expression).
class update_expression {
 public:
  void assign(const std::string& name, const json::value& v) {
    std::string n = placeholder(name);
    set_.append(set_.empty() ? "SET " : ", ").append(n).append(" = ").append(value(v));
  }
  void erase(const std::string& name) {
    remove_.append(remove_.empty() ? " REMOVE " : ", ").append(placeholder(name));
  }
  std::string placeholder(const std::string& name) {
    std::string n = "#a" + std::to_string(count_++);
    names_[n] = name;
    return n;
  }
  std::string value(const json::value& v) {
    std::string n = ":v" + std::to_string(count_++);
    values_[n] = to_attribute_value(v);
    return n;
  }
  // The condition that the ticket exists and each of `keys` is as in `item` (absent there:
  // absent now), so that the write is computed from the ticket as it stands.
  std::string as_read(const json::object& item, std::initializer_list<std::string_view> keys) {
    std::string c = "attribute_exists(" + placeholder(std::string(seat_key)) + ")";
    for (auto key : keys) {
      const json::value* v = item.find(key);
      std::string n = placeholder(std::string(key));
      c += v ? " AND " + n + " = " + value(*v) : " AND attribute_not_exists(" + n + ")";
    }
    return c;
  }

  // The Update of a transaction; a failed condition returns the item as it stands.
  boost::json::object update(const std::string& table, std::string_view seat, const std::string& condition) const {
    boost::json::object u{{"TableName", table},
                          {"Key", ticket_key(seat)},
                          {"UpdateExpression", set_ + remove_},
                          {"ConditionExpression", condition},
                          {"ExpressionAttributeNames", names_},
                          {"ReturnValuesOnConditionCheckFailure", "ALL_OLD"}};
    if (!values_.empty()) u["ExpressionAttributeValues"] = values_;
    return u;
  }

 private:
  std::string set_, remove_;
  boost::json::object names_, values_;
  int count_ = 0;
};

// The UpdateExpression of a core ticket_write: what it sets and removes.
update_expression expression_of(const ticket_write& w) {
  update_expression x;
  for (const auto& [k, v] : w.set) x.assign(k, v);
  for (const auto& k : w.removed) x.erase(k);
  return x;
}

// A movie's ticket count moved by `delta`, in the same transaction as the ticket's write.
boost::json::object catalog_update(const std::string& table, const std::string& movie, long long delta) {
  return {{"Update",
           {{"TableName", table},
            {"Key", {{std::string(movie_key), S(movie)}}},
            {"UpdateExpression", "ADD #count :delta"},
            {"ExpressionAttributeNames", {{"#count", catalog_count}}},
            {"ExpressionAttributeValues", {{":delta", N(delta)}}}}}};
}

// A ClientRequestToken for a write that has no id of its own: unique per request, not data.
std::string request_token(std::chrono::system_clock::time_point now) { return new_event_id(now); }

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
    : client_(std::move(client)), opts_(std::move(opts)) {}

std::chrono::system_clock::time_point dynamodb_store::now() const {
  return opts_.clock->now();
}

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

// The token makes a retry of a landed transaction succeed on AWS (within its 10 minutes); an
// emulator without tokens answers with the failed conditions the callers resolve.
call_result dynamodb_store::transact(boost::json::array items, const std::string& token) {
  return client_->call("TransactWriteItems", {{"TransactItems", std::move(items)}, {"ClientRequestToken", token}});
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
    boost::json::object req{{"TableName", opts_.table}, {"Limit", limit}, {"ConsistentRead", true}};
    // The table's key is the seat alone, so the seat a page ended at is its LastEvaluatedKey.
    if (!after.empty()) req["ExclusiveStartKey"] = ticket_key(after);
    auto r = client_->call("Scan", req);
    if (!r) return r.err().to_error();
    std::size_t bytes = 0;
    std::string last;
    if (auto it = r->find("Items"); it != r->end() && it->value().is_array())
      for (const auto& wire : it->value().get_array()) {
        if (!wire.is_object()) continue;
        auto item = ticket_from(wire.get_object());
        if (!item) return item.err();
        std::string text = json::serialize(json::value(*item));
        if (!last.empty() && bytes + text.size() > listing_page_bytes) return std::optional<std::string>(last);
        bytes += text.size();
        visit(text);
        last = seat_of(*item);
      }
    auto next = r->find("LastEvaluatedKey");
    if (next == r->end() || !next->value().is_object()) return std::optional<std::string>();
    std::string key = attribute_text(next->value().get_object(), seat_key);
    if (key.empty()) return error{errc::internal, "Scan returned a LastEvaluatedKey without a seat"};
    return std::optional<std::string>(std::move(key));
  });
}

result<std::vector<std::string>> dynamodb_store::movies() {
  return guarded([&]() -> result<std::vector<std::string>> {
    std::vector<std::string> movies;
    boost::json::object req{{"TableName", opts_.movies_table},
                            {"FilterExpression", "#count > :zero"},
                            {"ExpressionAttributeNames", {{"#count", catalog_count}}},
                            {"ExpressionAttributeValues", {{":zero", N(0)}}},
                            {"ConsistentRead", true}};
    for (;;) {
      auto r = client_->call("Scan", req);
      if (!r) return r.err().to_error();
      if (auto it = r->find("Items"); it != r->end() && it->value().is_array())
        for (const auto& wire : it->value().get_array())
          if (wire.is_object())
            if (std::string m = attribute_text(wire.get_object(), movie_key); !m.empty()) movies.push_back(std::move(m));
      auto next = r->find("LastEvaluatedKey");
      if (next == r->end()) break;
      req["ExclusiveStartKey"] = next->value();
    }
    std::sort(movies.begin(), movies.end());
    return movies;
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
  done(guarded([&] { return create_ticket(item); }));
}

result<void> dynamodb_store::create_ticket(const json::object& item) {
  boost::json::array items{
      {{"Put",
        {{"TableName", opts_.table},
         {"Item", to_item(item)},
         {"ConditionExpression", "attribute_not_exists(#seat)"},
         {"ExpressionAttributeNames", {{"#seat", seat_key}}},
         {"ReturnValuesOnConditionCheckFailure", "ALL_OLD"}}}}};
  if (auto movie = movie_of(item)) items.emplace_back(catalog_update(opts_.movies_table, *movie, 1));
  auto r = transact(std::move(items), request_token(now()));
  if (r) return ok;
  if (!failed_condition(r.err(), 0)) return write_error(r.err());
  // The seat is taken. After an attempt that got no answer, by this very item: that attempt landed.
  auto stored = item_of(r.err(), 0);
  if (r.err().earlier_attempt_unknown && stored && same_item(*stored, item)) return ok;
  return error{errc::conflict, "Ticket already exists"};
}

void dynamodb_store::remove(std::string seat, completion<json::object> done) {
  done(guarded([&] { return remove_ticket(seat); }));
}

// Read, then delete on the condition that the Movie is still the one read (so the catalog
// counts the right movie down).
result<json::object> dynamodb_store::remove_ticket(const std::string& seat) {
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto read_item = read(seat);
    if (!read_item) return read_item.err();
    if (!*read_item) return not_found("Ticket not found");
    const json::object& old_item = **read_item;
    update_expression x;
    const std::string condition = x.as_read(old_item, {movie_key});
    auto del = x.update(opts_.table, seat, condition);
    del.erase("UpdateExpression");
    boost::json::array items{{{"Delete", std::move(del)}}};
    if (auto movie = movie_of(old_item)) items.emplace_back(catalog_update(opts_.movies_table, *movie, -1));
    auto r = transact(std::move(items), request_token(now()));
    if (r) return std::move(**read_item);
    if (!failed_condition(r.err(), 0)) return r.err().to_error();
    // Gone: after an attempt that got no answer, deleted by it. Else someone else's delete.
    if (!item_of(r.err(), 0)) {
      if (r.err().earlier_attempt_unknown) return std::move(**read_item);
      return not_found("Ticket not found");
    }
  }
  return error{errc::unavailable, "Store failure: the ticket kept changing during the delete"};
}

void dynamodb_store::update(update_command cmd, completion<update_outcome> done) {
  done(guarded([&] {
    if (cmd.update.is_price_change) return change_price(cmd);
    if (cmd.update.key == movie_key) return set_movie(cmd);
    return set_attribute(cmd);
  }));
}

// One conditional UpdateItem: the old item comes back from the write itself, so nothing is read
// before it and a concurrent DELETE is never undone. Setting a value is idempotent: a retry of a
// landed write lands again with the same effect.
result<update_outcome> dynamodb_store::set_attribute(const update_command& cmd) {
  update_expression x;
  x.assign(cmd.update.key, cmd.update.value);
  auto req = x.update(opts_.table, cmd.update.seat, "attribute_exists(" + x.placeholder(std::string(seat_key)) + ")");
  req.erase("ReturnValuesOnConditionCheckFailure");
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

// A new Movie moves the ticket between the catalog's counts: read, then write on the condition
// that the Movie is still the one read.
result<update_outcome> dynamodb_store::set_movie(const update_command& cmd) {
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto read_item = read(cmd.update.seat);
    if (!read_item) return read_item.err();
    if (!*read_item) return not_found("Ticket not found");
    update_outcome out{std::move(**read_item), {}, {}, false};
    out.new_item = out.old_item;
    out.new_item.set(cmd.update.key, cmd.update.value);
    out.new_item_json = json::serialize(json::value(out.new_item));
    if (auto size = check_item_size(out.new_item_json.size()); !size) return size.err();
    update_expression x;
    x.assign(cmd.update.key, cmd.update.value);
    const std::string condition = x.as_read(out.old_item, {movie_key});
    boost::json::array items{{{"Update", x.update(opts_.table, cmd.update.seat, condition)}}};
    const auto old_movie = movie_of(out.old_item), new_movie = movie_of(out.new_item);
    if (old_movie != new_movie) {
      if (old_movie) items.emplace_back(catalog_update(opts_.movies_table, *old_movie, -1));
      if (new_movie) items.emplace_back(catalog_update(opts_.movies_table, *new_movie, 1));
    }
    auto r = transact(std::move(items), request_token(now()));
    if (r) return out;
    if (!failed_condition(r.err(), 0)) return write_error(r.err());
    auto stored = item_of(r.err(), 0);
    if (!stored) return not_found("Ticket not found");
    // Its Movie is already ours after an attempt that got no answer: that attempt landed.
    const json::value* now = stored->find(movie_key);
    if (r.err().earlier_attempt_unknown && now && *now == cmd.update.value) return out;
  }
  return error{errc::unavailable, "Store failure: the ticket kept changing during the update"};
}

// Read, then write what the core's change_price returns (the ticket and its PriceChangeInitiated
// row) in one transaction, on the condition that the ticket's price and last change are as read.
// The row's id is the change's: a retry that finds it there is this change landed, never a
// second change from new to new.
result<update_outcome> dynamodb_store::change_price(const update_command& cmd) {
  const decimal& new_price = *cmd.update.value.if_number();
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto read_item = read(cmd.update.seat);
    if (!read_item) return read_item.err();
    if (!*read_item) return not_found("Ticket not found");
    auto write = tb::change_price(**read_item, new_price, cmd.now, cmd.event_id);
    if (!write) return write.err();
    update_expression x = expression_of(*write);
    const std::string condition = x.as_read(**read_item, {price_key, last_change_key, last_change_id_key});
    boost::json::array items{{{"Update", x.update(opts_.table, cmd.update.seat, condition)}},
                             outbox_put(opts_.events_table, write->events.front(), now())};
    auto r = transact(std::move(items), cmd.event_id);
    if (r || failed_condition(r.err(), 1))
      return update_outcome{std::move(**read_item), std::move(write->item), std::move(write->item_json), true};
    if (!failed_condition(r.err(), 0)) return write_error(r.err());
    if (!item_of(r.err(), 0)) return not_found("Ticket not found");
    // Repriced since the read: read again.
  }
  return error{errc::unavailable, "Store failure: the price kept changing during the update"};
}

void dynamodb_store::apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) {
  done(guarded([&] { return write_metadata(cmd); }));
}

// Read, decide with the core's rule, then write what it returns (the metadata and the
// PriceChangeProcessed row) in one transaction on the condition that the ticket is as the rule
// saw it. The row's id comes from the change, so a row there already means the change was handled
// (by this very write, when an earlier attempt got no answer). A ticket that moved in between
// fails the condition: read and decide again.
result<price_change_outcome> dynamodb_store::write_metadata(const metadata_command& cmd) {
  const price_change_event& e = cmd.event;
  for (int race = 0; race < opts_.max_write_races; ++race) {
    auto item = read(e.seat);
    if (!item) return item.err();
    auto decided = decide_price_change(*item ? &**item : nullptr, e, cmd.now, cmd.processed_event_id);
    if (!decided) return decided.err();  // not written: the handler's failure names the reason
    if (decided->outcome != price_change_outcome::applied) return decided->outcome;
    const ticket_write& w = decided->write;
    update_expression x = expression_of(w);
    const std::string condition =
        x.as_read(**item, {price_key, last_change_key, last_change_id_key, discounted_key});
    boost::json::array items{{{"Update", x.update(opts_.table, e.seat, condition)}},
                             outbox_put(opts_.events_table, w.events.front(), now())};
    auto r = transact(std::move(items), cmd.processed_event_id);
    if (r) return price_change_outcome::applied;
    if (failed_condition(r.err(), 1))
      return r.err().earlier_attempt_unknown ? price_change_outcome::applied : price_change_outcome::duplicate;
    if (!failed_condition(r.err(), 0)) return write_error(r.err());
  }
  return error{errc::unavailable, "Store failure: the ticket kept changing during the handling"};
}

}  // namespace tb::dynamodb
