// The seam between the functions and what they run on: the store the router uses, the handler
// that takes events and the publisher that carries them. `invoke` and `lambda` get theirs from
// make_backend: the local SQLite store with its in-process bus, or DynamoDB with SNS when the
// environment names a DynamoDB table (as it does on Lambda).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "app/price_change_handler.hpp"
#include "app/router.hpp"
#include "aws/settings.hpp"
#include "core/deadline.hpp"
#include "sqlite/outbox_dispatcher.hpp"
#include "sqlite/sqlite_store.hpp"

namespace tb {

// What main read from the command line and the environment for the backend.
struct backend_config {
  std::filesystem::path data_dir = "./data";
  std::optional<aws::settings> aws;  // set: DynamoDB and SNS instead of the data dir
  bool owns_data = false;  // serve: it alone checkpoints the local store
};

class backend {
 public:
  virtual ~backend() = default;
  virtual router& routes() = 0;
  virtual event_handler& events() = 0;
  // After each function run: hands on what it recorded (a price change's event), as a running
  // service would, before the process may be frozen or ended.
  virtual void deliver_recorded() = 0;
  // The time budget of the function runs that follow (on Lambda, the invocation's): each call to
  // AWS takes at most its per-attempt timeout and never runs past it. Unbounded until set.
  virtual void set_deadline(const deadline&) {}
  // publishPriceChangeEvents (see app/functions.hpp): on DynamoDB only.
  virtual result<json::value> relay(const json::value& event) = 0;
};

// The store, the handler and the local bus, wired together; `serve` uses it as it is.
struct local_service final : backend {
  system_clock clock;
  sqlite::sqlite_store store;
  price_change_handler handler{store, clock};
  in_process_publisher publisher{handler};
  sqlite::outbox_dispatcher bus{store, publisher, {.clock = &clock}};
  router router_{store, &store, clock};

  explicit local_service(const backend_config& c);
  ~local_service() override;

  router& routes() override { return router_; }
  event_handler& events() override { return handler; }
  void deliver_recorded() override { bus.run_once(); }
  result<json::value> relay(const json::value&) override {
    return bad_request("publishPriceChangeEvents relays the DynamoDB outbox's stream: set DYNAMODB_TABLE");
  }
};

std::unique_ptr<backend> make_backend(const backend_config& c);

// The local store's file under a data dir.
std::filesystem::path database_file(const std::filesystem::path& data_dir);

}  // namespace tb
