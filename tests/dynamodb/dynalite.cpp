// dynalite as an emulator: its command and readiness probe. node and the package come from the
// build (CMake finds node; scripts/install-deps.sh test runs npm ci in tests/tools).
#include "dynamodb/dynalite.hpp"

#include "aws/http_client.hpp"
#include "aws/sigv4.hpp"

#ifndef TB_NODE
#define TB_NODE "node"
#endif
#ifndef TB_DYNALITE_CLI
#define TB_DYNALITE_CLI "tests/tools/node_modules/dynalite/cli.js"
#endif

namespace tb::test {
namespace {

constexpr std::chrono::seconds start_timeout{30};

}  // namespace

result<std::unique_ptr<dynalite>> dynalite::start() {
  auto started =
      start_emulator({.name = "dynalite",
                      // Tables are ACTIVE at once: the tests create one per case.
                      .command = [](const std::string& port) -> std::vector<std::string> {
                        return {TB_NODE, TB_DYNALITE_CLI,   "--host", "127.0.0.1",       "--port",
                                port,    "--createTableMs", "0",      "--deleteTableMs", "0"};
                      },
                      .env = std::nullopt,
                      .probe =
                          [](const std::string& endpoint) {
                            aws::http_request req{"POST",
                                                  endpoint + "/",
                                                  {{"Content-Type", "application/x-amz-json-1.0"},
                                                   {"X-Amz-Target", "DynamoDB_20120810.ListTables"}},
                                                  "{}"};
                            aws::sigv4_signer({"dynalite", "dynalite", ""}, "us-east-1", "dynamodb")
                                .sign(req, std::chrono::system_clock::now());
                            return req;
                          },
                      .listening = [](const std::string& port) { return "127.0.0.1:" + port; },
                      .start_timeout = start_timeout});
  if (!started)
    return error{started.err().code,
                 started.err().message + " (is tests/tools installed? scripts/install-deps.sh test)"};
  return std::unique_ptr<dynalite>(new dynalite(std::move(*started)));
}

result<dynalite*> dynalite::shared() {
  static result<std::unique_ptr<dynalite>> instance = start();
  if (!instance) return instance.err();
  return instance->get();
}

aws::settings dynalite::settings() const {
  aws::settings s;
  s.region = "us-east-1";
  s.credentials = {"dynalite", "dynalite", ""};
  s.dynamodb_endpoint = server_.endpoint;
  s.table = "ticket-booking";
  s.events_table = "ticket-booking-events";
  s.movies_table = "ticket-booking-movies";
  return s;
}

}  // namespace tb::test
