#include "http/session.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "log/log.hpp"
#include "http/access_log.hpp"
#include "metrics/metrics.hpp"

namespace tb::http::detail {
namespace {

namespace bhttp = beast::http;

// asio's default (transfer_all) offers the socket 64 KiB per call: a cached listing of 600 KB
// took ten sendmsg calls and as many waits where the kernel takes far more at once.
std::size_t as_much_as_the_socket_takes(const beast::error_code& ec, std::size_t) {
  return ec ? 0 : std::numeric_limits<std::size_t>::max();
}

// A connection keeps its response buffer between requests up to this size.
constexpr std::size_t max_kept_response_bytes = 16 * 1024;
// What one read offers the socket while a connection waits for a request's first byte.
constexpr std::size_t first_read_bytes = 4096;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An error answer with a status the router's error codes do not name (401, 421, 431).
api_response error_with_status(int status, std::string message) {
  api_response r = error_response(bad_request(std::move(message)));
  r.status = status;
  return r;
}

// serve answers HEAD wherever GET is answered (the router, shared with Lambda, knows only GET):
// an Allow that names GET names HEAD beside it.
void append_allow(std::string& out, std::string_view allow) {
  std::vector<std::string_view> methods;
  for (std::size_t start = 0; start <= allow.size();) {
    const std::size_t end = std::min(allow.find(',', start), allow.size());
    methods.push_back(allow.substr(start, end - start));
    start = end + 1;
  }
  const bool head_named = std::find(methods.begin(), methods.end(), "HEAD") != methods.end();
  out.append("Allow: ");
  for (std::size_t i = 0; i < methods.size(); ++i) {
    if (i) out += ',';
    out.append(methods[i]);
    if (methods[i] == "GET" && !head_named) out.append(",HEAD");
  }
  out.append("\r\n");
}

// The head of a response, written by hand into the buffer its body follows in: Beast's serializer
// walks a chain of buffer views per write, which cost more than the rest of a GET together.
// `length` is the Content-Length; nullopt means a chunked body.
void append_response_head(std::string& out, const api_response& r, unsigned version, bool keep_alive,
                          std::optional<std::size_t> length, std::string_view request_id) {
  static const std::string standard = [] {
    std::string h;
    for (const auto& [name, value] : standard_headers())
      if (name != "Content-Type") h.append(name).append(": ").append(value).append("\r\n");
    return h;
  }();
  char number[24];
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out.append(number, std::to_chars(number, number + sizeof number, r.status).ptr);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  out += "\r\n";
  out += standard;
  out.append("Content-Type: ").append(r.content_type).append("\r\n");
  out.append("X-Request-Id: ").append(request_id).append("\r\n");
  if (!r.allow.empty()) append_allow(out, r.allow);
  if (!r.retry_after.empty()) out.append("Retry-After: ").append(r.retry_after).append("\r\n");
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

}  // namespace

class session : public std::enable_shared_from_this<session> {
 public:
  session(socket_type socket, shared_state& state)
      : counted_(state.connections), stream_(std::move(socket)), state_(state) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  }
  ~session() {
    std::lock_guard lock(state_.sessions_mutex);
    state_.sessions.erase(this);
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

  // Since when this connection has been waiting for a request's first byte; 0 while it is not.
  std::int64_t silent_since() const { return silent_since_.load(std::memory_order_relaxed); }
  // Claims this connection for eviction (true once per silent spell), then closes it if it is
  // still silent when its thread gets to it.
  bool evict() {
    std::int64_t since = silent_since();
    if (!since || !silent_since_.compare_exchange_strong(since, 0)) return false;
    // Bytes that came in meanwhile make it a client: waiting in the socket, or read and their
    // handler queued on this thread (hence the second post, behind it).
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      if (!self->waiting_first_byte_ || self->stream_.socket().available(ec) > 0) return;
      asio::post(self->stream_.get_executor(), [self] {
        if (self->waiting_first_byte_) self->close();
      });
    });
    return true;
  }

