// A fault-injecting HTTP proxy on loopback, between the binary (or a client) and moto_server: it
// forwards each request as it came (its signature stays valid) and, at chosen calls, answers 500
// without forwarding, throttles without forwarding, forwards and then loses the reply (the
// connection closes with no answer), or holds the call until released (to kill a process
// mid-call). Calls are told apart by operation: X-Amz-Target's (TransactWriteItems, GetRecords,
// ...) or the form's Action (Publish).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tb::test {

enum class fault { fail, throttle, lose_reply, hold };

class fault_proxy {
 public:
  // upstream: http://HOST:PORT
  explicit fault_proxy(const std::string& upstream);
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  std::string endpoint() const;  // http://127.0.0.1:PORT

  // The nth call of `op` from now on (1: the next one) meets `f`; several may be queued.
  void inject(const std::string& op, fault f, int nth = 1);
  // Calls of `op` seen so far, and how many of them met a fault.
  int calls(const std::string& op) const;
  int faults_met() const;
  // Waits until a call is held; false after the timeout.
  bool wait_until_held(std::chrono::seconds timeout = std::chrono::seconds(30));
  // Held calls go on: forwarded, their replies given.
  void release();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace tb::test
