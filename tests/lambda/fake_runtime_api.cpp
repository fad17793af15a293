#include "lambda/fake_runtime_api.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <set>
#include <stdexcept>

namespace tb::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view invocation_root = "/2018-06-01/runtime/invocation/";
constexpr std::string_view init_error_path = "/2018-06-01/runtime/init/error";
// Above Lambda's 6 MB, so that the runtime's own limit is what the tests see.
constexpr std::size_t max_posted_bytes = 64 * 1024 * 1024;

// How often a `next` held open checks that its client is still there.
constexpr std::chrono::milliseconds peer_check_interval{10};

bool peer_gone(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct fake_runtime_api::state {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  unsigned short port = 0;

  mutable std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::deque<queued_invocation> queue;
  std::vector<runtime_post> posts;
  std::chrono::milliseconds hold{0};
  std::size_t nexts = 0;
  std::set<std::size_t> waiting;  // the numbers of the `next` requests blocked with nothing to hand out
  std::size_t connections = 0;
  std::set<int> open_fds;
  std::vector<std::thread> sessions;
  int request_counter = 0;
};

fake_runtime_api::fake_runtime_api() : s_(std::make_unique<state>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  s_->acceptor.open(endpoint.protocol());
  s_->acceptor.set_option(asio::socket_base::reuse_address(true));
  s_->acceptor.bind(endpoint);
  s_->acceptor.listen();
  s_->port = s_->acceptor.local_endpoint().port();
  acceptor_thread_ = std::thread([this] { accept_loop(); });
}

fake_runtime_api::~fake_runtime_api() {
  stop();
}

std::string fake_runtime_api::address() const {
  return "127.0.0.1:" + std::to_string(s_->port);
}

std::string fake_runtime_api::enqueue(std::string payload) {
  queued_invocation inv;
  inv.payload = std::move(payload);
  return enqueue(std::move(inv));
}

std::string fake_runtime_api::enqueue(queued_invocation inv) {
  std::lock_guard lock(s_->mutex);
  if (inv.request_id.empty()) inv.request_id = "req-" + std::to_string(++s_->request_counter);
  std::string id = inv.request_id;
  s_->queue.push_back(std::move(inv));
  s_->changed.notify_all();
  return id;
}

void fake_runtime_api::hold_next(std::chrono::milliseconds hold) {
  std::lock_guard lock(s_->mutex);
  s_->hold = hold;
}

std::optional<runtime_post> fake_runtime_api::wait_for_outcome(const std::string& request_id,
                                                               std::chrono::seconds timeout) {
  std::unique_lock lock(s_->mutex);
  std::optional<runtime_post> found;
  s_->changed.wait_for(lock, timeout, [&] {
    for (const auto& p : s_->posts)
      if (p.request_id == request_id) found = p;
    return found.has_value();
  });
  return found;
}

bool fake_runtime_api::wait_for_posts(std::size_t count, std::chrono::seconds timeout) {
  std::unique_lock lock(s_->mutex);
  return s_->changed.wait_for(lock, timeout, [&] { return s_->posts.size() >= count; });
}

bool fake_runtime_api::wait_until_waiting(std::size_t after, std::chrono::seconds timeout) {
  std::unique_lock lock(s_->mutex);
  return s_->changed.wait_for(lock, timeout,
                              [&] { return !s_->waiting.empty() && *s_->waiting.rbegin() > after; });
}

std::vector<runtime_post> fake_runtime_api::posts() const {
  std::lock_guard lock(s_->mutex);
  return s_->posts;
}

std::size_t fake_runtime_api::nexts() const {
  std::lock_guard lock(s_->mutex);
  return s_->nexts;
}

std::size_t fake_runtime_api::connections() const {
  std::lock_guard lock(s_->mutex);
  return s_->connections;
}

void fake_runtime_api::stop() {
  std::vector<std::thread> sessions;
  {
    std::lock_guard lock(s_->mutex);
    if (s_->stopping) return;
    s_->stopping = true;
    // shutdown(2), not close: it wakes the threads blocked on these sockets, which then close them.
    ::shutdown(s_->acceptor.native_handle(), SHUT_RDWR);
    for (int fd : s_->open_fds) ::shutdown(fd, SHUT_RDWR);
    s_->changed.notify_all();
  }
  acceptor_thread_.join();
  {
    std::lock_guard lock(s_->mutex);
    sessions.swap(s_->sessions);
  }
  for (auto& t : sessions) t.join();
}

void fake_runtime_api::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = s_->acceptor.accept(ec);
    std::lock_guard lock(s_->mutex);
    if (ec || s_->stopping) break;
    ++s_->connections;
    const int fd = socket.release(ec);
    s_->open_fds.insert(fd);
    s_->sessions.emplace_back([this, fd] { serve(fd); });
  }
  beast::error_code ignored;
  s_->acceptor.close(ignored);
}

