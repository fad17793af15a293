// End-to-end test harness: runs the real ticket-booking binary on loopback and talks HTTP to it
// with a real client (Boost.Beast), as a user's client would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "support/child_process.hpp"

namespace tb::test {

// A fresh directory under /tmp, removed when the object goes away.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const;
};

// `ticket-booking serve --host 127.0.0.1 --port 0 --data-dir DIR [extra_args]`; waits for its
// "listening on" line.
class server_process {
 public:
  explicit server_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args = {});
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  unsigned short port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  void kill9() { process_->kill9(); }
  // SIGTERM, then the exit status (or -1 when it had to be killed after the timeout).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(15));
  // Everything the server logged so far (stderr).
  std::string log() const { return process_->output(); }

 private:
  std::unique_ptr<child_process> process_;  // SIGKILLed with this object if still running
  unsigned short port_ = 0;
};

// One request on a new connection. `raw` sends the bytes as they are and returns what comes back.
http_response request(unsigned short port, const std::string& method, const std::string& target,
                      const std::string& body = "",
                      const std::map<std::string, std::string>& headers = {});
http_response get(unsigned short port, const std::string& target);
std::string raw_exchange(unsigned short port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// A keep-alive connection: many requests on one socket.
class http_client {
 public:
  explicit http_client(unsigned short port);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;
  http_response send(const std::string& method, const std::string& target, const std::string& body = "");

 private:
  struct impl;
  impl* impl_;
};

// Runs `ticket-booking ARGS...`, returns exit status and stdout.
struct command_result {
  int status = -1;
  std::string out;
  std::string err;
};
// `env`: exactly these variables (nullopt: this process's own).
command_result run_cli(const std::vector<std::string>& args, std::optional<environment> env = std::nullopt);

std::string binary_path();

// JSON in assertions. Each throws or answers a marker string rather than crash on a bad body.
json::value value_of(const std::string& text);         // throws if not JSON
json::object object_of(const std::string& text);       // throws if not a JSON object
std::string raw(const json::object& o, std::string_view key);  // canonical text, or "<absent>"
std::string str(const json::object& o, std::string_view key);  // the string, or "<not a string>"
json::object member_object(const json::object& o, std::string_view key);  // {} if absent
std::string json_string(std::string_view s);            // s as a JSON string literal
std::vector<std::string> lines_of(const std::string& text);  // its non-empty lines

}  // namespace tb::test
