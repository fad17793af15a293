// Base64 (RFC 4648, section 4: the standard alphabet, '=' padding), as API Gateway carries a
// binary or non-text request body when the event says isBase64Encoded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tb::base64 {

std::string encode(std::string_view bytes);

// Strict: only the alphabet, in groups of four with '=' only as the last group's padding and no
// stray bits in the last character; nullopt otherwise (the caller answers 400, never guesses).
std::optional<std::string> decode(std::string_view text);

}  // namespace tb::base64