 private:
  void read_header() {
    if (state_.stopping) return close();
    head_ = false;
    request_id_.clear();
    method_.clear();
    path_.clear();
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(state_.lim.header_bytes));
    if (buffer_.size() == 0) return wait_for_first_byte();
    read_rest_of_header();
  }

  // A silent connection is the one closed first at the cap, and a new one gets only the short
  // header deadline to say anything at all.
  void wait_for_first_byte() {
    waiting_first_byte_ = true;
    // A new connection is silent since its accept (set then, in accept order, so the oldest goes
    // first); a kept-alive one since its last answer.
    if (served_) silent_since_.store(steady_ns(), std::memory_order_relaxed);
    stream_.expires_after(served_ ? state_.lim.idle_timeout : state_.lim.header_timeout);
    stream_.async_read_some(buffer_.prepare(first_read_bytes), [self = shared_from_this()](beast::error_code ec,
                                                                                            std::size_t n) {
      self->waiting_first_byte_ = false;
      self->silent_since_.store(0, std::memory_order_relaxed);
      if (ec) return self->on_read_error(ec);
      self->buffer_.commit(n);
      self->read_rest_of_header();
    });
  }

  void read_rest_of_header() {
    // A request usually comes whole in its first read: its header is parsed here, without another
    // trip through the reactor.
    beast::error_code ec;
    while (!parser_->is_header_done() && buffer_.size() != 0) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return on_read_error(ec);
      if (used == 0) break;
    }
    if (parser_->is_header_done()) return on_header({}, 0);
    stream_.expires_after(state_.lim.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    busy_ = true;  // a shutdown now waits for this request's answer
    started_ = std::chrono::steady_clock::now();
    const auto& h = parser_->get();
    request_id_ = request_id_of(h["X-Request-Id"]);
    method_ = std::string(h.method_string());
    path_ = std::string(h.target().substr(0, h.target().find('?')));
    // Nothing after a request of uncertain length can be told from its body: answer, then close.
    if (auto problem = framing_problem(h)) return refuse(error_with_status(400, "Bad Request: " + std::string(*problem)));
    // curl asks before sending a body over 1 KiB; answering saves it a one-second wait.
    auto expect = h[bhttp::field::expect];
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

  // Answers and hangs up: after this request the stream cannot be trusted to hold another.
  void refuse(api_response r) {
    keep_alive_ = false;
    linger_ = true;
    version_ = 11;
    write(std::move(r));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || state_.stopping)
      return close();
    // The client sent something that is not acceptable HTTP (a bad chunk size, say): say so,
    // then hang up.
    if (request_id_.empty()) request_id_ = request_id_of({});
    if (started_ == std::chrono::steady_clock::time_point{}) started_ = std::chrono::steady_clock::now();
    if (ec == bhttp::error::body_limit)
      return refuse(error_response({errc::payload_too_large, "Request body is larger than 1 MiB"}));
    if (ec == bhttp::error::header_limit) return refuse(error_with_status(431, "Request header fields too large"));
    refuse(error_response(bad_request("Bad Request: " + ec.message())));
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
    // HEAD is GET without the body: the router answers it as GET, write() leaves the body out.
    areq.method = head_ ? std::string("GET") : std::string(req.method_string());
    areq.path = target->path();
    path_ = areq.path;
    for (auto param : target->params()) areq.query.emplace_back(param.key, param.value);
    areq.body = std::move(req.body());

    const auto host = req[bhttp::field::host];
    if (host.empty() ? version_ != 10 : !state_.hosts.allows(host))
      return write(error_with_status(host.empty() ? 400 : 421, host.empty() ? "Host header is required" : "Host not allowed"));
    if (state_.opts.keys && needs_api_key(areq.method, areq.path, state_.opts.metrics_public)) {
      // One X-Api-Key exactly: which of two a proxy and this server would each take is a guess.
      const auto keys = req.equal_range("X-Api-Key");
      if (std::distance(keys.first, keys.second) != 1 || !state_.opts.keys->accepts(keys.first->value()))
        return write(error_with_status(401, "Missing or invalid API key"));
    }
    if (areq.path == "/metrics") return write(metrics(areq.method));
    // serve's pages (src/web): the console, the API reference and the document.
    if (state_.opts.pages) {
      if (auto page = state_.opts.pages(areq)) return write(std::move(*page));
    }

    // A response ready before handle() returns (every read) is written right here; one that
    // completes later on the store's completer thread is posted back to this connection's thread.
    handling_ = true;
    try {
      request_scope scope(request_id_);
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
      request_scope scope(request_id_);
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

  // GET /metrics: a route of the server rather than of the router, as no other transport has it.
  api_response metrics(const std::string& method) {
    if (method == "OPTIONS") return api_response{204};
    if (method != "GET") {
      api_response r = error_response({errc::method_not_allowed, "Method Not Allowed"});
      r.allow = "GET,HEAD,OPTIONS";
      return r;
    }
    api_response r{200, metrics::render(state_.opts.event_counts)};
    r.content_type = metrics::content_type;
    return r;
  }

  // The request is answered: count it, and log its line.
  void finish_request(std::size_t bytes) {
    if (method_.empty()) method_ = "other";
    const auto took = std::chrono::steady_clock::now() - started_;
    metrics::observe_request(method_, path_, status_, took);
    if (state_.opts.log_requests)
      log_request({method_, metrics::route_label(path_), status_, took, bytes, request_id_, remote_});
    started_ = {};
    served_ = true;
  }

  // Writes `buffers` (which live in out_ and out_body_ until it completes), then reads the next
  // request or closes.
  template <class Buffers>
  void send(const Buffers& buffers, bool keep_alive, std::size_t body_bytes) {
    asio::async_write(stream_, buffers, as_much_as_the_socket_takes,
                      [self = shared_from_this(), keep_alive, body_bytes](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      self->out_body_.reset();
      self->finish_request(body_bytes);
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
    status_ = r.status;
    const bool keep_alive = keep_alive_ && !state_.stopping;
    if (r.next_chunk && !head_) return write_chunked(std::move(r), keep_alive);
    const std::string_view body = r.shared_body ? std::string_view(*r.shared_body) : std::string_view(r.body);
    out_.clear();
    append_response_head(out_, r, version_, keep_alive,
                         r.next_chunk ? std::nullopt : std::optional<std::size_t>(body.size()), request_id_);
    // A HEAD answer keeps the Content-Length (or says chunked) but never sends the body: the
    // client reads the next response right after these headers.
    if (head_) return send(asio::buffer(out_), keep_alive, 0);
    if (!r.shared_body) {
      out_ += body;
      return send(asio::buffer(out_), keep_alive, body.size());
    }
    out_body_ = std::move(r.shared_body);
    send(std::array<asio::const_buffer, 2>{asio::buffer(out_), asio::buffer(*out_body_)}, keep_alive, body.size());
  }

  // A body made page by page (the full listing): chunked transfer encoding, one chunk a page.
  void write_chunked(api_response r, bool keep_alive) {
    out_.clear();
    append_response_head(out_, r, version_, keep_alive, std::nullopt, request_id_);
    body_bytes_ = 0;
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
    body_bytes_ += chunk->size();
    auto finish = [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      self->finish_request(self->body_bytes_);
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

  // First, so destroyed last: a session's last owner may be the store's completer thread, and
  // the count goes down only after the registry's mutex is released and the socket is gone.
  counted_connection counted_;
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
  bool served_ = false;              // a request was answered: the idle timeout applies between
  bool waiting_first_byte_ = true;  // of a request: this connection has said nothing yet
  std::atomic<std::int64_t> silent_since_{steady_ns()};
  // The request being answered, for its log line and metrics.
  std::string remote_;
  std::string request_id_;
  std::string method_;
  std::string path_;
  std::chrono::steady_clock::time_point started_{};
  int status_ = 0;
  std::size_t body_bytes_ = 0;  // of a chunked response so far
};

void start_session(socket_type socket, shared_state& state) {
  std::make_shared<session>(std::move(socket), state)->start();
}

// At the connection cap: closes the connection silent the longest, if one is. True when one was.
bool evict_the_most_silent(shared_state& state) {
  std::shared_ptr<session> oldest;
  std::int64_t oldest_since = 0;
  {
    std::lock_guard lock(state.sessions_mutex);
    for (auto& [raw, weak] : state.sessions) {
      const std::int64_t since = raw->silent_since();
      if (since && (!oldest_since || since < oldest_since))
        if (auto s = weak.lock()) {
          oldest = std::move(s);
          oldest_since = since;
        }
    }
  }
  return oldest && oldest->evict();
}

void close_idle_sessions(shared_state& state) {
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard lock(state.sessions_mutex);
    for (auto& [_, weak] : state.sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close_if_idle();
}

}  // namespace tb::http::detail
