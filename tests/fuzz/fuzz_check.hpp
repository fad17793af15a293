// What a fuzz target asserts about every input: a broken property aborts, which libFuzzer reports
// as a finding (with the input saved) and the corpus replay in `make test` as a failed test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tb::fuzz {

inline void require(bool holds, std::string_view property, std::string_view detail = "") {
  if (holds) return;
  auto say = [](std::string_view s) { std::fwrite(s.data(), 1, s.size(), stderr); };
  say("fuzz property broken: ");
  say(property);
  say("\n  ");
  say(detail.substr(0, 400));  // the input itself is in the saved crash file
  say("\n");
  std::abort();
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tb::fuzz
