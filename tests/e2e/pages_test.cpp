// serve's pages, from the binary itself: the console (GET /), the API reference (GET /docs), the
// OpenAPI document (GET /openapi.json) and their scripts, each with its content type. Their
// responses are recorded like every other and checked against the document (api_conformance).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/json.hpp"
#include "e2e/harness.hpp"

namespace tb::test {
namespace {

class Pages : public ::testing::Test {
 protected:
  unsigned short port() const { return server_.port(); }
  temp_dir dir_;
  server_process server_{dir_.path() / "data"};
};

TEST_F(Pages, ConsoleIsOneHtmlPageWithItsScriptAndStyleInside) {
  auto page = get(port(), "/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Operators' console"), std::string::npos);
  // Its script and style are written into it at build time: one response.
  EXPECT_EQ(page.body.find("<script data-inline"), std::string::npos);
  EXPECT_EQ(page.body.find("<link data-inline"), std::string::npos);
  EXPECT_NE(page.body.find("const seatPattern"), std::string::npos);
  EXPECT_NE(page.body.find(".seat-grid {"), std::string::npos);
  EXPECT_NE(page.body.find("script-src 'self' 'sha256-"), std::string::npos);
  EXPECT_NE(page.body.find(R"(href="/tickets?limit=250")"), std::string::npos);  // preloaded: paged
  auto script = get(port(), "/assets/console.js");  // also on its own, for reading
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  // Paged reads only: the console never asks for the whole listing.
  EXPECT_NE(script.body.find("/tickets?${query}"), std::string::npos);
  EXPECT_EQ(script.body.find("'/tickets'"), std::string::npos);
  auto style = get(port(), "/assets/console.css");
  ASSERT_EQ(style.status, 200);
  EXPECT_EQ(style.header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(get(port(), "/assets/nothing.js").status, 404);
}

TEST_F(Pages, OpenApiJsonIsTheRepositorysDocument) {
  auto r = get(port(), "/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto doc = object_of(r.body);
  EXPECT_EQ(str(doc, "openapi"), "3.1.0");
  auto paths = member_object(doc, "paths");
  for (const char* path : {"/movies", "/ticket", "/tickets", "/events", "/health", "/metrics", "/openapi.json",
                           "/docs", "/"})
    EXPECT_TRUE(paths.contains(path)) << path;
  // The same text the build made from api/openapi.yaml, byte for byte.
  std::ifstream built(TB_OPENAPI_JSON, std::ios::binary);
  std::ostringstream text;
  text << built.rdbuf();
  EXPECT_EQ(r.body, text.str());
}

TEST_F(Pages, DocsRendersTheDocumentWithTheEmbeddedRedoc) {
  auto page = get(port(), "/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find(R"(src="/assets/redoc.standalone.js")"), std::string::npos);
  EXPECT_NE(page.body.find("Redoc.init('/openapi.json'"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos);  // nothing from elsewhere
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  auto redoc = get(port(), "/assets/redoc.standalone.js");
  ASSERT_EQ(redoc.status, 200);
  EXPECT_GT(redoc.body.size(), 100'000u);
  EXPECT_NE(redoc.body.find("Redoc"), std::string::npos);
}

TEST_F(Pages, PagesAreReadOnly) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    auto r = request(port(), method, "/", "{}");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.header("allow"), "GET,HEAD") << method;
  }
  // The API beside the pages is untouched.
  EXPECT_EQ(get(port(), "/movies").body, R"({"movies":[]})");
}

}  // namespace
}  // namespace tb::test
