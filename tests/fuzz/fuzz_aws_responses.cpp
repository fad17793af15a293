// libFuzzer target: the readers of what AWS answers. The first byte picks the reader, the second
// the HTTP status, the rest is the body: a DynamoDB success (items in AttributeValue form), a
// DynamoDB error (JSON or an emulator's XML), an SNS Publish answer (XML). For any answer: no
// crash; an item read back from its own AttributeValue form is the same item; an error's reason
// is bounded and the failure never the client's.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <string>

#include "aws/query_api.hpp"
#include "dynamodb/attribute_value.hpp"
#include "dynamodb/dynamodb_client.hpp"
#include "fuzz/fuzz_check.hpp"
#include "sns/sns_publisher.hpp"

namespace {

using tb::fuzz::require;

// As the client parses a success: depth bounded as dynamodb_client.cpp bounds it.
constexpr unsigned max_response_depth = 128;

void item(const boost::json::value& v) {
  const auto* o = v.if_object();
  if (!o) return;
  auto decoded = tb::dynamodb::from_item(*o);
  if (!decoded) return;
  auto again = tb::dynamodb::from_item(tb::dynamodb::to_item(*decoded));
  require(again.has_value(), "an item's own AttributeValue form reads back");
  require(*again == *decoded, "from_item(to_item(x)) == x", tb::json::serialize(tb::json::value(*decoded)));
}

void dynamodb_success(const std::string& body) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = max_response_depth;
  auto parsed = boost::json::parse(body, ec, {}, opts);
  const auto* o = ec ? nullptr : parsed.if_object();
  if (!o) return;
  for (std::string_view key : {"Item", "Attributes"})
    if (auto it = o->find(key); it != o->end()) item(it->value());
  if (auto it = o->find("Items"); it != o->end() && it->value().is_array())
    for (const auto& v : it->value().get_array()) item(v);
}

void dynamodb_error(int status, const std::string& body) {
  auto e = tb::dynamodb::error_from(status, body);
  require(e.http_status == status, "an error keeps its status");
  // Its reason is a part of the answer, never more. (An XML answer's Code may be anything, '#'
  // included: it then only fails to match a known type.)
  require(e.message.size() <= body.size(), "an error's reason comes from the answer", e.message);
  const tb::error as_store = e.to_error();
  require(!tb::is_clients_fault(as_store.code), "a DynamoDB failure is never the client's");
}

void sns_publish(int status, const std::string& body) {
  tb::aws::http_response r;
  r.status = status;
  r.body = body;
  auto id = tb::sns::read_publish_answer(r);
  if (id) {
    require(status == 200 && !id->empty(), "only a 200 with a MessageId is a success", *id);
    return;
  }
  require(id.err().message.size() <= 2 * body.size() + 400, "a failure's reason is bounded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int status = 200 + data[1] % 4 * 100 + (data[1] / 4) % 4;  // 200..203, 300.., 400.., 500..503
  const std::string body(tb::fuzz::as_text(data + 2, size - 2));
  switch (data[0] % 4) {
    case 0: dynamodb_success(body); break;
    case 1: dynamodb_error(status, body); break;
    case 2: sns_publish(status, body); break;
    case 3: {
      auto code = tb::aws::xml_text(body, "Code");
      const auto end = tb::aws::xml_element_end(body, "Message");
      require(end == std::string::npos || end <= body.size(), "an element ends inside the answer");
      if (code) require(code->size() <= body.size(), "an element's text is no longer than the answer");
      break;
    }
  }
  return 0;
}
