#include "http/server.hpp"

#include <pthread.h>

#include <array>
#include <atomic>
#include <charconv>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "log/log.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// One io_context per thread: a connection lives on one thread for its whole life, so it needs no
// strand, and the concrete executor type spares the type-erased one's cost on every operation.
using executor = asio::io_context::executor_type;
using socket_type = asio::basic_stream_socket<tcp, executor>;
using stream_type = beast::basic_stream<tcp, executor, beast::unlimited_rate_policy>;
using acceptor_type = asio::basic_socket_acceptor<tcp, executor>;

class session;

// asio's default (transfer_all) offers the socket 64 KiB per call: a cached listing of 600 KB
// took ten sendmsg calls and as many waits where the kernel takes far more at once.
std::size_t as_much_as_the_socket_takes(const beast::error_code& ec, std::size_t) {
  return ec ? 0 : std::numeric_limits<std::size_t>::max();
}

// A connection keeps its response buffer between requests up to this size.
constexpr std::size_t max_kept_response_bytes = 16 * 1024;

// The head of a response, written by hand into the buffer its body follows in: Beast's serializer
// walks a chain of buffer views per write, which cost more than the rest of a GET together.
// `length` is the Content-Length; nullopt means a chunked body.
void append_response_head(std::string& out, const api_response& r, unsigned version, bool keep_alive,
                          std::optional<std::size_t> length) {
  static const std::string standard = [] {
    std::string h;
    for (const auto& [name, value] : standard_headers()) h.append(name).append(": ").append(value).append("\r\n");
    return h;
  }();
  char number[24];
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out.append(number, std::to_chars(number, number + sizeof number, r.status).ptr);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  out += "\r\n";
  out += standard;
  if (!r.allow.empty()) out.append("Allow: ").append(r.allow).append("\r\n");
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  if (!length) {
    out += "Transfer-Encoding: chunked\r\n\r\n";
    return;
  }
  // A 204 has no body and says nothing of a length (RFC 9110, 8.6).
  if (r.status != 204) {
    out += "Content-Length: ";
    out.append(number, std::to_chars(number, number + sizeof number, *length).ptr);
    out += "\r\n";
  }
  out += "\r\n";
}

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
  session(socket_type socket, shared_state& state) : stream_(std::move(socket)), state_(state) {
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
      return bhttp::async_write(stream_, *cont,
                                [self = shared_from_this(), cont](beast::error_code write_ec, std::size_t) {
                                  if (write_ec) return self->close();
                                  self->read_body();
                                });
    }
    read_body();
  }

  void read_body() {
    // A request without a body (every GET) is complete with its header: no second read.
    if (parser_->is_done()) return on_body({}, 0);
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

    // A response ready before handle() returns (every read) is written right here; one that
    // completes later on the store's writer thread is posted back to this connection's thread.
    handling_ = true;
    try {
      state_.routes.handle(std::move(areq), [self = shared_from_this(), me = std::this_thread::get_id()](
                                                api_response r) {
        if (std::this_thread::get_id() == me && self->handling_) {
          self->ready_ = std::move(r);
          return;
        }
        asio::post(self->stream_.get_executor(),
                   [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
      });
    } catch (const std::exception& e) {
      log_line("error", "request failed", {{"reason", e.what()}});
      ready_ = error_response({errc::internal, "Internal server error"});
    }
    handling_ = false;
    if (ready_) {
      api_response r = std::move(*ready_);
      ready_.reset();
      write(std::move(r));
    }
  }

  // Writes `buffers` (which live in out_ and out_body_ until it completes), then reads the next
  // request or closes.
  template <class Buffers>
  void send(const Buffers& buffers, bool keep_alive) {
    asio::async_write(stream_, buffers, as_much_as_the_socket_takes,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      self->out_body_.reset();
      // Kept for the next response, unless a large one (a page of 1,000 tickets) grew it.
      if (self->out_.capacity() > max_kept_response_bytes) std::string().swap(self->out_);
      if (!ec && self->linger_) return self->linger();
      if (ec || !keep_alive) return self->close();
      self->read_header();
    });
  }

  // After refusing a request whose body is still arriving (a 413, say), closing at once would
  // reset the connection under a client still writing, and it would never read the answer.
  // Stop sending, read and discard for a bounded time, then close.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(state_.lim.linger_timeout);
    auto scratch = std::make_shared<std::array<char, 64 * 1024>>();
    stream_.async_read_some(asio::buffer(*scratch), [self = shared_from_this(), scratch](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->linger();
    });
  }

  // A whole response goes out in one write: its head and body in one buffer, or a cached body
  // sent from its shared buffer beside the head, never copied.
  void write(api_response r) {
    busy_ = true;
    const bool keep_alive = keep_alive_ && !state_.stopping;
    if (r.next_chunk) return write_chunked(std::move(r), keep_alive);
    const std::string_view body = r.shared_body ? std::string_view(*r.shared_body) : std::string_view(r.body);
    out_.clear();
    append_response_head(out_, r, version_, keep_alive, body.size());
    // A HEAD answer keeps the Content-Length but never sends the body: the client reads the next
    // response right after these headers.
    if (head_) return send(asio::buffer(out_), keep_alive);
    if (!r.shared_body) {
      out_ += body;
      return send(asio::buffer(out_), keep_alive);
    }
    out_body_ = std::move(r.shared_body);
    send(std::array<asio::const_buffer, 2>{asio::buffer(out_), asio::buffer(*out_body_)}, keep_alive);
  }

  // A body made page by page (the full listing): chunked transfer encoding, one chunk a page.
  void write_chunked(api_response r, bool keep_alive) {
    out_.clear();
    append_response_head(out_, r, version_, keep_alive, std::nullopt);
    auto next = std::make_shared<std::function<chunk_status(std::string&)>>(std::move(r.next_chunk));
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive, next, first = std::move(r.body)](
                          beast::error_code ec, std::size_t) mutable {
                        if (ec) return self->close();
                        self->write_chunk(keep_alive, next, std::move(first));
                      });
  }

  void write_chunk(bool keep_alive, std::shared_ptr<std::function<chunk_status(std::string&)>> next,
                   std::string start) {
    auto chunk = std::make_shared<std::string>(std::move(start));
    const chunk_status status = (*next)(*chunk);
    if (status == chunk_status::failed) {
      // Ending without the last chunk tells the client the body is incomplete.
      log_line("error", "listing failed midway");
      return close();
    }
    const bool last = status == chunk_status::last;
    auto finish = [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      if (ec || !keep_alive) return self->close();
      self->read_header();
    };
    auto after_data = [self = shared_from_this(), keep_alive, next, chunk, last, finish](beast::error_code ec,
                                                                                         std::size_t) {
      if (ec) return self->close();
      if (!last) return self->write_chunk(keep_alive, next, {});
      asio::async_write(self->stream_, bhttp::make_chunk_last(), finish);
    };
    // An empty chunk would read as the end of the body: skip straight on instead.
    if (chunk->empty()) return after_data({}, 0);
    asio::async_write(stream_, bhttp::make_chunk(asio::buffer(*chunk)), as_much_as_the_socket_takes, after_data);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  stream_type stream_;
  beast::flat_buffer buffer_;
  std::string out_;                              // the response being written
  std::shared_ptr<const std::string> out_body_;  // its shared body, if any
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  shared_state& state_;
  std::optional<api_response> ready_;
  bool handling_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_ = false;
  bool busy_ = false;
  bool linger_ = false;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(std::vector<std::unique_ptr<asio::io_context>>& contexts, acceptor_type acceptor, shared_state& state)
      : contexts_(contexts), acceptor_(std::move(acceptor)), state_(state) {}

  void accept() {
    // Round-robin: each new connection goes to the next thread's io_context.
    auto& target = *contexts_[next_++ % contexts_.size()];
    acceptor_.async_accept(target.get_executor(),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void on_accept(beast::error_code ec, socket_type socket) {
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

  std::vector<std::unique_ptr<asio::io_context>>& contexts_;
  acceptor_type acceptor_;
  shared_state& state_;
  std::size_t next_ = 0;
};

}  // namespace

void serve(router& r, const server_options& opts, const std::function<void(std::uint16_t)>& on_listening) {
  const unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  // Declared first, destroyed last: handlers still queued when the contexts go hold sessions.
  shared_state state(r, opts.limits);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  asio::io_context& main_ioc = *contexts[0];

  // A name such as localhost is resolved; its first address is the one served.
  tcp::resolver resolver(main_ioc);
  auto resolved = resolver.resolve(opts.host, std::to_string(opts.port),
                                   tcp::resolver::passive | tcp::resolver::numeric_service);
  if (resolved.empty()) throw std::runtime_error("cannot resolve host " + opts.host);
  tcp::endpoint endpoint = resolved.begin()->endpoint();
  acceptor_type acceptor(main_ioc.get_executor());
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const std::uint16_t port = acceptor.local_endpoint().port();
  auto l = std::make_shared<listener>(contexts, std::move(acceptor), state);
  l->accept();

  // The other threads' io_contexts have no work of their own between connections.
  std::vector<asio::executor_work_guard<executor>> keep_running;
  for (auto& c : contexts) keep_running.emplace_back(c->get_executor());

  asio::signal_set signals(main_ioc, SIGINT, SIGTERM);
  asio::steady_timer drain(main_ioc);
  std::chrono::steady_clock::time_point deadline;
  auto stop_all = [&] {
    for (auto& guard : keep_running) guard.reset();
    for (auto& c : contexts) c->stop();
  };
  std::function<void(beast::error_code)> check_drained = [&](beast::error_code) {
    if (state.connections == 0 || std::chrono::steady_clock::now() >= deadline) return stop_all();
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
  for (unsigned i = 1; i < threads; ++i)
    pool.emplace_back([&contexts, i] {
      pthread_setname_np(pthread_self(), ("tb-io-" + std::to_string(i)).c_str());
      contexts[i]->run();
    });
  main_ioc.run();
  for (auto& t : pool) t.join();
}

}  // namespace tb::http
