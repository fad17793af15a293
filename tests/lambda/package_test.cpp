// The Lambda artifact as Lambda gets it: scripts/package-lambda.sh zips the built binary, the
// zip is unpacked into an empty directory and its bootstrap run with only Lambda's variables,
// against the fake Runtime API.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "e2e/harness.hpp"
#include "lambda/fake_runtime_api.hpp"
#include "support/child_process.hpp"

namespace tb::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::map<std::string, std::string> with_path(std::map<std::string, std::string> env) {
  if (const char* path = std::getenv("PATH")) env.emplace("PATH", path);
  return with_sanitizer_options(std::move(env));
}

bool executable(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) &&
         (st.st_mode & S_IXOTH);
}

// The artifact, made once for every test here and unpacked with unzip, as Lambda would.
// What the zip carries: ticket-booking-lambda, the program without serve's pages.
std::string lambda_binary() { return TB_LAMBDA_BINARY; }

class PackageTest : public ::testing::Test {
 protected:
  // Packaged once for the suite. A failure here is each test's failure: gtest would report a
  // fatal failure in SetUpTestSuite as skipped tests, and ctest would count them as not failed.
  static void SetUpTestSuite() {
    dir_ = new temp_dir;
    const fs::path zip = dir_->path() / "out" / "ticket-booking.zip";
    child_process package(
        {"/usr/bin/env", "bash", TB_PACKAGE_SCRIPT, "--binary", lambda_binary(), "--out", zip.string()},
        with_path({}), dir_->path() / "package.log");
    auto status = package.wait(120s);
    if (!status || *status != 0) {
      setup_error_ = "packaging failed: " + package.output();
      return;
    }
    child_process unzip({"/usr/bin/env", "unzip", "-q", zip.string(), "-d", root().string()}, with_path({}),
                        dir_->path() / "unzip.log");
    status = unzip.wait(60s);
    if (!status || *status != 0) setup_error_ = "unzip failed: " + unzip.output();
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path root() { return dir_->path() / "task"; }

  static temp_dir* dir_;
  static std::string setup_error_;
};

temp_dir* PackageTest::dir_ = nullptr;
std::string PackageTest::setup_error_;

TEST_F(PackageTest, HoldsAnExecutableBootstrapTheBinaryAndItsLoader) {
  EXPECT_TRUE(executable(root() / "bootstrap")) << "Lambda runs bootstrap: it must be executable in the zip";
  EXPECT_TRUE(executable(root() / "bin" / "ticket-booking"));
  EXPECT_TRUE(executable(root() / "lib" / "ld-linux-x86-64.so.2"));
  for (const char* lib : {"libc.so.6", "libsqlite3.so.0", "libcurl.so.4"})
    EXPECT_TRUE(fs::exists(root() / "lib" / lib)) << lib;
}

// Lambda keeps a function's zip small only if it is: the C++ runtime and Boost are linked into the
// binary (TB_STATIC_CXX_RUNTIME), not shipped beside it, and the binary goes without its symbols.
TEST_F(PackageTest, IsAtMostTenMBWithAStrippedBinaryAndNoSharedCxxRuntime) {
  EXPECT_LE(fs::file_size(dir_->path() / "out" / "ticket-booking.zip"), 10'000'000u);
  for (const char* lib : {"libstdc++.so.6", "libgcc_s.so.1", "libboost_json.so.1.81.0"})
    EXPECT_FALSE(fs::exists(root() / "lib" / lib)) << lib << " is shipped: the zip grows by it";
  child_process sections(
      {"/usr/bin/env", "readelf", "-S", "-W", (root() / "bin" / "ticket-booking").string()}, with_path({}),
      dir_->path() / "readelf.log");
  auto status = sections.wait(30s);
  ASSERT_TRUE(status && *status == 0) << sections.output();
  EXPECT_NE(sections.output().find(".text"), std::string::npos) << sections.output();
  EXPECT_EQ(sections.output().find(".symtab"), std::string::npos) << "the packaged binary keeps its symbols";
  EXPECT_LT(fs::file_size(root() / "bin" / "ticket-booking"), fs::file_size(lambda_binary()));
}

// API Gateway routes only the API to the functions: the console, the API reference and their
// scripts stay out of the zip (ticket-booking serves them; ticket-booking-lambda has none).
TEST_F(PackageTest, CarriesNoneOfServesPages) {
  std::ifstream in(root() / "bin" / "ticket-booking", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1'000'000u);
  for (const char* marker : {"redoc.standalone.js", "Redoc", "/assets/console.js"})
    EXPECT_EQ(bytes.find(marker), std::string::npos) << marker << " is in the packaged binary";
  std::ifstream full(TB_FULL_BINARY, std::ios::binary);
  const std::string full_bytes((std::istreambuf_iterator<char>(full)), std::istreambuf_iterator<char>());
  EXPECT_NE(full_bytes.find("/assets/console.js"), std::string::npos) << "the marker is not the pages'";
}

TEST_F(PackageTest, TheBundledLoaderFindsEveryLibraryInTheBundle) {
  const fs::path lib = root() / "lib";
  child_process list({(lib / "ld-linux-x86-64.so.2").string(), "--inhibit-cache", "--library-path",
                      lib.string(), "--list", (root() / "bin" / "ticket-booking").string()},
                     with_sanitizer_options({}), dir_->path() / "list.log");
  auto status = list.wait(30s);
  ASSERT_TRUE(status && *status == 0) << list.output();
  int resolved = 0;
  for (const auto& line : lines_of(list.output())) {
    const auto arrow = line.find("=> ");
    if (arrow == std::string::npos) continue;  // the vDSO, which is no file
    ++resolved;
    const std::string path = line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3);
    EXPECT_EQ(path.rfind(lib.string() + "/", 0), 0u) << "taken from the system: " << line;
  }
  EXPECT_GE(resolved, 5) << list.output();
}

TEST_F(PackageTest, ItsBootstrapServesAnInvocationWithOnlyLambdasVariables) {
  fake_runtime_api api;
  temp_dir tmp;  // Lambda's /tmp: the only place it may write
  const std::map<std::string, std::string> env{
      {"AWS_LAMBDA_RUNTIME_API", api.address()},
      {"_HANDLER", "createTicket"},
      {"LAMBDA_TASK_ROOT", root().string()},
      {"AWS_LAMBDA_FUNCTION_NAME", "ticket-booking-dev-createTicket"},
      {"AWS_REGION", "us-east-1"},
      {"TMPDIR", tmp.path().string()},
  };
  child_process runtime({(root() / "bootstrap").string()}, with_sanitizer_options(env),
                        tmp.path() / "runtime.log", root());
  const std::string id = api.enqueue(
      R"({"httpMethod":"POST","path":"/ticket","body":"{\"Theatre-Seat\":\"1-A9\",\"Movie\":\"Dune\"}"})");
  auto post = api.wait_for_outcome(id);
  ASSERT_TRUE(post) << runtime.output();
  ASSERT_EQ(post->kind, "response") << post->body;
  json::object reply = object_of(post->body);
  EXPECT_EQ(raw(reply, "statusCode"), "201") << post->body;
  EXPECT_EQ(str(reply, "body"),
            R"({"message":"Ticket created successfully","Theatre-Seat":"1-A9","Movie":"Dune"})");
  EXPECT_TRUE(fs::exists(tmp.path() / "ticket-booking-data" / "tickets.db")) << "the store is not under /tmp";
}

}  // namespace
}  // namespace tb::test
