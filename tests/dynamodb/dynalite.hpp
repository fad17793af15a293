// A real dynalite (DynamoDB on LevelDB, stricter request validation than moto) on loopback for
// the DynamoDB adapter's tests. It checks no signature: any credentials do.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "aws/settings.hpp"
#include "core/result.hpp"

namespace tb::test {

class dynalite {
 public:
  // Starts `node dynalite/cli.js` on a free loopback port and waits until it answers. Killed
  // with this object, or with the thread that started it.
  static result<std::unique_ptr<dynalite>> start();
  // One for the whole test process, started on first use (from the main thread).
  static result<dynalite*> shared();

  ~dynalite();
  dynalite(const dynalite&) = delete;
  dynalite& operator=(const dynalite&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  aws::settings settings() const;

 private:
  dynalite() = default;
  result<void> spawn(int port);
  result<void> wait_until_ready();
  void kill_server();

  pid_t pid_ = -1;
  std::string endpoint_;
};

}  // namespace tb::test