void fake_runtime_api::serve(int fd) {
  asio::io_context io;
  tcp::socket socket(io, tcp::v4(), fd);
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(max_posted_bytes);
    bhttp::read(socket, buffer, parser, ec);
    if (ec) break;
    auto req = parser.release();
    const std::string target(req.target());
    bhttp::response<bhttp::string_body> res{bhttp::status::accepted, req.version()};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());

    if (req.method() == bhttp::verb::get && target == std::string(invocation_root) + "next") {
      std::unique_lock lock(s_->mutex);
      const std::size_t number = ++s_->nexts;
      const auto held_until = std::chrono::steady_clock::now() + s_->hold;
      s_->changed.notify_all();
      s_->changed.wait_until(lock, held_until, [&] { return s_->stopping; });
      s_->waiting.insert(number);
      s_->changed.notify_all();
      // A runtime killed while it waited must neither count as waiting nor take an event.
      bool gone = false;
      while (!s_->stopping && !(gone = peer_gone(fd)) && s_->queue.empty())
        s_->changed.wait_for(lock, peer_check_interval);
      s_->waiting.erase(number);
      if (s_->stopping || gone) break;
      queued_invocation inv = std::move(s_->queue.front());
      s_->queue.pop_front();
      res.result(bhttp::status::ok);
      res.set("Lambda-Runtime-Aws-Request-Id", inv.request_id);
      res.set("Lambda-Runtime-Deadline-Ms",
              std::to_string(inv.deadline_ms ? inv.deadline_ms : now_ms() + 30000));
      res.set("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn);
      res.set("Lambda-Runtime-Trace-Id", inv.trace_id);
      res.body() = std::move(inv.payload);
    } else if (req.method() == bhttp::verb::post) {
      runtime_post post;
      std::string_view rest = target;
      if (target == init_error_path) {
        post.kind = "init_error";
      } else if (rest.starts_with(invocation_root)) {
        rest.remove_prefix(invocation_root.size());
        const auto slash = rest.find('/');
        post.request_id = std::string(rest.substr(0, slash));
        post.kind = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
      }
      if (post.kind == "response" || post.kind == "error" || post.kind == "init_error") {
        if (auto it = req.find("Lambda-Runtime-Function-Error-Type"); it != req.end())
          post.error_type = it->value();
        if (auto it = req.find(bhttp::field::content_type); it != req.end()) post.content_type = it->value();
        post.body = std::move(req.body());
        std::lock_guard lock(s_->mutex);
        s_->posts.push_back(std::move(post));
        s_->changed.notify_all();
        res.body() = R"({"status":"OK"})";
      } else {
        res.result(bhttp::status::not_found);
        res.body() = R"({"errorMessage":"no such path","errorType":"InvalidRequest"})";
      }
    } else {
      res.result(bhttp::status::not_found);
      res.body() = R"({"errorMessage":"no such path","errorType":"InvalidRequest"})";
    }
    res.prepare_payload();
    bhttp::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  std::lock_guard lock(s_->mutex);
  s_->open_fds.erase(fd);
  beast::error_code ignored;
  socket.close(ignored);
}

}  // namespace tb::test
