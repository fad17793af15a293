// A real moto_server on loopback for the AWS adapters' tests, with IAM authentication on: moto
// checks every request's SigV4 signature and the caller's IAM policies, as AWS would.
//
// moto counts its first INITIAL_NO_AUTH_ACTION_COUNT API calls as unauthenticated and checks
// every later one. start() spends exactly those calls creating an IAM user, its access key and
// an inline policy allowing everything; from then on each request must be signed with
// credentials() or moto refuses it (403, SignatureDoesNotMatch / InvalidClientTokenId).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "aws/emulator.hpp"
#include "aws/http_client.hpp"
#include "aws/settings.hpp"
#include "core/result.hpp"

namespace tb::test {

class moto_server {
 public:
  // Starts moto_server on a free loopback port, waits until it answers and creates the IAM user.
  // The server is killed with this object, and also when the thread that started it dies (a
  // crashed test leaves no orphan behind).
  static result<std::unique_ptr<moto_server>> start();

  // One server for the whole test process, started on first use and killed at exit. Call it
  // from the main thread (gtest runs tests there). Tests sharing it should use their own
  // resource names. Fails the same way each call when the server could not start.
  static result<moto_server*> shared();

  moto_server(const moto_server&) = delete;
  moto_server& operator=(const moto_server&) = delete;

  const std::string& endpoint() const { return server_.endpoint; }  // http://127.0.0.1:PORT
  const std::string& region() const { return region_; }
  const std::string& account_id() const { return account_id_; }
  // The IAM user's key: the only one moto accepts.
  const aws::credentials& credentials() const { return credentials_; }
  // Region, credentials and every endpoint pointed at this server.
  aws::settings settings() const;
  pid_t pid() const { return server_.process->pid(); }
  // Sends req signed with credentials() for a service by its SigV4 name ("sns", "sqs",
  // "dynamodb"): for a test's own setup and checks. Its URL may be a path ("/") on the endpoint.
  result<aws::http_response> send_signed(std::string_view service, aws::http_request req) const;
  // moto's own log (stdout and stderr): worth printing when a test fails strangely.
  std::string log() const { return server_.process->output(); }

 private:
  explicit moto_server(emulator server) : server_(std::move(server)) {}
  result<void> create_iam_user();

  emulator server_;
  std::string region_ = "us-east-1";
  std::string account_id_ = "123456789012";  // moto's default account
  aws::credentials credentials_;
  std::unique_ptr<aws::http_client> http_ = std::make_unique<aws::http_client>();
};

}  // namespace tb::test
