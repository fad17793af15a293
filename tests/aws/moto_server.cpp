// moto_server as an emulator (its command, environment and readiness probe), and its
// unauthenticated calls spent on the IAM user the tests sign with.
#include "aws/moto_server.hpp"

#include "aws/http_client.hpp"
#include "aws/query_api.hpp"
#include "aws/sigv4.hpp"

namespace tb::test {

namespace {

#ifndef TB_MOTO_SERVER
#define TB_MOTO_SERVER "moto_server"
#endif

// CreateUser, CreateAccessKey, PutUserPolicy: the calls moto lets through unsigned.
constexpr int unauthenticated_calls = 3;
// moto imports a lot of Python before it listens: about a second here, far more on a busy CI box.
constexpr std::chrono::seconds start_timeout{60};
constexpr const char* iam_user = "tb-test";
constexpr const char* allow_everything =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";

error failure(std::string what) {
  return {errc::unavailable, "moto_server: " + std::move(what)};
}

}  // namespace

result<std::unique_ptr<moto_server>> moto_server::start() {
  environment env = this_environment();
  env.erase("MOTO_PORT");
  env.insert_or_assign("INITIAL_NO_AUTH_ACTION_COUNT", std::to_string(unauthenticated_calls));
  auto started =
      start_emulator({.name = "moto_server",
                      .command = [](const std::string& port) -> std::vector<std::string> {
                        return {TB_MOTO_SERVER, "-H", "127.0.0.1", "-p", port};
                      },
                      .env = std::move(env),
                      // moto's own API: answers once the server is up, and is not one of the counted calls.
                      .probe =
                          [](const std::string& endpoint) {
                            return aws::http_request{"GET", endpoint + "/moto-api/", {}, {}};
                          },
                      .listening = [](const std::string& port) { return "Running on http://127.0.0.1:" + port; },
                      .start_timeout = start_timeout});
  if (!started) return started.err();
  std::unique_ptr<moto_server> server(new moto_server(std::move(*started)));
  if (auto user = server->create_iam_user(); !user) return failure(user.err().message + "\n" + server->log());
  return server;
}

result<moto_server*> moto_server::shared() {
  // Destroyed by the exit handlers, which kill the server.
  static result<std::unique_ptr<moto_server>> instance = start();
  if (!instance) return instance.err();
  return instance->get();
}

aws::settings moto_server::settings() const {
  aws::settings s;
  s.region = region_;
  s.credentials = credentials_;
  s.dynamodb_endpoint = server_.endpoint;
  s.sns_endpoint = server_.endpoint;
  s.table = "ticket-booking";
  s.events_table = "ticket-booking-events";
  s.movies_table = "ticket-booking-movies";
  return s;
}

result<void> moto_server::create_iam_user() {
  aws::http_client client;
  // Unchecked as yet, but moto routes a request to a service by its signature's scope.
  const aws::sigv4_signer signer({"bootstrap", "bootstrap", ""}, region_, "iam");
  auto call = [&](std::string body) -> result<std::string> {
    aws::http_request req{"POST",
                          server_.endpoint + "/",
                          {{"Content-Type", std::string(aws::form_content_type)}},
                          std::move(body)};
    signer.sign(req, std::chrono::system_clock::now());
    auto r = client.send(req);
    if (!r) return r.err();
    if (r->status != 200) return failure("IAM answered " + std::to_string(r->status) + ": " + r->body);
    return std::move(r->body);
  };
  auto iam_body = [](std::string_view action) {
    std::string body;
    aws::append_form_param(body, "Action", action);
    aws::append_form_param(body, "Version", "2010-05-08");
    aws::append_form_param(body, "UserName", iam_user);
    return body;
  };

  if (auto user = call(iam_body("CreateUser")); !user) return user.err();
  auto key = call(iam_body("CreateAccessKey"));
  if (!key) return key.err();
  auto policy_body = iam_body("PutUserPolicy");
  aws::append_form_param(policy_body, "PolicyName", "allow-everything");
  aws::append_form_param(policy_body, "PolicyDocument", allow_everything);
  if (auto policy = call(std::move(policy_body)); !policy) return policy.err();

  auto id = aws::xml_text(*key, "AccessKeyId");
  auto secret = aws::xml_text(*key, "SecretAccessKey");
  if (!id || !secret) return failure("CreateAccessKey answered without a key: " + *key);
  credentials_ = {std::move(*id), std::move(*secret), ""};
  return ok;
}

result<aws::http_response> moto_server::send_signed(std::string_view service, aws::http_request req) const {
  if (req.url.starts_with("/")) req.url = server_.endpoint + req.url;
  aws::sigv4_signer(credentials_, region_, std::string(service)).sign(req, std::chrono::system_clock::now());
  return http_->send(req);
}

}  // namespace tb::test
