// The ticket store on DynamoDB: tickets in the table the original Python service shares (items
// exactly as it writes them, nothing else in it), each recorded event in the outbox table and
// each movie's ticket count in the movie catalog, written in the same TransactWriteItems as the
// ticket so that they land together or not at all. Blocking: each operation completes before it
// returns (Lambda runs one request at a time).
//
// A write whose answer was lost is retried by the client; a retry that then fails its condition
// is recognised as the write's own landed first attempt (ClientRequestToken on AWS; the outbox
// row's id or the item as it stands on an emulator), never reported as a 409, a 404 or redone.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/ports.hpp"
#include "dynamodb/dynamodb_client.hpp"

namespace tb::dynamodb {

// GET /tickets without a limit answers with one Scan page of at most this many items...
inline constexpr std::size_t listing_page_items = 1000;
// ...and ends a page early past this much item text: the API Gateway response, its body escaped
// inside a JSON string (at most twice as long), stays well under Lambda's 6 MB.
inline constexpr std::size_t listing_page_bytes = 2 * 1024 * 1024;

class dynamodb_store final : public ticket_store {
 public:
  struct options {
    std::string table;         // partition key Theatre-Seat (S)
    std::string events_table;  // the outbox (see outbox_table.hpp)
    std::string movies_table;  // partition key Movie (S); tickets (N): the movie's ticket count
    // Reads and conditional writes of one change before giving up, when the ticket keeps
    // changing between the read and the write.
    int max_write_races = 8;
    // The time the outbox's recordedAt and expiresAt and the transactions' tokens are made of.
    tb::clock* clock = &system_time();
  };

  dynamodb_store(std::shared_ptr<dynamodb_client> client, options opts);

  result<item_text> get(std::string_view seat) override;
  // One Scan page from `after` (the last seat of the previous page), in the table's own order.
  result<std::optional<std::string>> scan(std::string_view after, std::size_t limit,
                                          const item_visitor& visit) override;
  std::optional<std::size_t> listing_page() const override { return listing_page_items; }
  // The catalog's movies that have tickets: one Scan of the catalog, O(movies).
  result<std::vector<std::string>> movies() override;
  result<void> ping() override;
  void create(json::object item, completion<void> done) override;
  void update(update_command cmd, completion<update_outcome> done) override;
  void remove(std::string seat, completion<json::object> done) override;
  void apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) override;

 private:
  std::chrono::system_clock::time_point now() const;  // options.clock's
  result<std::optional<json::object>> read(const std::string& seat);
  call_result transact(boost::json::array items, const std::string& token);
  result<void> create_ticket(const json::object& item);
  result<json::object> remove_ticket(const std::string& seat);
  result<update_outcome> set_attribute(const update_command& cmd);
  result<update_outcome> set_movie(const update_command& cmd);
  result<update_outcome> change_price(const update_command& cmd);
  result<price_change_outcome> write_metadata(const metadata_command& cmd);

  std::shared_ptr<dynamodb_client> client_;
  options opts_;
};

}  // namespace tb::dynamodb
