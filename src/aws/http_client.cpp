// The AWS adapters' HTTP transport: libcurl easy handles kept in a small pool so that their
// connections (and TLS sessions) are reused from call to call.
#include "aws/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <utility>

namespace tb::aws {

namespace {

// Idle handles kept for reuse; a burst beyond this gets extra handles that are closed after use.
constexpr std::size_t max_idle_handles = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct transfer {
  http_response response;
  std::size_t max_bytes = 0;
  bool too_big = false;
  std::string request_line_start;  // "POST "
  int request_lines = 0;           // times the request went out
};

// Counts the request's sends: each starts with its request line.
int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto& t = *static_cast<transfer*>(user);
  if (type == CURLINFO_HEADER_OUT && std::string_view(data, size).starts_with(t.request_line_start)) ++t.request_lines;
  return 0;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::size_t n = size * count;
  if (t.response.body.size() + n > t.max_bytes) {
    t.too_big = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  t.response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  // A status line starts a new header block (after a 100 Continue, say): keep the last one only.
  if (line.starts_with("HTTP/")) {
    t.response.headers.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // the blank line ending the block
  t.response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                  std::string(trim(line.substr(colon + 1))));
  return n;
}

struct curl_headers {
  curl_slist* list = nullptr;
  ~curl_headers() { curl_slist_free_all(list); }
  bool add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

}  // namespace

std::string_view http_response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

struct http_client::impl {
  http_limits limits;
  std::string ca_bundle;
  std::mutex mutex;
  std::vector<CURL*> idle;

  CURL* acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void release(CURL* h) {
    {
      std::lock_guard lock(mutex);
      if (idle.size() < max_idle_handles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }
};

http_client::http_client(http_limits limits, std::string ca_bundle) : impl_(std::make_unique<impl>()) {
  // Thread-safe since curl 7.84; the first client initialises libcurl for the process.
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)global;
  impl_->limits = limits;
  impl_->ca_bundle = std::move(ca_bundle);
}

http_client::~http_client() {
  for (CURL* h : impl_->idle) curl_easy_cleanup(h);
}

result<http_response> http_client::send(const http_request& req) {
  // The attempt's timeout, cut short by the call's deadline.
  auto timeout = impl_->limits.total_timeout;
  if (req.deadline != std::chrono::steady_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(req.deadline -
                                                                            std::chrono::steady_clock::now());
    if (left.count() <= 0) return error{errc::unavailable, req.method + " " + req.url + ": the deadline passed"};
    timeout = std::min(timeout, left);
  }
  CURL* h = impl_->acquire();
  if (h == nullptr) return error{errc::unavailable, "curl_easy_init failed"};
  // Reset forgets the last request's options but keeps the handle's live connections.
  curl_easy_reset(h);

  transfer t;
  t.max_bytes = impl_->limits.max_response_bytes;
  char reason[CURL_ERROR_SIZE] = {};

  curl_headers headers;
  bool headers_ok = true;
  for (const auto& [name, value] : req.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    headers_ok = headers_ok && headers.add(value.empty() ? name + ";" : name + ": " + value);
  }
  // Without this curl waits for a 100 Continue before sending a body over 1 KiB: a round trip lost.
  headers_ok = headers_ok && headers.add("Expect:");
  if (!headers_ok) {
    impl_->release(h);
    return error{errc::unavailable, "out of memory building the request headers"};
  }

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // No signals: the timeouts must not use SIGALRM in a multi-threaded process.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!impl_->ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, impl_->ca_bundle.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(impl_->limits.connect_timeout, timeout).count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(impl_->limits.max_response_bytes));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  // Only to see each time the request goes out (curl resends on its own; see http_response).
  t.request_line_start = req.method + " ";
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &t);

  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET" && req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  t.response.resent = t.request_lines > 1;
  // The handle outlives this call: it must not keep pointers to our buffers and headers.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  impl_->release(h);

  if (rc != CURLE_OK) {
    std::string why = req.method + " " + req.url + ": ";
    if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
      why += "response larger than " + std::to_string(impl_->limits.max_response_bytes) + " bytes";
    } else {
      why += curl_easy_strerror(rc);
      if (reason[0] != '\0') why += std::string(" (") + reason + ")";
    }
    return error{errc::unavailable, std::move(why)};
  }
  t.response.status = static_cast<int>(status);
  return std::move(t.response);
}

}  // namespace tb::aws
