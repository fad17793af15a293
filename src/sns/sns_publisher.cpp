// Publishes events to SNS and sorts its failures into "never" (bad_request: the event is parked
// as dead) and "later" (unavailable: the outbox retries).
#include "sns/sns_publisher.hpp"

#include <utility>

#include "aws/query_api.hpp"
#include "core/json.hpp"

namespace tb::sns {

namespace {

constexpr std::string_view api_version = "2010-03-31";
constexpr std::string_view type_attribute = "eventType";
constexpr std::string_view string_type = "String";
// Enough of an unexpected answer to see what it was, not a whole HTML error page.
constexpr std::size_t max_quoted_body = 512;

error unavailable(std::string message) {
  return {errc::unavailable, "SNS Publish: " + std::move(message)};
}
error malformed(std::string message) {
  return bad_request("SNS Publish: " + std::move(message));
}

std::string excerpt(std::string_view body) {
  return std::string(body.substr(0, max_quoted_body)) + (body.size() > max_quoted_body ? "..." : "");
}

bool is_fifo(std::string_view topic_arn) {
  return topic_arn.ends_with(".fifo");
}

}  // namespace

sns_publisher::sns_publisher(aws::http_client& http, std::string endpoint, std::string region,
                             aws::credentials creds, std::string topic_arn)
    : http_(http),
      endpoint_(std::move(endpoint)),
      topic_arn_(std::move(topic_arn)),
      signer_(std::move(creds), std::move(region), "sns") {}

sns_publisher::sns_publisher(aws::http_client& http, const aws::settings& s)
    : sns_publisher(http, s.sns_endpoint, s.region, s.credentials, s.topic_arn) {}

result<std::string> sns_publisher::request_body(std::string_view event_json,
                                                const std::string& event_id) const {
  // Checked before anything else: no retry and no parsing makes a message smaller.
  if (event_json.size() > max_message_bytes) {
    return malformed("a message of " + std::to_string(event_json.size()) + " bytes is over SNS's limit of " +
                     std::to_string(max_message_bytes));
  }
  auto parsed = json::parse(event_json);
  const auto* event = std::get_if<json::value>(&parsed);
  const json::object* object = event ? event->if_object() : nullptr;
  if (object == nullptr) return malformed("the event is not a JSON object");
  const json::value* type = object->find(type_attribute);
  const std::string* type_text = type ? type->if_string() : nullptr;
  if (type_text == nullptr || type_text->empty()) return malformed("the event has no eventType string");
  // SNS counts the attributes' names, types and values into the limit too.
  const std::size_t total =
      event_json.size() + type_attribute.size() + string_type.size() + type_text->size();
  if (total > max_message_bytes) {
    return malformed("a message of " + std::to_string(total) +
                     " bytes with its attributes is over SNS's limit of " +
                     std::to_string(max_message_bytes));
  }

  std::string body;
  body.reserve(event_json.size() * 3 / 2 + 256);
  aws::append_form_param(body, "Action", "Publish");
  aws::append_form_param(body, "Version", api_version);
  aws::append_form_param(body, "TopicArn", topic_arn_);
  aws::append_form_param(body, "Message", event_json);
  aws::append_form_param(body, "MessageAttributes.entry.1.Name", type_attribute);
  aws::append_form_param(body, "MessageAttributes.entry.1.Value.DataType", string_type);
  aws::append_form_param(body, "MessageAttributes.entry.1.Value.StringValue", *type_text);
  if (is_fifo(topic_arn_)) {
    // A FIFO topic keeps order within a group (a ticket's changes) and drops a redelivered
    // event inside its deduplication window.
    const json::value* seat = object->find("theatreSeat");
    const std::string* seat_text = seat ? seat->if_string() : nullptr;
    aws::append_form_param(body, "MessageGroupId", seat_text && !seat_text->empty() ? *seat_text : "events");
    aws::append_form_param(body, "MessageDeduplicationId", event_id);
  }
  return body;
}

void sns_publisher::publish(std::string_view event_json, const std::string& event_id, completion<void> done) {
  auto body = request_body(event_json, event_id);
  if (!body) return done(body.err());
  aws::http_request req{
      "POST", endpoint_ + "/", {{"Content-Type", std::string(aws::form_content_type)}}, std::move(*body)};
  if (deadline_) req.deadline = *deadline_;
  signer_.sign(req, std::chrono::system_clock::now());
  auto response = http_.send(req);
  if (!response) return done(unavailable(response.err().message));
  auto id = read_publish_answer(*response);
  if (!id) return done(id.err());
  done(ok);
}

result<std::string> read_publish_answer(const aws::http_response& r) {
  if (r.status == 200) {
    if (auto id = aws::xml_text(r.body, "MessageId"); id && !id->empty()) return std::move(*id);
    return unavailable("accepted without a MessageId: " + excerpt(r.body));
  }
  const auto code = aws::xml_text(r.body, "Code").value_or("");
  const auto message = aws::xml_text(r.body, "Message").value_or(excerpt(r.body));
  std::string what = (code.empty() ? "HTTP " : code + " (HTTP ") + std::to_string(r.status) +
                     (code.empty() ? "" : ")") + ": " + message;
  // Only an invalid message is the event's fault. An invalid TopicArn is the configuration's:
  // once an operator fixes it, the waiting events must still go out.
  const bool invalid = code == "InvalidParameter" || code == "InvalidParameterValue";
  if (r.status == 400 && invalid && message.find("Message") != std::string::npos &&
      message.find("TopicArn") == std::string::npos) {
    return malformed(std::move(what));
  }
  return unavailable(std::move(what));
}

}  // namespace tb::sns
