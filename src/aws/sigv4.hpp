// AWS Signature Version 4 (header form), as every AWS API the service calls wants it.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "aws/http_client.hpp"
#include "aws/settings.hpp"

namespace tb::aws {

// The intermediate texts of one signature: what AWS's test suite checks, and what an AWS
// SignatureDoesNotMatch error message shows for comparison.
struct sigv4_trace {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;
};

class sigv4_signer {
 public:
  sigv4_signer(aws::credentials creds, std::string region, std::string service);

  // Adds X-Amz-Date, X-Amz-Security-Token (with temporary credentials) and Authorization, and
  // Host when the request has none (taken from its URL). Signs every header the request has.
  void sign(http_request& req, std::chrono::system_clock::time_point now) const;
  // The same, returning the texts it signed.
  sigv4_trace sign_traced(http_request& req, std::chrono::system_clock::time_point now) const;

 private:
  aws::credentials creds_;
  std::string region_;
  std::string service_;

  std::string signing_key(std::string_view date) const;
  mutable std::mutex key_mutex_;
  mutable std::string key_date_;  // YYYYMMDD the key below is for
  mutable std::string key_;
};

}  // namespace tb::aws
