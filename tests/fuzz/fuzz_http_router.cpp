// libFuzzer target: a request's bytes as a client sends them, read as the server reads them
// (Beast's request parser with the server's limits, the target with Boost.URL), then routed
// against a real SQLite store in a scratch directory. For any bytes: no crash or sanitizer report,
// never a 5xx (bad input is the client's fault: a 4xx), a JSON body, and a 4xx that quotes at
// most a little of what was sent.
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>

#include "app/router.hpp"
#include "fuzz/fuzz_check.hpp"
#include "sqlite/sqlite_store.hpp"

namespace {

namespace bhttp = boost::beast::http;
using tb::fuzz::require;

// As serve() reads: src/http/server.hpp's header limit and the router's body limit.
constexpr std::uint32_t header_limit = 16 * 1024;
// An error quotes at most 64 bytes of the input (a huge number's first digits) beside its words.
constexpr std::size_t max_error_body_bytes = 256;

// One store for the whole run, on tmpfs when there is one: a write's fsync costs nothing there.
struct service {
  std::filesystem::path dir;
  std::optional<tb::sqlite::sqlite_store> store;
  tb::system_clock clock;
  std::optional<tb::router> routes;

  service() {
    const std::filesystem::path shm("/dev/shm");
    const auto base = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
    dir = base / ("tb-fuzz-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    tb::sqlite::sqlite_store::options opts;
    opts.path = (dir / "tickets.db").string();
    store.emplace(std::move(opts));
    routes.emplace(*store, &*store, clock);
  }
  ~service() {
    routes.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

service& the_service() {
  static service s;
  return s;
}

// The request the bytes make, as the server would route it; nullopt when the server would have
// answered 400 itself (bad framing, a bad target) or the bytes are not a whole request yet.
std::optional<tb::api_request> read_request(std::string_view bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.body_limit(tb::max_body_bytes);
  parser.header_limit(header_limit);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < bytes.size()) {
    const std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec || n == 0) break;
    used += n;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);  // the client closed after its bytes
  if (ec || !parser.is_done()) return std::nullopt;
  auto req = parser.release();
  auto target = boost::urls::parse_origin_form(req.target());
  if (!target) return std::nullopt;
  tb::api_request out;
  out.method = std::string(req.method_string());
  out.path = target->path();
  for (auto param : target->params()) out.query.emplace_back(param.key, param.value);
  out.body = std::move(req.body());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto req = read_request(tb::fuzz::as_text(data, size));
  if (!req) return 0;
  const std::string what = req->method + " " + req->path;
  tb::api_response r = the_service().routes->handle_sync(std::move(*req));
  require(r.status >= 200 && r.status < 500, "no request makes a 5xx", what + " -> " + std::to_string(r.status) + " " + r.body);
  if (r.status == 204) return 0;
  auto parsed = tb::json::parse(r.body);
  require(std::holds_alternative<tb::json::value>(parsed), "every body is JSON", what + " -> " + r.body);
  if (r.status >= 400) require(r.body.size() <= max_error_body_bytes, "an error quotes little of the input", r.body);
  return 0;
}
