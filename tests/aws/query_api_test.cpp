// The Query protocol helpers: form encoding as AWS and moto read it, and element lookup in the
// XML answers (entities, attributes, names that prefix other names).
#include "aws/query_api.hpp"

#include <gtest/gtest.h>

namespace tb::aws {
namespace {

TEST(QueryApi, FormEncodesEverythingButUnreservedBytes) {
  std::string body;
  append_form_param(body, "Message", "a b+c&d=é~-_.%/");
  append_form_param(body, "Empty", "");
  EXPECT_EQ(body, "Message=a+b%2Bc%26d%3D%C3%A9~-_.%25%2F&Empty=");
}

TEST(QueryApi, FindsElementTextAndDecodesEntities) {
  const std::string xml =
      R"(<R xmlns="x"><MessageId>id-1</MessageId><Message lang="en">&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos; )"
      R"(&#937;&#x3A9; &bogus; &#xZZ;</Message><Empty/></R>)";
  // <MessageId> is not a <Message>.
  EXPECT_EQ(xml_text(xml, "Message"), R"(<a> & "b" 'c' ΩΩ &bogus; &#xZZ;)");
  EXPECT_EQ(xml_text(xml, "MessageId"), "id-1");
  EXPECT_EQ(xml_text(xml, "Empty"), "");
  EXPECT_EQ(xml_text(xml, "Missing"), std::nullopt);
  EXPECT_EQ(xml_text("<Code>unterminated", "Code"), std::nullopt);
}

TEST(QueryApi, StepsThroughRepeatedElements) {
  const std::string xml = "<L><Message><Body>1</Body></Message><Message><Body>2</Body></Message></L>";
  std::vector<std::string> bodies;
  for (std::size_t at = 0, end; (end = xml_element_end(xml, "Message", at)) != std::string::npos; at = end) {
    bodies.push_back(xml_text(std::string_view(xml).substr(at, end - at), "Body").value_or("?"));
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2"}));
}

}  // namespace
}  // namespace tb::aws
