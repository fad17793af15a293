// A connection of the HTTP server: reads each request, checks it at the front door (framing,
// Host, API key), hands it to the router and writes the answer; nothing else. The listener and
// the shutdown reach sessions only through the functions here.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "http/front_door.hpp"
#include "http/server.hpp"

namespace tb::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One io_context per thread: a connection lives on one thread for its whole life, so it needs no
// strand, and the concrete executor type spares the type-erased one's cost on every operation.
using executor = asio::io_context::executor_type;
using socket_type = asio::basic_stream_socket<tcp, executor>;
using stream_type = beast::basic_stream<tcp, executor, beast::unlimited_rate_policy>;
using acceptor_type = asio::basic_socket_acceptor<tcp, executor>;

class session;

// What every session shares: the router, the options, and the list used to drain at shutdown
// and to find the connection silent the longest.
struct shared_state {
  shared_state(router& r, const server_options& o) : routes(r), opts(o), lim(o.limits) {}
  router& routes;
  const server_options& opts;
  server_limits lim;
  host_allowlist hosts;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;
};

// Counts a connection in shared_state::connections while it lives. serve returns once none is
// left, and takes the shared state and the io_contexts with it.
class counted_connection {
 public:
  explicit counted_connection(std::atomic<std::size_t>& connections) : n_(connections) { ++n_; }
  ~counted_connection() { --n_; }
  counted_connection(const counted_connection&) = delete;
  counted_connection& operator=(const counted_connection&) = delete;

 private:
  std::atomic<std::size_t>& n_;
};

// Starts serving a connection just accepted.
void start_session(socket_type socket, shared_state& state);
// At the connection cap: closes the connection silent the longest, if one is. True when one was.
bool evict_the_most_silent(shared_state& state);
// At shutdown: closes the connections waiting for a request; the others close once answered.
void close_idle_sessions(shared_state& state);

}  // namespace tb::http::detail
