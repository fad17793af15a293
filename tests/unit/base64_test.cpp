// Base64 as RFC 4648 gives it (its section 10 vectors), and a strict decoder: anything a lenient
// one would guess at is refused.
#include "core/base64.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base64::encode(plain), coded);
    EXPECT_EQ(base64::decode(coded), std::optional<std::string>(plain)) << coded;
  }
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(base64::decode(base64::encode(all)), std::optional<std::string>(all));
  EXPECT_EQ(base64::decode("+/8="), std::optional<std::string>("\xfb\xff"));
}

TEST(Base64, AnythingButCanonicalTextIsRefused) {
  for (const char* bad : {"Zg", "Zg=", "Zm9", "Z===", "=Zm9", "Zm=v", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm9-",
                          "Zm9_", "Zh==", "Zm9=", "Zm8%"})
    EXPECT_FALSE(base64::decode(bad)) << bad;
}

}  // namespace
}  // namespace tb
