// A program run with exactly the environment a test gives it (as Lambda gives a runtime its
// variables), its stdout and stderr kept in a file; killed if still running at the end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tb::test {

class child_process {
 public:
  // args[0] is the program's path. `dir`: the working directory (empty: this one's).
  child_process(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                const std::filesystem::path& log_path, const std::filesystem::path& dir = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The exit status (128 + signal when killed); nullopt if still running after the timeout.
  std::optional<int> wait(std::chrono::seconds timeout);
  bool running();
  void kill9();
  std::string output() const;  // stdout and stderr so far

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_path_;
};

// The sanitizers' settings, when the tests run under them: passed on to an emptied environment.
std::map<std::string, std::string> with_sanitizer_options(std::map<std::string, std::string> env);

}  // namespace tb::test
