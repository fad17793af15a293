// Helpers for tests that drive a store directly: wait for a completion, build an item.
#pragma once

#include <future>
#include <string_view>

#include "core/ports.hpp"

namespace tb::test {

template <class T, class F>
result<T> wait_for(F&& start) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  start([&p](result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

inline json::object obj(std::string_view text) {
  return *std::get<json::value>(json::parse(text)).if_object();
}

}  // namespace tb::test
