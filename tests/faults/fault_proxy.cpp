#include "faults/fault_proxy.hpp"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

namespace tb::test {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

struct fault_proxy::state {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io};
  std::string upstream_host;
  std::string upstream_port;

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> calls;
  std::map<std::string, std::map<int, fault>> planned;  // op -> call number -> fault
  int faults_met = 0;
  int held = 0;
  bool released = false;
  bool stopping = false;
  std::set<int> open_fds;
  std::vector<std::thread> threads;
  std::thread acceptor_thread;

  // The operation a request names.
  static std::string op_of(const request& req) {
    auto it = req.find("X-Amz-Target");
    if (it != req.end()) {
      std::string t(it->value());
      auto dot = t.rfind('.');
      return dot == std::string::npos ? t : t.substr(dot + 1);
    }
    const std::string& body = req.body();
    auto at = body.find("Action=");
    if (at == std::string::npos) return "?";
    auto end = body.find('&', at);
    return body.substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
  }

  std::optional<fault> next_fault(const std::string& op) {
    std::lock_guard lock(mutex);
    const int n = ++calls[op];
    auto& plan = planned[op];
    auto it = plan.find(n);
    if (it == plan.end()) return std::nullopt;
    fault f = it->second;
    plan.erase(it);
    ++faults_met;
    return f;
  }

  response forward(const request& req) {
    tcp::resolver resolver(io);
    tcp::socket upstream(io);
    boost::asio::connect(upstream, resolver.resolve(upstream_host, upstream_port));
    request copy = req;
    copy.keep_alive(false);
    http::write(upstream, copy);
    boost::beast::flat_buffer buffer;
    response res;
    http::read(upstream, buffer, res);
    boost::system::error_code ignored;
    upstream.shutdown(tcp::socket::shutdown_both, ignored);
    return res;
  }

  static response error_reply(const request& req, int status, const std::string& code, const std::string& message) {
    response res{static_cast<http::status>(status), req.version()};
    if (req.find("X-Amz-Target") != req.end()) {
      res.set(http::field::content_type, "application/x-amz-json-1.0");
      res.body() = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" + code + "\",\"message\":\"" + message + "\"}";
    } else {
      res.set(http::field::content_type, "text/xml");
      res.body() = "<ErrorResponse><Error><Type>Sender</Type><Code>" + code + "</Code><Message>" + message +
                   "</Message></Error></ErrorResponse>";
    }
    res.prepare_payload();
    return res;
  }

  void serve(tcp::socket client) {
    const int fd = client.native_handle();
    {
      std::lock_guard lock(mutex);
      open_fds.insert(fd);
    }
    try {
      boost::beast::flat_buffer buffer;
      for (;;) {
        request req;
        boost::system::error_code ec;
        http::read(client, buffer, req, ec);
        if (ec) break;
        const auto f = next_fault(op_of(req));
        response res;
        if (f == fault::fail) {
          res = error_reply(req, 500, "InternalServerError", "injected: internal failure");
        } else if (f == fault::throttle) {
          res = error_reply(req, 400, "ThrottlingException", "injected: rate exceeded");
        } else {
          if (f == fault::hold) {
            std::unique_lock lock(mutex);
            ++held;
            changed.notify_all();
            changed.wait(lock, [&] { return released || stopping; });
            if (stopping) break;
          }
          res = forward(req);
          if (f == fault::lose_reply) break;  // it happened upstream; the client never hears
        }
        res.keep_alive(req.keep_alive());
        http::write(client, res, ec);
        if (ec || !req.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // The upstream or the client went away: the client sees its connection close.
    }
    std::lock_guard lock(mutex);
    open_fds.erase(fd);
    boost::system::error_code ignored;
    client.shutdown(tcp::socket::shutdown_both, ignored);
    client.close(ignored);
  }

  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket client(io);
      acceptor.accept(client, ec);
      std::lock_guard lock(mutex);
      if (stopping) return;
      if (ec) continue;
      threads.emplace_back([this, c = std::move(client)]() mutable { serve(std::move(c)); });
    }
  }
};

fault_proxy::fault_proxy(const std::string& upstream) : s_(std::make_unique<state>()) {
  const std::string scheme = "http://";
  if (upstream.rfind(scheme, 0) != 0) throw std::invalid_argument("fault_proxy: not an http URL: " + upstream);
  std::string host_port = upstream.substr(scheme.size());
  if (auto slash = host_port.find('/'); slash != std::string::npos) host_port.resize(slash);
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("fault_proxy: no port in " + upstream);
  s_->upstream_host = host_port.substr(0, colon);
  s_->upstream_port = host_port.substr(colon + 1);
  tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"), 0);
  s_->acceptor.open(at.protocol());
  s_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  s_->acceptor.bind(at);
  s_->acceptor.listen();
  s_->acceptor_thread = std::thread([this] { s_->accept_loop(); });
}

fault_proxy::~fault_proxy() {
  {
    std::lock_guard lock(s_->mutex);
    s_->stopping = true;
    s_->changed.notify_all();
    ::shutdown(s_->acceptor.native_handle(), SHUT_RDWR);  // wakes the blocked accept
    for (int fd : s_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  s_->acceptor_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(s_->mutex);
    threads = std::move(s_->threads);
  }
  for (auto& t : threads) t.join();
}

std::string fault_proxy::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(s_->acceptor.local_endpoint().port());
}

void fault_proxy::inject(const std::string& op, fault f, int nth) {
  std::lock_guard lock(s_->mutex);
  s_->planned[op][s_->calls[op] + nth] = f;
}

int fault_proxy::calls(const std::string& op) const {
  std::lock_guard lock(s_->mutex);
  auto it = s_->calls.find(op);
  return it == s_->calls.end() ? 0 : it->second;
}

int fault_proxy::faults_met() const {
  std::lock_guard lock(s_->mutex);
  return s_->faults_met;
}

bool fault_proxy::wait_until_held(std::chrono::seconds timeout) {
  std::unique_lock lock(s_->mutex);
  return s_->changed.wait_for(lock, timeout, [&] { return s_->held > 0; });
}

void fault_proxy::release() {
  std::lock_guard lock(s_->mutex);
  s_->released = true;
  s_->changed.notify_all();
}

}  // namespace tb::test
