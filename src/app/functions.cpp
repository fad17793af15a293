#include "app/functions.hpp"

#include "app/price_change_handler.hpp"
#include "core/base64.hpp"
#include "log/log.hpp"

namespace tb {
namespace {

constexpr http_function http_functions[] = {
    {"retrieveMovies", "GET", "/movies"},     {"retrieveTicket", "GET", "/ticket"},
    {"retrieveAllTickets", "GET", "/tickets"}, {"createTicket", "POST", "/ticket"},
    {"updateTicket", "PATCH", "/ticket"},      {"removeTicket", "DELETE", "/ticket"},
};

const std::string* string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.find(key);
  return v ? v->if_string() : nullptr;
}

const json::object* object_member(const json::object* o, std::string_view key) {
  const json::value* v = o ? o->find(key) : nullptr;
  return v ? v->if_object() : nullptr;
}

}  // namespace

const http_function* find_http_function(std::string_view name) {
  for (const auto& f : http_functions)
    if (f.name == name) return &f;
  return nullptr;
}

result<api_request> from_api_gateway(const json::value& event, const http_function& fn) {
  const json::object* e = event.if_object();
  if (!e) return bad_request("the event must be a JSON object");
  api_request req;
  // A Lambda function serves one route; only a CORS preflight differs from it. The method is
  // httpMethod in a REST API (payload 1.0) event, requestContext.http.method in an HTTP API
  // (payload 2.0) one.
  const std::string* method = string_member(*e, "httpMethod");
  if (!method) {
    const json::object* http = object_member(object_member(e, "requestContext"), "http");
    method = http ? string_member(*http, "method") : nullptr;
  }
  req.method = method && *method == "OPTIONS" ? "OPTIONS" : std::string(fn.method);
  req.path = std::string(fn.path);
  if (const json::value* q = e->find("queryStringParameters"); q && q->if_object()) {
    for (const auto& [k, v] : *q->if_object())
      if (const std::string* s = v.if_string()) req.query.emplace_back(k, *s);
  }
  if (const json::value* b = e->find("body"); b && !b->is_null()) {
    const std::string* body = b->if_string();
    if (!body) return bad_request("the event's body must be a string");
    const json::value* base64 = e->find("isBase64Encoded");
    if (base64 && base64->if_bool() && *base64->if_bool()) {
      // API Gateway encodes a body it takes for binary (a content type in the API's binary
      // media types, or any body in an HTTP API): the route reads the bytes the client sent.
      auto decoded = base64::decode(*body);
      if (!decoded) return bad_request("the event's body is marked isBase64Encoded but is not base64");
      req.body = std::move(*decoded);
    } else {
      req.body = *body;
    }
  }
  return req;
}

json::value to_api_gateway(const api_response& r, std::string_view request_id) {
  json::object headers;
  for (const auto& [name, value] : standard_headers()) headers.append_new(std::string(name), std::string(value));
  if (!request_id.empty()) headers.append_new("X-Request-Id", std::string(request_id));
  if (!r.allow.empty()) headers.append_new("Allow", r.allow);
  if (!r.retry_after.empty()) headers.append_new("Retry-After", r.retry_after);
  json::object out;
  out.append_new("statusCode", decimal::from_int(r.status));
  out.append_new("headers", std::move(headers));
  out.append_new("body", r.body);
  out.append_new("isBase64Encoded", false);
  return out;
}

result<std::vector<sns_message>> sns_messages(const json::value& event) {
  const json::object* e = event.if_object();
  const json::value* records = e ? e->find("Records") : nullptr;
  if (!records || !records->if_array()) return bad_request("an SNS event needs a Records array");
  std::vector<sns_message> out;
  for (const auto& record : *records->if_array()) {
    const json::object* r = record.if_object();
    const json::value* sns = r ? r->find("Sns") : nullptr;
    const json::object* s = sns ? sns->if_object() : nullptr;
    const json::value* message = s ? s->find("Message") : nullptr;
    if (!message) return bad_request("each record needs Sns.Message");
    sns_message m;
    if (const std::string* id = string_member(*s, "MessageId")) m.message_id = *id;
    m.body = message->if_string() ? *message->if_string() : json::serialize(*message);
    out.push_back(std::move(m));
  }
  return out;
}

bool is_function(std::string_view name) {
  return find_http_function(name) || name == price_change_function || name == relay_function;
}

namespace {

function_run run_event_handler(const std::vector<sns_message>& messages, event_handler& handler) {
  function_run run;
  json::array results;
  for (const auto& m : messages) {
    // The handler may complete on the store's completer thread: messages go one at a time, in order.
    auto r = wait_for<price_change_outcome>([&](auto done) { handler.handle(m.body, m.message_id, done); });
    json::object entry;
    entry.append_new("messageId", m.message_id);
    const bool malformed = !r && r.err().code == errc::bad_request;
    entry.append_new("outcome", std::string(r ? to_string(*r) : malformed ? "rejected" : "failed"));
    if (!r) {
      entry.append_new("reason", r.err().message);
      if (malformed) {
        ++run.rejected;
      } else if (run.failed++ == 0) {
        run.failure = r.err().message;
      }
    }
    results.emplace_back(std::move(entry));
  }
  json::object out;
  out.append_new("results", std::move(results));
  run.output = std::move(out);
  return run;
}

}  // namespace

result<function_run> run_function(std::string_view name, const json::value& event, router& routes,
                                  event_handler& handler, const stream_relay& relay) {
  if (const http_function* fn = find_http_function(name)) {
    // On Lambda the request id is API Gateway's (requestContext.requestId): the lines logged while
    // the request is routed carry it, and the answer echoes it, as serve does with its own.
    const json::object* context = object_member(event.if_object(), "requestContext");
    const std::string* id = context ? string_member(*context, "requestId") : nullptr;
    const std::string request_id = id ? *id : std::string();
    request_scope scope(request_id);
    auto req = from_api_gateway(event, *fn);
    api_response res = req ? routes.handle_sync(std::move(*req)) : error_response(req.err());
    function_run run;
    run.output = to_api_gateway(res, request_id);
    return run;
  }
  if (name == relay_function) {
    auto answer = relay(event);
    if (!answer) return answer.err();
    function_run run;
    const json::value* failures = answer->if_object() ? answer->if_object()->find("batchItemFailures") : nullptr;
    if (failures && failures->if_array() && !failures->if_array()->empty()) {
      run.failed = failures->if_array()->size();
      run.failure = "records left for Lambda to retry";
    }
    run.output = std::move(*answer);
    return run;
  }
  if (name != price_change_function) return bad_request("unknown function " + std::string(name));
  auto messages = sns_messages(event);
  if (!messages) return messages.err();
  return run_event_handler(*messages, handler);
}

}  // namespace tb
