// The client's error typing and retry policy: against moto_server and dynalite for what they
// answer, and against a scripted loopback server for what they never do (throttling, 5xx).
#include "dynamodb/dynamodb_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "dynamodb/backends.hpp"

namespace tb::test {
namespace {

// Answers every request on a loopback port with one fixed response, counting the requests.
class scripted_server {
 public:
  scripted_server(int status, std::string body) : status_(status), body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("scripted_server: no loopback port");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  aws::settings settings() const {
    aws::settings s;
    s.region = "us-east-1";
    s.credentials = {"id", "secret", ""};
    s.dynamodb_endpoint = "http://127.0.0.1:" + std::to_string(port_);
    return s;
  }
  int requests() const { return requests_; }

 private:
  void serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      // Headers, then the body by its Content-Length.
      while (in.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      const auto header_end = in.find("\r\n\r\n");
      const auto cl = in.find("Content-Length: ");
      std::size_t want = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      while (header_end != std::string::npos && in.size() < header_end + 4 + want) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      ++requests_;
      const std::string out =
          "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/x-amz-json-1.0\r\n" +
          "Content-Length: " + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
      [[maybe_unused]] auto written = ::write(c, out.data(), out.size());
      ::close(c);
    }
  }
  int status_;
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

constexpr dynamodb::retry_limits fast{3, std::chrono::milliseconds(1), std::chrono::milliseconds(5)};

TEST(DynamoDBClient, ThrottlingAndServerErrorsAreRetriedUpToTheLimit) {
  scripted_server throttled(
      400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"})");
  dynamodb::dynamodb_client client(throttled.settings(), fast);
  auto r = client.call("GetItem", {{"TableName", "t"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().type, "ThrottlingException");
  EXPECT_EQ(r.err().message, "slow down");
  EXPECT_EQ(r.err().to_error().code, errc::unavailable);  // temporary: 503 with Retry-After
  EXPECT_EQ(throttled.requests(), 3);

  scripted_server failing(503, "busy");
  dynamodb::dynamodb_client client2(failing.settings(), fast);
  auto r2 = client2.call("GetItem", {{"TableName", "t"}});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.err().http_status, 503);
  EXPECT_EQ(r2.err().to_error().code, errc::unavailable);
  EXPECT_EQ(failing.requests(), 3);
}

TEST(DynamoDBClient, ARefusalIsNotRetried) {
  scripted_server refusing(400,
                           R"({"__type":"com.amazon.coral.validate#ValidationException","message":"bad"})");
  dynamodb::dynamodb_client client(refusing.settings(), fast);
  auto r = client.call("PutItem", {{"TableName", "t"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().type, "ValidationException");
  EXPECT_EQ(r.err().to_error().code, errc::internal);  // not the client's: 500, its text logged
  EXPECT_EQ(refusing.requests(), 1);
}

TEST(DynamoDBClient, NoServerIsATransportFailureAfterTheRetries) {
  aws::settings s;
  s.region = "us-east-1";
  {
    scripted_server gone(200, "{}");
    s = gone.settings();
  }  // its port is closed now
  dynamodb::dynamodb_client client(s, fast);
  auto r = client.call("GetItem", {{"TableName", "t"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().http_status, 0);
  EXPECT_EQ(r.err().to_error().code, errc::unavailable);
}

template <class Backend>
class DynamoDBClientOn : public ::testing::Test {};
using Backends = ::testing::Types<moto_backend, dynalite_backend>;
TYPED_TEST_SUITE(DynamoDBClientOn, Backends, backend_names);

TYPED_TEST(DynamoDBClientOn, AFailedConditionIsTypedAndCarriesNoRetry) {
  auto client = client_for<TypeParam>();
  auto tables = fresh_tables<TypeParam>(client);
  boost::json::object put{{"TableName", tables.table},
                          {"Item", {{"Theatre-Seat", {{"S", "s"}}}}},
                          {"ConditionExpression", "attribute_exists(#seat)"},
                          {"ExpressionAttributeNames", {{"#seat", "Theatre-Seat"}}}};
  auto r = client->call("PutItem", put);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.err().is(dynamodb::conditional_check_failed)) << r.err().type;
  EXPECT_EQ(r.err().http_status, 400);
  auto missing = client->call("GetItem", {{"TableName", "no-such-table"}, {"Key", {{"k", {{"S", "x"}}}}}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.err().type, "ResourceNotFoundException");
}

// moto answers a bad signature in XML (DynamoDB in JSON): its Code and Message are read all the
// same, so the reason reads as DynamoDB's would and not as a cut-off XML document.
TEST(DynamoDBClient, AnXmlErrorAnswerIsTypedByItsCode) {
  aws::settings s = moto_backend::settings();
  s.credentials.secret_access_key += "x";
  dynamodb::dynamodb_client client(s, fast);
  auto r = client.call("ListTables", boost::json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().type, "SignatureDoesNotMatch");
  EXPECT_EQ(r.err().message.rfind("The request signature we calculated does not match", 0), 0u) << r.err().message;
  EXPECT_EQ(r.err().to_error().code, errc::internal);  // a misconfiguration: no retry fixes it
}

// moto has transactions (dynalite has none: the store does not use them, see outbox_table.hpp).
TEST(DynamoDBClient, ATransactionsCancellationReasonsAreKeptInOrder) {
  auto client = client_for<moto_backend>();
  auto tables = fresh_tables<moto_backend>(client);
  must(client->call("PutItem", {{"TableName", tables.table},
                                {"Item", {{"Theatre-Seat", {{"S", "a"}}}, {"Price", {{"N", "1"}}}}}}),
       "PutItem");
  boost::json::array items{
      {{"Put", {{"TableName", tables.table}, {"Item", {{"Theatre-Seat", {{"S", "b"}}}}}}}},
      {{"Update",
        {{"TableName", tables.table},
         {"Key", {{"Theatre-Seat", {{"S", "a"}}}}},
         {"UpdateExpression", "SET Price = :p"},
         {"ConditionExpression", "Price = :old"},
         {"ExpressionAttributeValues", {{":p", {{"N", "3"}}}, {":old", {{"N", "2"}}}}},
         {"ReturnValuesOnConditionCheckFailure", "ALL_OLD"}}}}};
  auto r = client->call("TransactWriteItems", {{"TransactItems", std::move(items)}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.err().is(dynamodb::transaction_canceled)) << r.err().type;
  ASSERT_EQ(r.err().cancellation_reasons.size(), 2u);
  EXPECT_EQ(r.err().cancellation_reasons[0].code, "None");
  EXPECT_EQ(r.err().cancellation_reasons[1].code, "ConditionalCheckFailed");
}

}  // namespace
}  // namespace tb::test
