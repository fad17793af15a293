#include "cli/backend.hpp"

#include <chrono>
#include <utility>

#include "log/log.hpp"
#include "aws/http_client.hpp"
#include "dynamodb/dynamodb_outbox.hpp"
#include "dynamodb/dynamodb_store.hpp"
#include "sns/sns_publisher.hpp"

namespace tb {
namespace {

// Events an invocation's own publish missed (SNS down, a frozen or killed container) wait in the
// outbox; every so often an invocation also relays a few of those, oldest first.
constexpr std::chrono::seconds sweep_interval{60};
constexpr std::size_t sweep_limit = 25;

// DynamoDB for the tickets and the outbox, SNS for the events. Each function run publishes the
// events it recorded before it answers: Lambda may freeze the process right after.
class aws_service final : public backend {
 public:
  explicit aws_service(const aws::settings& s)
      : client_(std::make_shared<dynamodb::dynamodb_client>(s)),
        store_(client_, {s.table, s.events_table}),
        outbox_(client_, s.events_table, s.table),
        http_({}, s.ca_bundle) {
    if (!s.topic_arn.empty()) sns_.emplace(http_, s);
  }

  router& routes() override { return router_; }
  event_handler& events() override { return handler_; }

  void deliver_recorded() override {
    auto ids = store_.take_recorded();
    if (!sns_) {
      if (!ids.empty())
        log_line("warn", "events stay in the outbox: PRICE_CHANGE_TOPIC_ARN is not set",
                 {{"events", std::to_string(ids.size())}});
      return;
    }
    for (const auto& id : ids) report(outbox_.relay_one(id, *sns_), id);
    const auto now = std::chrono::steady_clock::now();
    if (last_sweep_ && now - *last_sweep_ < sweep_interval) return;
    last_sweep_ = now;
    report(outbox_.relay(*sns_, sweep_limit), "");
  }

 private:
  static void report(const result<dynamodb::relay_report>& r, const std::string& event_id) {
    if (!r) {
      log_line("warn", "outbox relay failed", {{"eventId", event_id}, {"reason", r.err().message}});
      return;
    }
    if (r->retried + r->dead > 0)
      log_line("warn", "outbox relay left events",
               {{"eventId", event_id}, {"retried", std::to_string(r->retried)}, {"dead", std::to_string(r->dead)}});
  }

  system_clock clock_;
  std::shared_ptr<dynamodb::dynamodb_client> client_;
  dynamodb::dynamodb_store store_;
  dynamodb::dynamodb_outbox outbox_;
  price_change_handler handler_{store_, clock_};
  aws::http_client http_;
  std::optional<sns::sns_publisher> sns_;
  router router_{store_, nullptr, clock_};
  std::optional<std::chrono::steady_clock::time_point> last_sweep_;
};

// The data dir, made when missing: the store makes only its file.
std::string new_or_existing_database(const std::filesystem::path& data_dir) {
  std::filesystem::create_directories(data_dir);
  return database_file(data_dir).string();
}

}  // namespace

std::filesystem::path database_file(const std::filesystem::path& data_dir) { return data_dir / "tickets.db"; }

namespace {

// This process's handler takes PriceChangeInitiated: price changes made here are handled in their
// own write.
sqlite::sqlite_store::options store_options(const backend_config& c) {
  sqlite::sqlite_store::options o;
  o.path = new_or_existing_database(c.data_dir);
  o.handle_price_changes = true;
  o.checkpoints = c.owns_data;  // invoke and events never checkpoint: serve (or lambda) owns the files
  return o;
}

}  // namespace

local_service::local_service(const backend_config& c) : store(store_options(c)) {}

local_service::~local_service() { store.on_event_recorded(nullptr); }

std::unique_ptr<backend> make_backend(const backend_config& c) {
  if (c.aws) return std::make_unique<aws_service>(*c.aws);
  return std::make_unique<local_service>(c);
}

}  // namespace tb
