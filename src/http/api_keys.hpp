// The API keys `serve --api-keys-file` accepts: read from the file at start and again on SIGHUP,
// held only as SHA-256 digests, and compared in constant time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace tb::http {

using key_digest = std::array<std::uint8_t, 32>;

// The file's text -> the digests of its keys. One key per line; blank lines and lines starting
// with `#` are ignored; `sha256:HEX` (64 hex digits) is a key given by its digest. Errors name
// the line by its number, never by its content (it may be a key).
result<std::vector<key_digest>> parse_api_keys(std::string_view text);

class api_keys {
 public:
  // Reads the file: an unreadable file, a bad line or no key at all is an error.
  static result<std::shared_ptr<api_keys>> load(std::filesystem::path file);

  // Reads the file again and swaps the keys in at once. On an error the keys stay as they were.
  result<std::size_t> reload();
  // Whether `presented` (an X-Api-Key value) is one of the keys. Its digest is compared with every
  // key's, each comparison in constant time, so neither a key's bytes nor which key matched can
  // be timed.
  bool accepts(std::string_view presented) const;
  std::size_t size() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  explicit api_keys(std::filesystem::path file) : file_(std::move(file)) {}
  std::filesystem::path file_;
  std::atomic<std::shared_ptr<const std::vector<key_digest>>> digests_;
};

}  // namespace tb::http
