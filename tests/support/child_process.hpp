// A program a test runs (an emulator, the real binary, a script) that never outlives the test: it
// is killed, with its process group, when its object goes away, and also when the thread that
// started it dies (a crashed or SIGKILLed test leaves no orphan behind).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tb::test {

using environment = std::map<std::string, std::string>;

// This process's own environment, to change before passing it on.
environment this_environment();
// The sanitizers' settings, when the tests run under them: passed on to an emptied environment.
environment with_sanitizer_options(environment env);

// A loopback TCP port nobody is bound to right now (bound, read back and released), or -1.
// Another process may take it before the caller's server binds it: such a start is retried.
int free_loopback_port();

class child_process {
 public:
  struct options {
    std::vector<std::string> args{};   // args[0]: a path, or a name looked up on PATH
    std::optional<environment> env{};  // nullopt: this process's own
    // Where stdout and stderr go (truncated). Empty: a temporary file, removed with this object.
    std::filesystem::path output{};
    std::filesystem::path errors{};  // stderr apart from stdout (empty: with it)
    std::filesystem::path dir{};     // the working directory (empty: this one's)
  };

  // Throws std::system_error when it cannot fork; a program that cannot be run exits 127.
  explicit child_process(options opts);
  // args with exactly env (as Lambda gives a runtime its variables), stdout and stderr in log_path.
  child_process(std::vector<std::string> args, environment env, std::filesystem::path log_path,
                std::filesystem::path dir = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  // The exit status (128 + signal when killed); nullopt if still running after the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  int wait();  // however long it takes
  bool running();
  // Asks `ready` every `poll` until it says yes (true), or the process exits or `timeout` passes
  // (false; running() tells which). An exited process is not asked: a port it failed to bind
  // may be another server's.
  bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds poll = std::chrono::milliseconds(10));
  void signal(int sig);        // to the program alone, while it runs
  void kill9();                // SIGKILL to its process group, then reaped
  std::string output() const;  // what it wrote to `output` so far

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path output_;
  bool owns_output_ = false;
};

}  // namespace tb::test
