// serve --api-keys-file: the writes and the event log need a valid X-Api-Key, a refused write
// changes nothing, reads stay public, keys are re-read on SIGHUP and never logged, and a server
// on a non-loopback address will not start open by mistake.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>

#include <fstream>
#include <string>
#include <thread>

#include "e2e/harness.hpp"
#include "e2e/raw_connection.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* key_a = "tb-key-alpha-7f3a9c21d4e8b6a0";
constexpr const char* key_b = "tb-key-bravo-0c5e1f9a2b7d3e64";
constexpr const char* hashed_key = "tb-key-hashed-5a1d8e7c9b3f2a40";  // on disk only as its digest

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string hex;
  char byte[3];
  for (unsigned char c : d) {
    std::snprintf(byte, sizeof byte, "%02x", c);
    hex += byte;
  }
  return hex;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ticket(std::string_view seat) {
  return "{\"Theatre-Seat\":\"" + std::string(seat) + "\",\"Movie\":\"Dune\",\"Price\":15.99}";
}

bool is_key_error(const http_response& r) {
  return r.status == 401 && r.body == R"({"error":"Missing or invalid API key"})" &&
         r.header("content-type") == "application/json" && r.header("access-control-allow-origin") == "*";
}

class ApiKeys : public ::testing::Test {
 protected:
  temp_dir tmp;
  std::filesystem::path data_dir() const { return tmp.path() / "data"; }
  std::filesystem::path keys_file() const { return tmp.path() / "keys"; }

  void SetUp() override {
    write_file(keys_file(), "# the ops team's keys\n\n" + std::string(key_a) + "\n  " + key_b + "  \n\nsha256:" +
                                sha256_hex(hashed_key) + "\n");
  }
  std::vector<std::string> keyed() const { return {"--api-keys-file", keys_file().string()}; }

  static http_response with_key(unsigned short port, const std::string& method, const std::string& target,
                                const std::string& body, const std::string& key) {
    return request(port, method, target, body, {{"X-Api-Key", key}});
  }
};

