// The moto fixture really checks signatures and really goes away: the tests of every AWS adapter
// rely on both.
#include "aws/moto_server.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include "aws/http_client.hpp"
#include "aws/query_api.hpp"
#include "aws/sigv4.hpp"

namespace tb::test {
namespace {

aws::http_request list_topics(const moto_server& moto) {
  std::string body;
  aws::append_form_param(body, "Action", "ListTopics");
  aws::append_form_param(body, "Version", "2010-03-31");
  return {"POST", moto.endpoint() + "/", {{"Content-Type", std::string(aws::form_content_type)}}, body};
}

aws::http_response send_signed(const moto_server& moto, const aws::credentials& creds) {
  aws::http_client client;
  auto req = list_topics(moto);
  aws::sigv4_signer(creds, moto.region(), "sns").sign(req, std::chrono::system_clock::now());
  auto r = client.send(req);
  EXPECT_TRUE(r) << r.err().message;
  return r ? *r : aws::http_response{};
}

TEST(MotoServer, AcceptsTheFixturesKey) {
  auto moto = moto_server::shared();
  ASSERT_TRUE(moto) << moto.err().message;
  const auto r = send_signed(**moto, (*moto)->credentials());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<ListTopicsResponse"), std::string::npos) << r.body;
}

TEST(MotoServer, RefusesAWrongSecret) {
  auto moto = moto_server::shared();
  ASSERT_TRUE(moto) << moto.err().message;
  auto creds = (*moto)->credentials();
  creds.secret_access_key[0] = creds.secret_access_key[0] == 'A' ? 'B' : 'A';
  const auto r = send_signed(**moto, creds);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("SignatureDoesNotMatch"), std::string::npos) << r.body;
  // And the right key still works afterwards: the refusal was about the signature alone.
  EXPECT_EQ(send_signed(**moto, (*moto)->credentials()).status, 200);
}

TEST(MotoServer, RefusesAnUnknownKey) {
  auto moto = moto_server::shared();
  ASSERT_TRUE(moto) << moto.err().message;
  const auto r = send_signed(**moto, {"AKIDUNKNOWN000000000", (*moto)->credentials().secret_access_key, ""});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("InvalidClientTokenId"), std::string::npos) << r.body;
}

TEST(MotoServer, RefusesARequestChangedAfterSigning) {
  auto moto = moto_server::shared();
  ASSERT_TRUE(moto) << moto.err().message;
  aws::http_client client;
  auto req = list_topics(**moto);
  aws::sigv4_signer((*moto)->credentials(), (*moto)->region(), "sns")
      .sign(req, std::chrono::system_clock::now());
  req.body += "&NextToken=x";  // the body's hash no longer matches the signed one
  auto r = client.send(req);
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->status, 403) << r->body;
}

TEST(MotoServer, KillsTheServerWhenDestroyed) {
  auto moto = moto_server::start();
  ASSERT_TRUE(moto) << moto.err().message;
  const pid_t pid = (*moto)->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, 0), 0);
  const std::string endpoint = (*moto)->endpoint();
  moto->reset();
  // Reaped, not a zombie: the pid is gone and nothing answers on the port any more.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  aws::http_client client({std::chrono::milliseconds(500), std::chrono::milliseconds(1000), 1024});
  auto r = client.send({"GET", endpoint + "/moto-api/", {}, {}});
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace tb::test
