#include "cli/backend.hpp"

#include <utility>

#include "log/log.hpp"
#include "aws/http_client.hpp"
#include "dynamodb/dynamodb_store.hpp"
#include "dynamodb/stream_relay.hpp"
#include "sns/sns_publisher.hpp"

namespace tb {
namespace {

// DynamoDB for the tickets, the outbox and the movie catalog; SNS for the events, published by
// publishPriceChangeEvents from the outbox's stream (never by the other functions, so nothing
// waits on traffic and no answer waits on SNS).
class aws_service final : public backend {
 public:
  explicit aws_service(const aws::settings& s)
      : client_(std::make_shared<dynamodb::dynamodb_client>(s)),
        store_(client_,
               {.table = s.table, .events_table = s.events_table, .movies_table = s.movies_table, .clock = &clock_}),
        http_(dynamodb::attempt_limits, s.ca_bundle) {
    if (!s.topic_arn.empty()) sns_.emplace(http_, s);
  }

  router& routes() override { return router_; }
  event_handler& events() override { return handler_; }
  void deliver_recorded() override {}
  void set_deadline(const deadline& d) override {
    const auto at = d.bounded() ? std::optional(d.at) : std::nullopt;
    client_->set_deadline(at);
    if (sns_) sns_->set_deadline(at);
  }

  result<json::value> relay(const json::value& event) override {
    if (!sns_) return bad_request("publishPriceChangeEvents needs PRICE_CHANGE_TOPIC_ARN");
    auto records = dynamodb::stream_records(event);
    if (!records) return records.err();
    return dynamodb::relay_batch(*records, *sns_);
  }

 private:
  system_clock clock_;
  std::shared_ptr<dynamodb::dynamodb_client> client_;
  dynamodb::dynamodb_store store_;
  price_change_handler handler_{store_, clock_};
  aws::http_client http_;
  std::optional<sns::sns_publisher> sns_;
  router router_{store_, nullptr, clock_};
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
