// A plain socket on loopback, for the end-to-end tests that send what a well-behaved client
// library will not: partial requests, half-closes, garbage, requests smuggled behind others.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tb::test {

using namespace std::chrono_literals;

// Connects at construction, closes at destruction.
class raw_connection {
 public:
  explicit raw_connection(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~raw_connection() { ::close(fd_); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // False when the peer has stopped reading (reset or closed): a server may refuse the rest.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void close_sending() { ::shutdown(fd_, SHUT_WR); }

  // Everything until the server closes (or `timeout` passes without a byte: then nullopt).
  std::optional<std::string> read_to_close(std::chrono::milliseconds timeout = 10s) {
    std::string out;
    for (;;) {
      auto chunk = read_some(timeout);
      if (!chunk) return std::nullopt;
      if (chunk->empty()) return out;
      out += *chunk;
    }
  }

  // Reads until `out` holds one whole response (headers and a Content-Length body).
  std::optional<std::string> read_response(std::chrono::milliseconds timeout = 10s) {
    std::string out;
    for (;;) {
      auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        std::smatch m;
        std::string head = out.substr(0, end);
        if (std::regex_search(head, m, std::regex(R"(\r\nContent-Length: *(\d+))", std::regex::icase)))
          length = std::stoul(m[1]);
        if (out.size() >= end + 4 + length) return out;
      }
      auto chunk = read_some(timeout);
      if (!chunk || chunk->empty()) return chunk ? std::optional<std::string>(out) : std::nullopt;
      out += *chunk;
    }
  }

  // "" at end of stream or on a reset; nullopt on timeout.
  std::optional<std::string> read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n <= 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_;
};

// The status codes of every response in a byte stream, in order.
inline std::vector<int> statuses_in(const std::string& stream) {
  std::vector<int> out;
  static const std::regex status_line(R"(HTTP/1\.[01] (\d{3}) )");
  for (auto it = std::sregex_iterator(stream.begin(), stream.end(), status_line); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

}  // namespace tb::test