TEST_F(ApiKeys, WritesNeedAValidKeyAndARefusedOneChangesNothing) {
  server_process server(data_dir(), keyed());
  const auto port = server.port();
  ASSERT_EQ(with_key(port, "POST", "/ticket", ticket("1-A1"), key_a).status, 201);
  const std::string before = get(port, "/ticket?Theatre-Seat=1-A1").body;
  const std::string events_before = with_key(port, "GET", "/events", "", key_a).body;

  const std::string long_key(8000, 'k');
  const std::vector<std::pair<std::string, std::optional<std::string>>> bad_keys{
      {"missing", std::nullopt},
      {"empty", ""},
      {"wrong", "tb-key-charlie-000000000000000"},
      {"another key's prefix", std::string(key_a).substr(0, 12)},
      {"another key with a byte more", std::string(key_a) + "0"},
      {"a key's digest instead of the key", "sha256:" + sha256_hex(hashed_key)},
      {"very long", long_key},
      {"non-ASCII", "tb-key-\xc3\xa9t\xc3\xa9-\xe2\x9c\x93"},
  };
  for (const auto& [name, key] : bad_keys) {
    SCOPED_TRACE(name);
    std::map<std::string, std::string> headers;
    if (key) headers["X-Api-Key"] = *key;
    EXPECT_TRUE(is_key_error(request(port, "POST", "/ticket", ticket("1-A2"), headers)));
    EXPECT_TRUE(is_key_error(request(port, "PATCH", "/ticket",
                                     R"({"Theatre-Seat":"1-A1","updateKey":"Price","updateValue":1})", headers)));
    EXPECT_TRUE(is_key_error(request(port, "DELETE", "/ticket", R"({"Theatre-Seat":"1-A1"})", headers)));
    EXPECT_TRUE(is_key_error(request(port, "GET", "/events", "", headers)));
  }
  // Nothing changed: no ticket made, the price and the ticket as they were, no event recorded.
  EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A2").status, 404);
  EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A1").body, before);
  EXPECT_EQ(with_key(port, "GET", "/events", "", key_a).body, events_before);

  // Two keys at once, one of them valid: refused (which one a proxy would take is a guess).
  {
    raw_connection conn(port);
    const std::string body = R"({"Theatre-Seat":"1-A1"})";
    ASSERT_TRUE(conn.send("DELETE /ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: " + std::string(key_a) +
                          "\r\nX-Api-Key: wrong\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    auto answer = conn.read_response(10s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(statuses_in(*answer), std::vector<int>{401}) << *answer;
    EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A1").body, before);
  }

  // Each listed key works: plain, with spaces around it, and the one given by its digest.
  EXPECT_EQ(with_key(port, "PATCH", "/ticket", R"({"Theatre-Seat":"1-A1","updateKey":"Movie","updateValue":"Arrival"})",
                     key_b)
                .status,
            200);
  EXPECT_EQ(with_key(port, "GET", "/events", "", hashed_key).status, 200);
  EXPECT_EQ(with_key(port, "DELETE", "/ticket", R"({"Theatre-Seat":"1-A1"})", hashed_key).status, 200);
  EXPECT_EQ(get(port, "/ticket?Theatre-Seat=1-A1").status, 404);
}

TEST_F(ApiKeys, ReadsStayPublic) {
  server_process server(data_dir(), keyed());
  ASSERT_EQ(with_key(server.port(), "POST", "/ticket", ticket("1-A1"), key_a).status, 201);
  EXPECT_EQ(get(server.port(), "/ticket?Theatre-Seat=1-A1").status, 200);
  EXPECT_EQ(get(server.port(), "/tickets").status, 200);
  EXPECT_EQ(get(server.port(), "/movies").status, 200);
  EXPECT_EQ(get(server.port(), "/health").status, 200);
  EXPECT_EQ(request(server.port(), "OPTIONS", "/ticket").status, 204);  // a browser's preflight has no key
}

TEST_F(ApiKeys, KeysAreNeverLogged) {
  server_process server(data_dir(), keyed());
  with_key(server.port(), "POST", "/ticket", ticket("1-A1"), key_a);
  with_key(server.port(), "POST", "/ticket", ticket("1-A2"), "tb-key-a-wrong-one-123456");
  // A request's line is written once its answer is sent: wait for the refused one's (bounded).
  std::string log;
  for (int i = 0; i < 100 && log.find("\"status\":\"401\"") == std::string::npos; ++i) {
    if (i) std::this_thread::sleep_for(50ms);
    log = server.log();
  }
  EXPECT_NE(log.find("\"apiKeys\":\"3\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"status\":\"401\""), std::string::npos) << log;
  for (const char* secret : {key_a, key_b, hashed_key, "tb-key-a-wrong-one-123456"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in " << log;
}

TEST_F(ApiKeys, SighupReadsTheFileAgain) {
  server_process server(data_dir(), keyed());
  const auto port = server.port();
  ASSERT_EQ(with_key(port, "POST", "/ticket", ticket("1-A1"), key_a).status, 201);

  constexpr const char* key_c = "tb-key-charlie-9e8d7c6b5a4f3e21";
  write_file(keys_file(), "sha256:" + sha256_hex(key_c) + "\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  // The reload is asynchronous: wait for the new key to work (bounded), then check the old one.
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = with_key(port, "POST", "/ticket", ticket("1-C" + std::to_string(i)), key_c).status == 201;
    if (!reloaded) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(reloaded) << server.log();
  EXPECT_TRUE(is_key_error(with_key(port, "POST", "/ticket", ticket("1-A3"), key_a)));
  EXPECT_TRUE(is_key_error(with_key(port, "POST", "/ticket", ticket("1-A3"), key_b)));

  // A file that no longer reads keeps the keys as they were, and says why in the log.
  write_file(keys_file(), "sha256:not-hex\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = server.log().find("API keys not read again") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(logged) << server.log();
  EXPECT_NE(server.log().find("line 1"), std::string::npos) << server.log();
  EXPECT_EQ(with_key(port, "POST", "/ticket", ticket("1-C-after"), key_c).status, 201);
  EXPECT_EQ(server.terminate(), 0);  // SIGHUP never stopped it
}

TEST_F(ApiKeys, ABadKeysFileStopsServeBeforeItStarts) {
  write_file(keys_file(), "good-key-1\nsha256:abc\n");
  auto bad_line = run_cli({"serve", "--port", "0", "--data-dir", data_dir().string(), "--api-keys-file",
                           keys_file().string()});
  EXPECT_EQ(bad_line.status, 2);
  EXPECT_NE(bad_line.err.find("line 2"), std::string::npos) << bad_line.err;
  EXPECT_EQ(bad_line.err.find("good-key-1"), std::string::npos) << bad_line.err;  // never the content

  write_file(keys_file(), "# nothing but comments\n\n");
  auto empty = run_cli({"serve", "--port", "0", "--data-dir", data_dir().string(), "--api-keys-file",
                        keys_file().string()});
  EXPECT_EQ(empty.status, 2);
  EXPECT_NE(empty.err.find("holds no key"), std::string::npos) << empty.err;

  auto missing = run_cli({"serve", "--port", "0", "--data-dir", data_dir().string(), "--api-keys-file",
                          (tmp.path() / "absent").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_FALSE(std::filesystem::exists(data_dir())) << "a bad key file must not create the data dir";
}

TEST_F(ApiKeys, ANonLoopbackAddressNeedsKeysOrSaysSo) {
  auto open = run_cli({"serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", data_dir().string()});
  EXPECT_EQ(open.status, 1);
  EXPECT_NE(open.err.find("refusing to serve 0.0.0.0 without API keys"), std::string::npos) << open.err;
  EXPECT_NE(open.err.find("--allow-anonymous-writes"), std::string::npos) << open.err;

  {  // Said so: it serves open.
    server_process server(data_dir(), {"--host", "0.0.0.0", "--allow-anonymous-writes"});
    EXPECT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1")).status, 201);
  }
  {  // With keys: it serves, keyed.
    server_process server(data_dir(), {"--host", "0.0.0.0", "--api-keys-file", keys_file().string()});
    EXPECT_TRUE(is_key_error(request(server.port(), "POST", "/ticket", ticket("1-A2"))));
  }
}

TEST_F(ApiKeys, WithoutKeysOnLoopbackEverythingIsOpenAsBefore) {
  server_process server(data_dir());
  EXPECT_EQ(request(server.port(), "POST", "/ticket", ticket("1-A1")).status, 201);
  EXPECT_EQ(request(server.port(), "DELETE", "/ticket", R"({"Theatre-Seat":"1-A1"})").status, 200);
  EXPECT_EQ(get(server.port(), "/events").status, 200);
  EXPECT_EQ(get(server.port(), "/metrics").status, 200);
}

}  // namespace
}  // namespace tb::test
