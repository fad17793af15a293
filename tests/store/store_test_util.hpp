// Helpers for tests that drive a store directly (tb::wait_for waits for a completion): build an item.
#pragma once

#include <string_view>

#include "core/ports.hpp"

namespace tb::test {

inline json::object obj(std::string_view text) {
  return *std::get<json::value>(json::parse(text)).if_object();
}

}  // namespace tb::test
