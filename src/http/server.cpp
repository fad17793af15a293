#include "http/server.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/log.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

class session;

// After an error answer to a request not read to its end, how long the rest is read and dropped.
constexpr std::chrono::seconds linger_timeout{5};

// What every session shares: the router, the limits, and the list used to drain at shutdown.
struct shared_state {
  shared_state(router& r, const server_limits& l) : routes(r), lim(l) {}
  router& routes;
  server_limits lim;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, shared_state& state) : stream_(std::move(socket)), state_(state) {
    ++state_.connections;
  }
  ~session() {
    std::lock_guard lock(state_.sessions_mutex);
    state_.sessions.erase(this);
    --state_.connections;
  }

  void start() {
    {
      std::lock_guard lock(state_.sessions_mutex);
      state_.sessions.emplace(this, weak_from_this());
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // At shutdown: a connection waiting for its next request is closed now; one with a request in
  // flight (any byte of it received) is closed after its response is written.
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_ && self->buffer_.size() == 0) self->close();
    });
  }

 private:
  void read_header() {
    if (state_.stopping) return close();
    head_ = false;
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(state_.lim.header_bytes));
    stream_.expires_after(state_.lim.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    busy_ = true;  // a shutdown now waits for this request's answer
    // curl asks before sending a body over 1 KiB; answering saves it a one-second wait.
    auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      return bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code write_ec, std::size_t) {
        if (write_ec) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_body, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || state_.stopping)
      return close();
    // The client sent something that is not acceptable HTTP: say so, then hang up.
    keep_alive_ = false;
    linger_ = true;
    version_ = 11;
    if (ec == bhttp::error::body_limit)
      return write(error_response({errc::payload_too_large, "Request body is larger than 1 MiB"}));
    if (ec == bhttp::error::header_limit) {
      api_response r = error_response(bad_request("Request header fields too large"));
      r.status = 431;
      return write(std::move(r));
    }
    write(error_response(bad_request("Bad Request: " + ec.message())));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    busy_ = true;

    auto target = boost::urls::parse_origin_form(req.target());
    if (!target) return write(error_response(bad_request("Invalid request target")));
    api_request areq;
    areq.method = std::string(req.method_string());
    areq.path = target->path();
    for (auto param : target->params()) areq.query.emplace_back(param.key, param.value);
    areq.body = std::move(req.body());
    try {
      state_.routes.handle(std::move(areq), [self = shared_from_this()](api_response r) {
        asio::post(self->stream_.get_executor(),
                   [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
      });
    } catch (const std::exception& e) {
      log_line("error", "request failed", {{"reason", e.what()}});
      write(error_response({errc::internal, "Internal server error"}));
    }
  }

  void write(api_response r) {
    busy_ = true;
    if (r.next_chunk || r.shared_body) {
      auto body = collect_body(r);
      if (!body) return close();  // incomplete: never pass a truncated listing off as whole
      r.body = std::move(*body);
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version_);
    for (const auto& [name, value] : standard_headers()) res->set(name, value);
    if (!r.allow.empty()) res->set(bhttp::field::allow, r.allow);
    res->keep_alive(keep_alive_ && !state_.stopping);
    res->body() = std::move(r.body);
    res->prepare_payload();
    // A HEAD answer keeps the Content-Length but never sends the body: the client reads the next
    // response right after these headers.
    if (head_) res->body().clear();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      if (ec) return self->close();
      if (!res->keep_alive()) return self->linger_ ? self->linger() : self->close();
      self->read_header();
    });
  }

  // The client may still be sending what was refused (a body over the limit). Closing now would
  // make the kernel reset the connection, and a client that writes its whole request before
  // reading would lose the answer: stop sending, then read and drop until the client hangs up.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_timeout);
    discard_input();
  }

  void discard_input() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->discard_input();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  shared_state& state_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_ = false;
  bool linger_ = false;  // drain the input before closing
  bool busy_ = false;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(asio::io_context& ioc, tcp::acceptor acceptor, shared_state& state)
      : ioc_(ioc), acceptor_(std::move(acceptor)), state_(state) {}

  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (state_.connections >= state_.lim.max_connections) {
        socket.close(ec);  // over the cap: refuse rather than degrade every other client
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<session>(std::move(socket), state_)->start();
      }
    }
    accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  shared_state& state_;
};

}  // namespace

void serve(router& r, const server_options& opts, const std::function<void(std::uint16_t)>& on_listening) {
  const unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context ioc(static_cast<int>(threads));
  shared_state state(r, opts.limits);

  tcp::endpoint endpoint(asio::ip::make_address(opts.host), opts.port);
  tcp::acceptor acceptor(ioc);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const std::uint16_t port = acceptor.local_endpoint().port();
  auto l = std::make_shared<listener>(ioc, std::move(acceptor), state);
  l->accept();

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer drain(ioc);
  std::chrono::steady_clock::time_point deadline;
  std::function<void(beast::error_code)> check_drained = [&](beast::error_code) {
    if (state.connections == 0 || std::chrono::steady_clock::now() >= deadline) return ioc.stop();
    drain.expires_after(std::chrono::milliseconds(10));
    drain.async_wait(check_drained);
  };
  signals.async_wait([&](beast::error_code ec, int signal) {
    if (ec) return;
    log_line("info", "shutting down", {{"signal", std::to_string(signal)}});
    state.stopping = true;
    l->stop();
    std::vector<std::shared_ptr<session>> open;
    {
      std::lock_guard lock(state.sessions_mutex);
      for (auto& [_, weak] : state.sessions)
        if (auto s = weak.lock()) open.push_back(std::move(s));
    }
    for (auto& s : open) s->close_if_idle();
    deadline = std::chrono::steady_clock::now() + opts.limits.drain_timeout;
    check_drained({});
  });

  on_listening(port);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}

}  // namespace tb::http
