#include "lambda/runtime.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>
#include <optional>

#include "log/log.hpp"
#include "core/json.hpp"

namespace tb::lambda {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

constexpr std::string_view api_root = "/2018-06-01/runtime";
// The headers of `next` carry the client context and Cognito identity, a few KB each.
constexpr std::uint32_t max_header_bytes = 64 * 1024;

error unreachable(std::string_view what, const beast::error_code& ec) {
  return {errc::unavailable, std::string(what) + ": " + ec.message()};
}

// One connection to the Runtime API, opened on first use and kept alive. No timeouts: `next`
// blocks until an event comes, which may be minutes, and the API is on the same host.
class connection {
 public:
  explicit connection(const runtime_address& address) : address_(address), socket_(io_) {}

  // A kept connection the API has closed meanwhile is reopened once.
  result<response> exchange(const request& req) {
    const bool reused = socket_.is_open();
    auto r = exchange_once(req);
    if (!r && reused) {
      close();
      r = exchange_once(req);
    }
    return r;
  }

 private:
  result<response> exchange_once(const request& req) {
    beast::error_code ec;
    if (!socket_.is_open()) {
      tcp::resolver resolver(io_);
      auto endpoints = resolver.resolve(address_.host, address_.port, ec);
      if (ec) return unreachable("cannot resolve the Runtime API " + address_.host, ec);
      asio::connect(socket_, endpoints, ec);
      if (ec) {
        close();
        return unreachable("cannot connect to the Runtime API", ec);
      }
      socket_.set_option(tcp::no_delay(true), ec);
    }
    bhttp::write(socket_, req, ec);
    if (ec) {
      close();
      return unreachable("cannot send to the Runtime API", ec);
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_event_bytes);
    bhttp::read(socket_, buffer_, parser, ec);
    if (ec) {
      close();
      return unreachable("no answer from the Runtime API", ec);
    }
    response res = parser.release();
    if (!res.keep_alive()) close();
    return res;
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

  runtime_address address_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

request make_request(bhttp::verb verb, const runtime_address& a, const std::string& target) {
  request req{verb, target, 11};
  req.set(bhttp::field::host, a.host + ":" + a.port);
  req.set(bhttp::field::user_agent, "ticket-booking");
  req.keep_alive(true);
  return req;
}

request post_request(const runtime_address& a, const std::string& target, std::string body) {
  request req = make_request(bhttp::verb::post, a, target);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// An error type goes into a header too: nothing there may end the line.
std::string header_safe(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  return out;
}

request error_request(const runtime_address& a, const std::string& target, const function_error& e) {
  std::string body = "{\"errorMessage\":";
  json::append_quoted(body, e.message);
  body += ",\"errorType\":";
  json::append_quoted(body, e.type);
  body += ",\"stackTrace\":[]}";
  request req = post_request(a, target, std::move(body));
  req.set("Lambda-Runtime-Function-Error-Type", header_safe(e.type));
  return req;
}

std::string header(const response& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? std::string() : std::string(it->value());
}

std::optional<invocation> to_invocation(response&& res) {
  invocation inv;
  inv.request_id = header(res, "Lambda-Runtime-Aws-Request-Id");
  if (inv.request_id.empty()) return std::nullopt;
  inv.function_arn = header(res, "Lambda-Runtime-Invoked-Function-Arn");
  inv.trace_id = header(res, "Lambda-Runtime-Trace-Id");
  const std::string deadline = header(res, "Lambda-Runtime-Deadline-Ms");
  long long ms = 0;
  std::from_chars(deadline.data(), deadline.data() + deadline.size(), ms);
  inv.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  inv.payload = std::move(res.body());
  return inv;
}

outcome call(const handler& h, const invocation& inv) {
  try {
    outcome out = h(inv);
    if (out.is_success() && out.payload().size() > max_response_bytes)
      return outcome::failure(std::string(response_too_large_type),
                              "the response is " + std::to_string(out.payload().size()) +
                                  " bytes, over Lambda's " + std::to_string(max_response_bytes));
    return out;
  } catch (const std::exception& e) {
    log_line("error", "the handler threw", {{"requestId", inv.request_id}, {"reason", e.what()}});
    return outcome::failure(std::string(handler_exception_type), e.what());
  } catch (...) {
    log_line("error", "the handler threw",
             {{"requestId", inv.request_id}, {"reason", "not a std::exception"}});
    return outcome::failure(std::string(handler_exception_type),
                            "the handler threw a non-standard exception");
  }
}

}  // namespace

result<runtime_address> parse_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return bad_request("the Runtime API address must be host:port, not '" + std::string(text) + "'");
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return bad_request("the Runtime API port must be 1 to 65535, not '" + std::string(port) + "'");
  return runtime_address{std::string(host), std::string(port)};
}

error run_handler(const runtime_address& address, const handler& h) {
  connection conn(address);
  const request next = make_request(bhttp::verb::get, address, std::string(api_root) + "/invocation/next");
  int failures = 0;
  std::string reason;
  while (failures < max_consecutive_failures) {
    auto got = conn.exchange(next);
    if (!got || got->result() != bhttp::status::ok) {
      ++failures;
      reason =
          got ? "the Runtime API answered next with " + std::to_string(got->result_int()) + ": " + got->body()
              : got.err().message;
      log_line("warn", "no invocation", {{"reason", reason}});
      continue;
    }
    auto inv = to_invocation(std::move(*got));
    if (!inv) {
      ++failures;
      reason = "the Runtime API gave an invocation without a request id";
      log_line("warn", "no invocation", {{"reason", reason}});
      continue;
    }
    failures = 0;

    const outcome out = call(h, *inv);
    const std::string target = std::string(api_root) + "/invocation/" + inv->request_id;
    auto posted = out.is_success() ? conn.exchange(post_request(address, target + "/response", out.payload()))
                                   : conn.exchange(error_request(address, target + "/error", out.failure()));
    if (!posted) {
      ++failures;
      reason = posted.err().message;
      log_line("warn", "the outcome was not delivered", {{"requestId", inv->request_id}, {"reason", reason}});
    } else if (posted->result_int() / 100 != 2) {
      // The API refused this outcome (an unknown or timed-out request id): the next one is fine.
      log_line("warn", "the Runtime API refused the outcome",
               {{"requestId", inv->request_id},
                {"status", std::to_string(posted->result_int())},
                {"body", posted->body()}});
    }
  }
  return {errc::unavailable, reason};
}

result<void> report_init_error(const runtime_address& address, const function_error& e) {
  connection conn(address);
  auto posted = conn.exchange(error_request(address, std::string(api_root) + "/init/error", e));
  if (!posted) return posted.err();
  if (posted->result_int() / 100 != 2)
    return error{errc::unavailable,
                 "the Runtime API answered init/error with " + std::to_string(posted->result_int())};
  return ok;
}

}  // namespace tb::lambda
