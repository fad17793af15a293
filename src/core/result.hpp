// Errors as values: every core operation returns result<T>, and one place (app/router.cpp,
// error_response) maps an error's code to an HTTP status and decides what the client may read.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tb {

enum class errc {
  bad_request,        // the client sent something invalid: 400
  not_found,          // 404
  conflict,           // 409
  method_not_allowed, // 405
  payload_too_large,  // 413
  // Not the client's and temporary (the store busy or locked, a full disk, throttling): 503 with
  // Retry-After. The same request may well succeed in a moment.
  unavailable,
  // Not the client's and not temporary (a bug, a missing table, a damaged item): 500.
  internal,
};

struct error {
  errc code;
  // The client's errors (400 to 413): what the client reads. unavailable and internal: the detail
  // for the log only (SQL, SQLite or AWS text); the client reads the operation's own message.
  std::string message;
};

inline bool is_clients_fault(errc code) { return code != errc::unavailable && code != errc::internal; }

inline error bad_request(std::string message) { return {errc::bad_request, std::move(message)}; }
inline error not_found(std::string message) { return {errc::not_found, std::move(message)}; }

// A minimal expected<T, error> (std::expected is C++23).
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

struct ok_t {};
inline constexpr ok_t ok{};

template <>
class [[nodiscard]] result<void> {
 public:
  result(ok_t) {}
  result(error e) : e_(std::move(e)), failed_(true) {}
  bool has_value() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const error& err() const { return e_; }

 private:
  error e_{errc::internal, {}};
  bool failed_ = false;
};

}  // namespace tb
