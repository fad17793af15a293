// The ticket store on DynamoDB: tickets in the table the original Python service shares (items
// as it writes them, plus the stamp of this service's price changes), events in the outbox
// table. Blocking: each operation completes before it returns (Lambda runs one request at a time).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/ports.hpp"
#include "dynamodb/dynamodb_client.hpp"
#include "dynamodb/outbox_table.hpp"

namespace tb::dynamodb {

class dynamodb_store final : public ticket_store {
 public:
  struct options {
    std::string table;         // partition key Theatre-Seat (S)
    std::string events_table;  // the outbox (see outbox_table.hpp)
    // Reads and conditional writes of one price change or handling before giving up, when the
    // price keeps moving between the read and the write.
    int max_write_races = 8;
  };

  dynamodb_store(std::shared_ptr<dynamodb_client> client, options opts);

  result<item_text> get(std::string_view seat) override;
  result<std::optional<std::string>> scan(std::string_view after, std::size_t limit,
                                          const item_visitor& visit) override;
  result<std::vector<std::string>> movies() override;
  result<void> ping() override;
  void create(json::object item, completion<void> done) override;
  void update(update_command cmd, completion<update_outcome> done) override;
  void remove(std::string seat, completion<json::object> done) override;
  void apply_price_metadata(metadata_command cmd, completion<price_change_outcome> done) override;

  // The events made pending since the last call, oldest first: what the caller should publish
  // now rather than leave to a later relay.
  std::vector<std::string> take_recorded();

 private:
  void recorded(const std::string& event_id);

  result<std::optional<json::object>> read(const std::string& seat);
  result<update_outcome> set_attribute(const update_command& cmd);
  result<update_outcome> change_price(const update_command& cmd);
  result<price_change_outcome> write_metadata(const metadata_command& cmd);

  std::shared_ptr<dynamodb_client> client_;
  options opts_;
  outbox_table outbox_;
  std::mutex recorded_mutex_;
  std::vector<std::string> recorded_;
};

}  // namespace tb::dynamodb
