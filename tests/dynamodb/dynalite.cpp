// Starts, readies and kills dynalite. node and the package come from the build (CMake finds
// node; scripts/install-deps.sh test runs npm ci in tests/tools).
#include "dynamodb/dynalite.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

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
constexpr std::chrono::milliseconds ready_poll{50};
constexpr int port_attempts = 3;  // a free port may be taken between our probe and dynalite's bind

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

error failure(std::string what) {
  return {errc::unavailable, "dynalite: " + std::move(what)};
}

}  // namespace

result<std::unique_ptr<dynalite>> dynalite::start() {
  std::unique_ptr<dynalite> server(new dynalite());
  std::string last_error;
  for (int attempt = 0; attempt < port_attempts; ++attempt) {
    const int port = free_loopback_port();
    if (port <= 0) return failure("no free loopback port");
    if (auto spawned = server->spawn(port); !spawned) return spawned.err();
    auto ready = server->wait_until_ready();
    if (ready) return server;
    last_error = ready.err().message;
    server->kill_server();
  }
  return failure(last_error + " (is tests/tools installed? scripts/install-deps.sh test)");
}

result<dynalite*> dynalite::shared() {
  static result<std::unique_ptr<dynalite>> instance = start();
  if (!instance) return instance.err();
  return instance->get();
}

dynalite::~dynalite() {
  kill_server();
}

aws::settings dynalite::settings() const {
  aws::settings s;
  s.region = "us-east-1";
  s.credentials = {"dynalite", "dynalite", ""};
  s.dynamodb_endpoint = endpoint_;
  s.table = "ticket-booking";
  s.events_table = "ticket-booking-events";
  s.dynamodb_configured = true;
  return s;
}

result<void> dynalite::spawn(int port) {
  const std::string port_text = std::to_string(port);
  // Tables are ACTIVE at once: the tests create one per case.
  std::vector<std::string> args = {TB_NODE,   TB_DYNALITE_CLI,   "--host", "127.0.0.1",       "--port",
                                   port_text, "--createTableMs", "0",      "--deleteTableMs", "0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return failure(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) ::_exit(127);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  endpoint_ = "http://127.0.0.1:" + port_text;
  return ok;
}

result<void> dynalite::wait_until_ready() {
  aws::http_client client({std::chrono::milliseconds(500), std::chrono::milliseconds(2000), 1 << 20});
  const aws::sigv4_signer signer({"dynalite", "dynalite", ""}, "us-east-1", "dynamodb");
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  std::string last = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return failure("exited before answering (status " + std::to_string(status) + ")");
    }
    aws::http_request req{
        "POST",
        endpoint_ + "/",
        {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "DynamoDB_20120810.ListTables"}},
        "{}"};
    signer.sign(req, std::chrono::system_clock::now());
    auto r = client.send(req);
    if (r && r->status == 200) return ok;
    last = r ? "status " + std::to_string(r->status) : r.err().message;
    std::this_thread::sleep_for(ready_poll);
  }
  return failure("not answering after " + std::to_string(start_timeout.count()) + " s: " + last);
}

void dynalite::kill_server() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace tb::test
