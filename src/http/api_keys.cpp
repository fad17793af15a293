#include "http/api_keys.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

namespace tb::http {
namespace {

constexpr std::string_view digest_prefix = "sha256:";

key_digest digest_of(std::string_view key) {
  key_digest d;
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d.data());
  return d;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::optional<key_digest> from_hex(std::string_view hex) {
  key_digest d;
  if (hex.size() != d.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < d.size(); ++i) {
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, d[i], 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2) return std::nullopt;
  }
  return d;
}

}  // namespace

result<std::vector<key_digest>> parse_api_keys(std::string_view text) {
  std::vector<key_digest> keys;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with(digest_prefix)) {
      auto d = from_hex(line.substr(digest_prefix.size()));
      if (!d) return bad_request("line " + std::to_string(number) + ": sha256: takes 64 hex digits");
      keys.push_back(*d);
      continue;
    }
    for (unsigned char c : line)
      if (c < 0x20 || c == 0x7f)
        return bad_request("line " + std::to_string(number) + ": a key holds no control characters");
    keys.push_back(digest_of(line));
  }
  return keys;
}

result<std::shared_ptr<api_keys>> api_keys::load(std::filesystem::path file) {
  std::shared_ptr<api_keys> keys(new api_keys(std::move(file)));
  auto n = keys->reload();
  if (!n) return n.err();
  if (*n == 0) return bad_request(keys->file_.string() + " holds no key");
  return keys;
}

result<std::size_t> api_keys::reload() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return bad_request("cannot read " + file_.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_api_keys(text.str());
  if (!parsed) return error{parsed.err().code, file_.string() + ": " + parsed.err().message};
  const std::size_t n = parsed->size();
  digests_.store(std::make_shared<const std::vector<key_digest>>(std::move(*parsed)));
  return n;
}

bool api_keys::accepts(std::string_view presented) const {
  const auto digests = digests_.load();
  if (!digests) return false;
  const key_digest d = digest_of(presented);
  bool found = false;
  for (const key_digest& k : *digests) found |= CRYPTO_memcmp(k.data(), d.data(), d.size()) == 0;
  return found;
}

std::size_t api_keys::size() const {
  const auto digests = digests_.load();
  return digests ? digests->size() : 0;
}

}  // namespace tb::http
