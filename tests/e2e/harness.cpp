#include "e2e/harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace tb::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string binary_path() { return TB_BINARY; }

temp_dir::temp_dir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("tb-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string http_response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

http_response to_response(bhttp::response<bhttp::string_body>& res) {
  http_response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
  return out;
}

bhttp::request<bhttp::string_body> make_request(const std::string& method, const std::string& target,
                                                const std::string& body,
                                                const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() && headers.find("Content-Type") == headers.end()) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "DELETE") req.prepare_payload();
  return req;
}

// With TB_E2E_RECORD naming a file, every exchange is appended to it as one JSON line, for the
// conformance test (tests/conformance) to check each response against api/openapi.yaml. One
// write() per line on an O_APPEND file: the test processes running at once never interleave.
void record(const std::string& method, const std::string& target, const http_response& r) {
  static const char* const file = std::getenv("TB_E2E_RECORD");
  if (file == nullptr || *file == '\0') return;
  std::string line = "{\"method\":";
  json::append_quoted(line, method);
  line += ",\"target\":";
  json::append_quoted(line, target);
  line += ",\"status\":" + std::to_string(r.status) + ",\"headers\":{";
  bool first = true;
  for (const auto& [name, value] : r.headers) {
    if (!first) line += ',';
    first = false;
    json::append_quoted(line, name);
    line += ':';
    json::append_quoted(line, value);
  }
  line += "},\"body\":";
  json::append_quoted(line, r.body);
  line += "}\n";
  const int fd = ::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(std::string("cannot open TB_E2E_RECORD file ") + file);
  const ssize_t written = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size())) throw std::runtime_error("cannot record the exchange");
}

}  // namespace

server_process::server_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args) {
  static int counter = 0;
  std::vector<std::string> args{binary_path(), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<child_process>(child_process::options{
      .args = std::move(args),
      .output = data_dir.parent_path() /
                (data_dir.filename().string() + ".server" + std::to_string(++counter) + ".log")});
  // Any host: tests may pass --host in extra_args (a later --host wins).
  static const std::regex listening(R"(listening on http://[^\s"]+:(\d+))");
  std::smatch m;
  std::string text;
  const bool listens = process_->wait_until(
      [&] {
        text = process_->output();
        return std::regex_search(text, m, listening);
      },
      std::chrono::seconds(20));
  if (listens) {
    port_ = static_cast<unsigned short>(std::stoi(m[1]));
    return;
  }
  if (!process_->running()) throw std::runtime_error("server exited before listening: " + process_->output());
  throw std::runtime_error("server did not log 'listening on' in time");  // killed with process_
}

int server_process::terminate(std::chrono::seconds timeout) {
  process_->signal(SIGTERM);
  if (auto status = process_->wait(timeout)) return *status;
  process_->kill9();
  return -1;
}

http_response request(unsigned short port, const std::string& method, const std::string& target,
                      const std::string& body, const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto req = make_request(method, target, body, headers);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buffer, parser);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  http_response r = to_response(parser.get());
  record(method, target, r);
  return r;
}

http_response get(unsigned short port, const std::string& target) { return request(port, "GET", target); }

std::string raw_exchange(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(stream.socket(), asio::buffer(bytes));
  std::string out;
  char buf[4096];
  stream.expires_after(timeout);
  for (;;) {
    beast::error_code ec;
    std::size_t n = stream.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

struct http_client::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

http_client::http_client(unsigned short port) : impl_(new impl) {
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

http_client::~http_client() { delete impl_; }

http_response http_client::send(const std::string& method, const std::string& target, const std::string& body) {
  impl_->stream.expires_after(std::chrono::seconds(30));
  auto req = make_request(method, target, body, {});
  bhttp::write(impl_->stream, req);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(impl_->stream, impl_->buffer, parser);
  http_response r = to_response(parser.get());
  record(method, target, r);
  return r;
}

command_result run_cli(const std::vector<std::string>& args, std::optional<environment> env) {
  temp_dir tmp;
  std::vector<std::string> full{binary_path()};
  full.insert(full.end(), args.begin(), args.end());
  child_process cli(
      {.args = std::move(full), .env = std::move(env), .output = tmp.path() / "out", .errors = tmp.path() / "err"});
  command_result r;
  r.status = cli.wait();
  r.out = read_file(tmp.path() / "out");
  r.err = read_file(tmp.path() / "err");
  return r;
}

json::value value_of(const std::string& text) {
  auto parsed = json::parse(text);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v) throw std::runtime_error("not JSON: " + text.substr(0, 500));
  return std::move(*v);
}

json::object object_of(const std::string& text) {
  json::value v = value_of(text);
  if (!v.if_object()) throw std::runtime_error("not a JSON object: " + text.substr(0, 500));
  return std::move(*v.if_object());
}

std::string raw(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  return v ? json::serialize(*v) : std::string("<absent>");
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  const std::string* s = v ? v->if_string() : nullptr;
  return s ? *s : std::string("<not a string>");
}

json::object member_object(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  return v && v->if_object() ? *v->if_object() : json::object();
}

std::string json_string(std::string_view s) {
  std::string out;
  json::append_quoted(out, s);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace tb::test
