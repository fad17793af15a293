// What the HTTP server checks of a request's header before the router sees it: framing that two
// readers could take differently (request smuggling), a Host that a DNS-rebinding page would send,
// a write without a valid API key, and the request's id. Plain functions of the header, no I/O.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::http {

// Why the body's length cannot be known for sure (RFC 9112, 6.1 and 6.3), or nullopt: a
// Transfer-Encoding other than exactly `chunked`, or given twice; Transfer-Encoding beside
// Content-Length; Content-Lengths that differ. Such a request is answered 400 and its connection
// closed: whatever follows it is never read as a request.
std::optional<std::string_view> framing_problem(const boost::beast::http::fields& headers);

// The Host names a loopback-bound server answers to: its bound address, `localhost`, the name it
// was given with --host and those given with --allowed-host. Another name reaching a loopback
// address is a page in a browser whose DNS was rebound to it.
class host_allowlist {
 public:
  host_allowlist() = default;  // allows every Host: a server bound to another address
  explicit host_allowlist(std::vector<std::string> names);
  // `host` is the Host header's value, a port possibly after the name.
  bool allows(std::string_view host) const;

 private:
  std::optional<std::vector<std::string>> names_;  // lower case; nullopt: any
};

// Whether a request needs an API key when keys are configured: the writes, the event log, and
// the metrics unless they are public.
bool needs_api_key(std::string_view method, std::string_view path, bool metrics_public);

// The client's X-Request-Id when it is sane (1 to max_request_id_bytes of letters, digits and
// `-_.:`), else a new one: it goes into logs and back on the response as it is.
inline constexpr std::size_t max_request_id_bytes = 128;
std::string request_id_of(std::string_view header);

}  // namespace tb::http
