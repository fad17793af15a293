// The two DynamoDB emulators every DynamoDB test runs against, and the tables the tests create:
// moto_server (signatures and IAM checked) and dynalite (stricter request validation, but no
// TransactWriteItems: the store's writes run on moto only).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "aws/moto_server.hpp"
#include "dynamodb/dynalite.hpp"
#include "dynamodb/dynamodb_client.hpp"

namespace tb::test {

struct moto_backend {
  static constexpr const char* name = "moto";
  static constexpr bool streams = true;
  static aws::settings settings() {
    auto server = moto_server::shared();
    if (!server) throw std::runtime_error(server.err().message);
    return (*server)->settings();
  }
};

struct dynalite_backend {
  static constexpr const char* name = "dynalite";
  static constexpr bool streams = false;  // dynalite has no streams (nor TransactWriteItems)
  static aws::settings settings() {
    auto server = dynalite::shared();
    if (!server) throw std::runtime_error(server.err().message);
    return (*server)->settings();
  }
};

// Names typed tests' instances after their backend: DynamoDBStore/moto.Case, .../dynalite.Case.
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::name;
  }
};

inline void must(const dynamodb::call_result& r, const std::string& what) {
  if (!r) throw std::runtime_error(what + ": " + r.err().type + ": " + r.err().message);
}

// The tables as serverless.yml declares them (see src/dynamodb/outbox_table.hpp and
// dynamodb_store.hpp): tickets, the outbox (its stream on, where the emulator has streams) and the
// movie catalog.
inline void create_tables(dynamodb::dynamodb_client& client, const aws::settings& s, bool stream = true) {
  auto hash_key = [](const char* name) {
    return boost::json::object{
        {"AttributeDefinitions", {{{"AttributeName", name}, {"AttributeType", "S"}}}},
        {"KeySchema", {{{"AttributeName", name}, {"KeyType", "HASH"}}}},
        {"BillingMode", "PAY_PER_REQUEST"}};
  };
  auto tickets = hash_key("Theatre-Seat");
  tickets["TableName"] = s.table;
  must(client.call("CreateTable", tickets), "CreateTable " + s.table);
  auto events = hash_key("eventId");
  events["TableName"] = s.events_table;
  if (stream) events["StreamSpecification"] = {{"StreamEnabled", true}, {"StreamViewType", "NEW_IMAGE"}};
  must(client.call("CreateTable", events), "CreateTable " + s.events_table);
  auto movies = hash_key("Movie");
  movies["TableName"] = s.movies_table;
  must(client.call("CreateTable", movies), "CreateTable " + s.movies_table);
}

// A new table is CREATING for a moment (dynalite: until its next tick), and refuses requests.
inline void wait_until_active(dynamodb::dynamodb_client& client, const std::string& table) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto r = client.call("DescribeTable", {{"TableName", table}});
    must(r, "DescribeTable " + table);
    const auto& description = r->at("Table").as_object();
    bool active = description.at("TableStatus") == "ACTIVE";
    if (auto it = description.find("GlobalSecondaryIndexes"); it != description.end())
      for (const auto& index : it->value().as_array())
        active = active && index.as_object().at("IndexStatus") == "ACTIVE";
    if (active) return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(table + " is not ACTIVE after 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Settings naming a fresh pair of tables on the backend, created.
template <class Backend>
aws::settings fresh_tables(const std::shared_ptr<dynamodb::dynamodb_client>& client) {
  static std::atomic<int> n{0};
  aws::settings s = Backend::settings();
  s.table = "tickets-" + std::to_string(++n);
  s.events_table = s.table + "-events";
  s.movies_table = s.table + "-movies";
  create_tables(*client, s, Backend::streams);
  for (const auto& t : {s.table, s.events_table, s.movies_table}) wait_until_active(*client, t);
  return s;
}

// The tests' own reads and setup wait longer than the binary's 2 s attempts: the emulators are
// slow on a loaded machine, and a test's setup failing says nothing about the code under test.
inline constexpr aws::http_limits test_limits{std::chrono::milliseconds(5000), std::chrono::milliseconds(30000),
                                              64 * 1024 * 1024};

// A client for the backend (the tables do not matter to it).
template <class Backend>
std::shared_ptr<dynamodb::dynamodb_client> client_for() {
  return std::make_shared<dynamodb::dynamodb_client>(Backend::settings(), dynamodb::retry_limits{}, test_limits);
}

}  // namespace tb::test
