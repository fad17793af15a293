// A real dynalite (DynamoDB on LevelDB, stricter request validation than moto) on loopback for
// the DynamoDB adapter's tests. It checks no signature: any credentials do.
#pragma once

#include <memory>
#include <string>

#include "aws/emulator.hpp"
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

  dynalite(const dynalite&) = delete;
  dynalite& operator=(const dynalite&) = delete;

  const std::string& endpoint() const { return server_.endpoint; }
  aws::settings settings() const;

 private:
  explicit dynalite(emulator server) : server_(std::move(server)) {}

  emulator server_;
};

}  // namespace tb::test
