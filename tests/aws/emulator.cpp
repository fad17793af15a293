#include "aws/emulator.hpp"

#include <exception>

namespace tb::test {

namespace {

constexpr std::chrono::milliseconds ready_poll{50};
constexpr int port_attempts = 3;  // a free port may be taken between our probe and the server's bind

}  // namespace

result<emulator> start_emulator(const emulator_spec& spec) {
  auto failure = [&](const std::string& what) { return error{errc::unavailable, spec.name + ": " + what}; };
  aws::http_client client({std::chrono::milliseconds(500), std::chrono::milliseconds(2000), 1 << 20});
  std::string last_error;
  for (int attempt = 0; attempt < port_attempts; ++attempt) {
    const int port = free_loopback_port();
    if (port <= 0) return failure("no free loopback port");
    const std::string port_text = std::to_string(port);
    emulator e{nullptr, "http://127.0.0.1:" + port_text};
    try {
      e.process = std::make_unique<child_process>(
          child_process::options{.args = spec.command(port_text), .env = spec.env});
    } catch (const std::exception& ex) {
      return failure(ex.what());
    }
    std::string last = "no answer yet";
    const bool ready = e.process->wait_until(
        [&] {
          auto r = client.send(spec.probe(e.endpoint));
          if (!r || r->status != 200) {
            last = r ? "status " + std::to_string(r->status) : r.err().message;
            return false;
          }
          if (e.process->output().find(spec.listening(port_text)) != std::string::npos) return true;
          last = "the port answers, but not (yet) from this process";
          return false;
        },
        spec.start_timeout, ready_poll);
    if (ready) return e;
    if (e.process->running()) {
      last_error = "not answering after " + std::to_string(spec.start_timeout.count()) + " s: " + last;
    } else {
      // 127: the executable could not be run at all (configure with it on PATH).
      last_error = "exited before answering (exit code " + std::to_string(e.process->wait()) + ")";
    }
    last_error.append("\n").append(e.process->output());
  }
  return failure(last_error);
}

}  // namespace tb::test
