#include "support/child_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace tb::test {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), "child_process: " + what);
}

// Opened before fork (after it, only async-signal-safe calls), closed in the parent after it.
class fd_for_child {
 public:
  fd_for_child(const std::filesystem::path& path, int flags)
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw_errno("open " + path.string());
  }
  ~fd_for_child() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_for_child(const fd_for_child&) = delete;
  fd_for_child& operator=(const fd_for_child&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int exit_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

environment this_environment() {
  environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view var(*e);
    const auto eq = var.find('=');
    if (eq != std::string_view::npos) env.emplace(var.substr(0, eq), var.substr(eq + 1));
  }
  return env;
}

environment with_sanitizer_options(environment env) {
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(name)) env.emplace(name, v);
  return env;
}

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

child_process::child_process(std::vector<std::string> args, environment env, std::filesystem::path log_path,
                             std::filesystem::path dir)
    : child_process(options{std::move(args), std::move(env), std::move(log_path), {}, std::move(dir)}) {}

child_process::child_process(options opts) : output_(std::move(opts.output)) {
  if (opts.args.empty()) throw std::invalid_argument("child_process: no program to run");
  if (output_.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "tb-child-XXXXXX").string();
    const int fd = ::mkstemp(templ.data());
    if (fd < 0) throw_errno("mkstemp");
    ::close(fd);
    output_ = templ;
    owns_output_ = true;
  }
  // Everything the child needs is built before fork.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : opts.env ? *opts.env : this_environment()) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : opts.args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const bool on_path = opts.args[0].find('/') == std::string::npos;
  const fd_for_child in("/dev/null", O_RDONLY);
  const fd_for_child out(output_, O_WRONLY | O_CREAT | O_TRUNC);
  const std::optional<fd_for_child> err =
      opts.errors.empty() ? std::nullopt
                          : std::make_optional<fd_for_child>(opts.errors, O_WRONLY | O_CREAT | O_TRUNC);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    // Dies with the thread that started it; if that already happened, runs nothing.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // its own group: killed as a whole, untouched by the terminal's Ctrl-C
    ::dup2(in.get(), STDIN_FILENO);
    ::dup2(out.get(), STDOUT_FILENO);
    ::dup2(err ? err->get() : out.get(), STDERR_FILENO);
    if (!opts.dir.empty() && ::chdir(opts.dir.c_str()) != 0) ::_exit(126);
    if (on_path)
      ::execvpe(argv[0], argv.data(), envp.data());
    else
      ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  kill9();
  if (owns_output_) {
    std::error_code ignored;
    std::filesystem::remove(output_, ignored);
  }
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = exit_status(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a poll for the exit, not a delay
  }
  return status_;
}

int child_process::wait() {
  while (!status_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, 0);
    if (r == pid_)
      status_ = exit_status(status);
    else if (r < 0 && errno != EINTR)
      status_ = -1;  // not ours to wait for any more
  }
  return *status_;
}

bool child_process::running() {
  return !wait(std::chrono::milliseconds(0));
}

bool child_process::wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                               std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!running()) return false;
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

void child_process::signal(int sig) {
  if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

void child_process::kill9() {
  if (status_ || pid_ <= 0) return;  // reaped: the pid may be another process's by now
  ::kill(-pid_, SIGKILL);            // the group: whatever it started too
  ::kill(pid_, SIGKILL);             // in case it has not called setpgid yet
  wait();
}

std::string child_process::output() const {
  std::ifstream in(output_, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace tb::test
