// The HTTP server: the listener, one io_context per thread, the signals (drain on SIGTERM and
// SIGINT, API keys read again on SIGHUP). Each connection is a session (http/session.hpp).
#include "http/server.hpp"

#include <pthread.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <thread>
#include <vector>

#include "http/session.hpp"
#include "log/log.hpp"

namespace tb::http {
namespace {

using namespace detail;

// After a failed accept (out of descriptors), the pause before the next: a retry at once would
// spin on the same failure.
constexpr std::chrono::milliseconds accept_retry_delay{50};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(std::vector<std::unique_ptr<asio::io_context>>& contexts, acceptor_type acceptor, shared_state& state)
      : contexts_(contexts), acceptor_(std::move(acceptor)), state_(state), retry_(acceptor_.get_executor()) {}

  void accept() {
    // Round-robin: each new connection goes to the next thread's io_context.
    auto& target = *contexts_[next_++ % contexts_.size()];
    acceptor_.async_accept(target.get_executor(),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }

 private:
  void on_accept(beast::error_code ec, socket_type socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (or another failure the kernel may lift): make room, then try again.
      evict_the_most_silent(state_);
      retry_.expires_after(accept_retry_delay);
      retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    // At the cap, a silent connection makes room; when every one is busy with a request, the new
    // one is refused rather than degrade every other client.
    if (state_.connections >= state_.lim.max_connections && !evict_the_most_silent(state_)) {
      socket.close(ec);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      start_session(std::move(socket), state_);
    }
    accept();
  }

  std::vector<std::unique_ptr<asio::io_context>>& contexts_;
  acceptor_type acceptor_;
  shared_state& state_;
  asio::steady_timer retry_;
  std::size_t next_ = 0;
};

}  // namespace

void serve(router& r, const server_options& opts, const std::function<void(std::uint16_t)>& on_listening) {
  const unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  // Declared first, destroyed last: handlers still queued when the contexts go hold sessions.
  shared_state state(r, opts);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  asio::io_context& main_ioc = *contexts[0];

  // A name such as localhost is resolved; its first address is the one served.
  tcp::resolver resolver(main_ioc);
  auto resolved = resolver.resolve(opts.host, std::to_string(opts.port),
                                   tcp::resolver::passive | tcp::resolver::numeric_service);
  if (resolved.empty()) throw std::runtime_error("cannot resolve host " + opts.host);
  tcp::endpoint endpoint = resolved.begin()->endpoint();
  const bool loopback = endpoint.address().is_loopback();
  if (!loopback && !opts.keys && !opts.allow_anonymous_writes)
    throw std::runtime_error("refusing to serve " + endpoint.address().to_string() +
                             " without API keys: anyone who reaches it could change prices and delete "
                             "tickets. Pass --api-keys-file FILE, or --allow-anonymous-writes to serve it open");
  if (loopback) {
    std::vector<std::string> names{opts.host, endpoint.address().to_string(), "localhost"};
    names.insert(names.end(), opts.allowed_hosts.begin(), opts.allowed_hosts.end());
    state.hosts = host_allowlist(std::move(names));
  }
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
  // SIGHUP reads the API keys again; a file that no longer reads keeps the keys as they were.
  asio::signal_set hangups(main_ioc, SIGHUP);
  std::function<void(beast::error_code, int)> on_hangup = [&](beast::error_code ec, int) {
    if (ec) return;
    if (!opts.keys) {
      log_line("warn", "SIGHUP: no --api-keys-file to read again");
    } else if (auto n = opts.keys->reload(); n) {
      log_line("info", "API keys read again", {{"keys", std::to_string(*n)}});
    } else {
      log_line("error", "API keys not read again: the previous ones stay", {{"reason", n.err().message}});
    }
    hangups.async_wait(on_hangup);
  };
  hangups.async_wait(on_hangup);
  signals.async_wait([&](beast::error_code ec, int signal) {
    if (ec) return;
    log_line("info", "shutting down", {{"signal", std::to_string(signal)}});
    state.stopping = true;
    l->stop();
    hangups.cancel();
    close_idle_sessions(state);
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
