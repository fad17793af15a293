// What the AWS emulators the tests run (moto_server, dynalite) have in common: a server program
// started on a free loopback port and awaited until it answers, killed with its object.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/http_client.hpp"
#include "core/result.hpp"
#include "support/child_process.hpp"

namespace tb::test {

struct emulator_spec {
  std::string name;  // in messages
  std::function<std::vector<std::string>(const std::string& port)> command;
  std::optional<environment> env;  // nullopt: this process's own
  // A request it answers with 200 once it is up.
  std::function<aws::http_request(const std::string& endpoint)> probe;
  // What it prints once it has bound the port. Until it does, an answer to the probe may come
  // from another test's emulator that took the same free port first (ours then fails to bind).
  std::function<std::string(const std::string& port)> listening;
  std::chrono::seconds start_timeout;
};

struct emulator {
  std::unique_ptr<child_process> process;  // its output: stdout and stderr
  std::string endpoint;                    // http://127.0.0.1:PORT
};

// Fails (errc::unavailable, the emulator's output in the message) when it exits or stays silent.
result<emulator> start_emulator(const emulator_spec& spec);

}  // namespace tb::test
