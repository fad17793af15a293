// AWS Signature Version 4 in its header form, for the services that are not S3: the path is
// normalised and its bytes encoded once more, the query re-encoded and sorted, every header the
// request carries signed.
#include "aws/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

namespace tb::aws {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return hex(digest, n);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &n);
  return std::string(reinterpret_cast<const char*>(mac), n);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

// SigV4's URI encoding: every byte but the unreserved ones as %XX, upper-case hex.
void uri_encode(std::string& out, std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct url_parts {
  std::string_view scheme, authority, path, query;
};

url_parts split_url(std::string_view url) {
  url_parts p;
  if (auto colon = url.find("://"); colon != std::string_view::npos) {
    p.scheme = url.substr(0, colon);
    url.remove_prefix(colon + 3);
  }
  if (auto hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);
  const auto path_start = url.find_first_of("/?");
  p.authority = url.substr(0, path_start);
  if (path_start == std::string_view::npos) return p;
  url.remove_prefix(path_start);
  const auto q = url.find('?');
  p.path = url.substr(0, q);
  if (q != std::string_view::npos) p.query = url.substr(q + 1);
  return p;
}

// The path with empty and dot segments resolved (RFC 3986 section 5.2.4), then encoded: a path
// that is already percent-encoded on the wire comes out encoded twice, as AWS wants.
std::string canonical_uri(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const auto end = std::min(path.find('/', pos), path.size());
    const auto segment = path.substr(pos, end - pos);
    trailing_slash = end < path.size();
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = true;
    } else if (segment == ".") {
      trailing_slash = true;
    } else {
      segments.push_back(segment);
    }
    pos = end;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    uri_encode(out, segments[i], false);
  }
  if (trailing_slash && !segments.empty()) out += '/';
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const auto amp = std::min(query.find('&'), query.size());
    const auto pair = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key, value;
    uri_encode(key, percent_decode(pair.substr(0, eq)), false);
    if (eq != std::string_view::npos) uri_encode(value, percent_decode(pair.substr(eq + 1)), false);
    params.emplace_back(std::move(key), std::move(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

// Trimmed, with each run of spaces inside it reduced to one.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void erase_header(header_list& headers, std::string_view lower_name) {
  std::erase_if(headers, [&](const auto& h) { return lower(h.first) == lower_name; });
}

bool has_header(const header_list& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return lower(h.first) == lower_name; });
}

}  // namespace

sigv4_signer::sigv4_signer(aws::credentials creds, std::string region, std::string service)
    : creds_(std::move(creds)), region_(std::move(region)), service_(std::move(service)) {}

void sigv4_signer::sign(http_request& req, std::chrono::system_clock::time_point now) const {
  (void)sign_traced(req, now);
}

sigv4_trace sigv4_signer::sign_traced(http_request& req, std::chrono::system_clock::time_point now) const {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char amz_date[sizeof "20150830T123600Z"];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &utc);
  const std::string_view date(amz_date, 8);

  const url_parts url = split_url(req.url);
  // A signature over an earlier one, or over a stale date or token, would not verify.
  erase_header(req.headers, "authorization");
  erase_header(req.headers, "x-amz-date");
  if (!has_header(req.headers, "host")) req.headers.emplace_back("Host", std::string(url.authority));
  req.headers.emplace_back("X-Amz-Date", amz_date);
  if (!creds_.session_token.empty()) {
    erase_header(req.headers, "x-amz-security-token");
    req.headers.emplace_back("X-Amz-Security-Token", creds_.session_token);
  }

  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) headers.emplace_back(lower(name), canonical_value(value));
  // Stable: the values of a repeated header keep their order, joined by commas.
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  sigv4_trace trace;
  std::string& creq = trace.canonical_request;
  std::string signed_headers;
  creq += req.method;
  creq += '\n';
  creq += canonical_uri(url.path);
  creq += '\n';
  creq += canonical_query(url.query);
  creq += '\n';
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      creq += ',';
      creq += headers[i].second;
      continue;
    }
    if (i > 0) creq += '\n';
    creq += headers[i].first;
    creq += ':';
    creq += headers[i].second;
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].first;
  }
  creq += "\n\n";
  creq += signed_headers;
  creq += '\n';
  creq += sha256_hex(req.body);

  const std::string scope = std::string(date) + "/" + region_ + "/" + service_ + "/aws4_request";
  std::string& sts = trace.string_to_sign;
  sts += algorithm;
  sts += '\n';
  sts += amz_date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  sts += sha256_hex(creq);

  const std::string mac = hmac_sha256(signing_key(date), sts);

  trace.authorization = std::string(algorithm) + " Credential=" + creds_.access_key_id + "/" + scope +
                        ", SignedHeaders=" + signed_headers +
                        ", Signature=" + hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  req.headers.emplace_back("Authorization", trace.authorization);
  return trace;
}

// The key depends on the day alone (with the secret, region and service): four HMACs a day
// instead of four a request.
std::string sigv4_signer::signing_key(std::string_view date) const {
  std::lock_guard lock(key_mutex_);
  if (key_date_ != date) {
    std::string key = hmac_sha256("AWS4" + creds_.secret_access_key, date);
    key = hmac_sha256(key, region_);
    key = hmac_sha256(key, service_);
    key_ = hmac_sha256(key, "aws4_request");
    key_date_ = date;
  }
  return key_;
}

}  // namespace tb::aws
