// Starts, readies and kills moto_server, and spends its unauthenticated calls on the IAM user
// the tests sign with.
#include "aws/moto_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "aws/http_client.hpp"
#include "aws/query_api.hpp"
#include "aws/sigv4.hpp"

extern char** environ;

namespace tb::test {

namespace {

#ifndef TB_MOTO_SERVER
#define TB_MOTO_SERVER "moto_server"
#endif

// CreateUser, CreateAccessKey, PutUserPolicy: the calls moto lets through unsigned.
constexpr int unauthenticated_calls = 3;
// moto imports a lot of Python before it listens: about a second here, far more on a busy CI box.
constexpr std::chrono::seconds start_timeout{60};
constexpr std::chrono::milliseconds ready_poll{50};
constexpr int port_attempts = 3;  // a free port may be taken between our probe and moto's bind
constexpr const char* iam_user = "tb-test";
constexpr const char* allow_everything =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";

// A port the kernel considers free right now.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

error failure(std::string what) {
  return {errc::unavailable, "moto_server: " + std::move(what)};
}

}  // namespace

result<std::unique_ptr<moto_server>> moto_server::start() {
  std::unique_ptr<moto_server> server(new moto_server());
  std::string last_error;
  for (int attempt = 0; attempt < port_attempts; ++attempt) {
    const int port = free_loopback_port();
    if (port <= 0) return failure("no free loopback port");
    if (auto spawned = server->spawn(port); !spawned) return spawned.err();
    auto ready = server->wait_until_ready();
    if (ready) {
      if (auto user = server->create_iam_user(); !user)
        return failure(user.err().message + "\n" + server->log());
      return server;
    }
    last_error = ready.err().message + "\n" + server->log();
    server->kill_server();
  }
  return failure(last_error);
}

result<moto_server*> moto_server::shared() {
  // Destroyed by the exit handlers, which kill the server.
  static result<std::unique_ptr<moto_server>> instance = start();
  if (!instance) return instance.err();
  return instance->get();
}

moto_server::~moto_server() {
  kill_server();
  if (!log_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(log_path_, ignored);
  }
}

aws::settings moto_server::settings() const {
  aws::settings s;
  s.region = region_;
  s.credentials = credentials_;
  s.dynamodb_endpoint = endpoint_;
  s.sns_endpoint = endpoint_;
  s.table = "ticket-booking";
  s.events_table = "ticket-booking-events";
  s.dynamodb_configured = true;
  return s;
}

std::string moto_server::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

result<void> moto_server::spawn(int port) {
  if (log_path_.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "tb-moto-XXXXXX").string();
    const int fd = ::mkstemp(templ.data());
    if (fd < 0) return failure(std::string("mkstemp: ") + std::strerror(errno));
    ::close(fd);
    log_path_ = templ;
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  const std::string port_text = std::to_string(port);
  std::vector<std::string> args = {TB_MOTO_SERVER, "-H", "127.0.0.1", "-p", port_text};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view var(*e);
    if (var.starts_with("INITIAL_NO_AUTH_ACTION_COUNT=") || var.starts_with("MOTO_PORT=")) continue;
    env.emplace_back(var);
  }
  env.push_back("INITIAL_NO_AUTH_ACTION_COUNT=" + std::to_string(unauthenticated_calls));
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log_file = log_path_.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) return failure(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Dies with the thread that started it, so a crashed test leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // its own group: killed as a whole, untouched by the terminal's Ctrl-C
    const int out = ::open(log_file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || null < 0) ::_exit(127);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::execvpe(argv[0], argv.data(), envp.data());  // not an absolute path: look it up on PATH
    ::_exit(127);
  }
  pid_ = pid;
  endpoint_ = "http://127.0.0.1:" + port_text;
  return ok;
}

result<void> moto_server::wait_until_ready() {
  aws::http_client client({std::chrono::milliseconds(500), std::chrono::milliseconds(2000), 1 << 20});
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  std::string last = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      // 127: the executable could not be run at all (configure with moto_server on PATH).
      return failure(std::string(TB_MOTO_SERVER) + " exited before answering (exit code " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    }
    // moto's own API: answers once the server is up, and is not one of the counted calls.
    auto r = client.send({"GET", endpoint_ + "/moto-api/", {}, {}});
    if (r && r->status == 200) return ok;
    last = r ? "status " + std::to_string(r->status) : r.err().message;
    std::this_thread::sleep_for(ready_poll);
  }
  return failure("not answering after " + std::to_string(start_timeout.count()) + " s: " + last);
}

result<void> moto_server::create_iam_user() {
  aws::http_client client;
  // Unchecked as yet, but moto routes a request to a service by its signature's scope.
  const aws::sigv4_signer signer({"bootstrap", "bootstrap", ""}, region_, "iam");
  auto call = [&](std::string body) -> result<std::string> {
    aws::http_request req{
        "POST", endpoint_ + "/", {{"Content-Type", std::string(aws::form_content_type)}}, std::move(body)};
    signer.sign(req, std::chrono::system_clock::now());
    auto r = client.send(req);
    if (!r) return r.err();
    if (r->status != 200) return failure("IAM answered " + std::to_string(r->status) + ": " + r->body);
    return std::move(r->body);
  };
  auto iam_body = [](std::string_view action) {
    std::string body;
    aws::append_form_param(body, "Action", action);
    aws::append_form_param(body, "Version", "2010-05-08");
    aws::append_form_param(body, "UserName", iam_user);
    return body;
  };

  if (auto user = call(iam_body("CreateUser")); !user) return user.err();
  auto key = call(iam_body("CreateAccessKey"));
  if (!key) return key.err();
  auto policy_body = iam_body("PutUserPolicy");
  aws::append_form_param(policy_body, "PolicyName", "allow-everything");
  aws::append_form_param(policy_body, "PolicyDocument", allow_everything);
  if (auto policy = call(std::move(policy_body)); !policy) return policy.err();

  auto id = aws::xml_text(*key, "AccessKeyId");
  auto secret = aws::xml_text(*key, "SecretAccessKey");
  if (!id || !secret) return failure("CreateAccessKey answered without a key: " + *key);
  credentials_ = {std::move(*id), std::move(*secret), ""};
  return ok;
}

result<aws::http_response> moto_server::send_signed(std::string_view service, aws::http_request req) const {
  if (req.url.starts_with("/")) req.url = endpoint_ + req.url;
  aws::sigv4_signer(credentials_, region_, std::string(service)).sign(req, std::chrono::system_clock::now());
  return http_->send(req);
}

void moto_server::kill_server() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);  // the group: whatever moto may have started too
  ::kill(pid_, SIGKILL);   // in case it died before setpgid
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace tb::test
