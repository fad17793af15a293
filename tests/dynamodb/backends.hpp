// The two DynamoDB emulators every DynamoDB test runs against, and the tables the tests create:
// moto_server (signatures and IAM checked) and dynalite (stricter request validation).
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
  static aws::settings settings() {
    auto server = moto_server::shared();
    if (!server) throw std::runtime_error(server.err().message);
    return (*server)->settings();
  }
};

struct dynalite_backend {
  static constexpr const char* name = "dynalite";
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

// The tables as serverless.yml declares them (see src/dynamodb/outbox_table.hpp).
inline void create_tables(dynamodb::dynamodb_client& client, const aws::settings& s) {
  must(client.call("CreateTable",
                   {{"TableName", s.table},
                    {"AttributeDefinitions", {{{"AttributeName", "Theatre-Seat"}, {"AttributeType", "S"}}}},
                    {"KeySchema", {{{"AttributeName", "Theatre-Seat"}, {"KeyType", "HASH"}}}},
                    {"BillingMode", "PAY_PER_REQUEST"}}),
       "CreateTable " + s.table);
  boost::json::array attributes{{{"AttributeName", "eventId"}, {"AttributeType", "S"}},
                                {{"AttributeName", "pending"}, {"AttributeType", "S"}},
                                {{"AttributeName", "recordedAt"}, {"AttributeType", "S"}}};
  boost::json::object index{{"IndexName", "pending-index"},
                            {"KeySchema",
                             {{{"AttributeName", "pending"}, {"KeyType", "HASH"}},
                              {{"AttributeName", "recordedAt"}, {"KeyType", "RANGE"}}}},
                            {"Projection", {{"ProjectionType", "ALL"}}}};
  must(client.call("CreateTable", {{"TableName", s.events_table},
                                   {"AttributeDefinitions", std::move(attributes)},
                                   {"KeySchema", {{{"AttributeName", "eventId"}, {"KeyType", "HASH"}}}},
                                   {"GlobalSecondaryIndexes", {std::move(index)}},
                                   {"BillingMode", "PAY_PER_REQUEST"}}),
       "CreateTable " + s.events_table);
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
  create_tables(*client, s);
  wait_until_active(*client, s.table);
  wait_until_active(*client, s.events_table);
  return s;
}

// A client for the backend (the tables do not matter to it).
template <class Backend>
std::shared_ptr<dynamodb::dynamodb_client> client_for() {
  return std::make_shared<dynamodb::dynamodb_client>(Backend::settings());
}

}  // namespace tb::test
