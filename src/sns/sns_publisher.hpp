// The event publisher on AWS: each recorded event goes to the price-change SNS topic (Query API
// Publish), with its eventType as a message attribute so that subscriptions can filter on it.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "aws/http_client.hpp"
#include "aws/settings.hpp"
#include "aws/sigv4.hpp"
#include "core/ports.hpp"

namespace tb::sns {

// SNS's limit on a message, its attributes included (256 KiB).
inline constexpr std::size_t max_message_bytes = 262'144;

class sns_publisher final : public event_publisher {
 public:
  sns_publisher(aws::http_client& http, std::string endpoint, std::string region, aws::credentials creds,
                std::string topic_arn);
  // The endpoint, region and credentials of the settings, publishing to their topic_arn.
  sns_publisher(aws::http_client& http, const aws::settings& s);

  // Blocking: completes before returning. bad_request for what SNS can never take (not a JSON
  // object, no eventType, too big, refused by SNS as an invalid message); unavailable for the
  // rest (throttling, 5xx, transport, a missing topic or refused credentials: fixable by time or
  // by an operator, so worth retrying).
  void publish(std::string_view event_json, const std::string& event_id, completion<void> done) override;

  // The budget of every publish from now on (an invocation's deadline); nullopt: none.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) { deadline_ = deadline; }

  // Publish's form body, or bad_request when the event cannot be published.
  result<std::string> request_body(std::string_view event_json, const std::string& event_id) const;

 private:
  aws::http_client& http_;
  std::string endpoint_;
  std::string topic_arn_;
  aws::sigv4_signer signer_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

// The MessageId of a Publish answer, or the error it reports, classified as above.
result<std::string> read_publish_answer(const aws::http_response& r);

}  // namespace tb::sns
