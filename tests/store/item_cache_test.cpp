// The item cache on its own: what a commit of this process leaves in it, what another's drops,
// and how a full cache makes room.
#include "sqlite/item_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tb::sqlite {
namespace {

item_text text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }
std::string seat_n(int i) {
  std::string s = std::to_string(i);
  s.insert(s.begin(), 's');
  return s;
}
std::string found(item_cache& c, std::string_view seat, std::uint32_t counter) {
  auto t = c.find(seat, counter);
  return t ? *t : "<none>";
}

TEST(ItemCache, ACommitLeavesWhatItWroteForTheNextRead) {
  item_cache cache(1 << 20, 5);
  ASSERT_TRUE(cache.offer("a", 5, text("a1")));
  ASSERT_TRUE(cache.offer("b", 5, text("b1")));
  cache.committed(5, {{"a", text("a2")}, {"c", text("c1")}, {"b", nullptr}, {"c", text("c2")}});
  EXPECT_EQ(found(cache, "a", 6), "a2");    // written: the new text, no read needed
  EXPECT_EQ(found(cache, "c", 6), "c2");    // written twice in one commit: the later
  EXPECT_EQ(found(cache, "b", 6), "<none>");  // deleted
  EXPECT_EQ(found(cache, "a", 5), "<none>");  // a reader that saw the old counter reads the file
}

TEST(ItemCache, AnotherProcesssCommitDropsEverything) {
  item_cache cache(1 << 20, 5);
  ASSERT_TRUE(cache.offer("a", 5, text("a1")));
  // The counter moved from 5 to 7 before this commit (6 -> 7): someone else wrote in between.
  cache.committed(6, {{"b", text("b1")}});
  EXPECT_EQ(found(cache, "a", 7), "<none>");
  EXPECT_EQ(found(cache, "b", 7), "<none>");
}

TEST(ItemCache, AReadMadeBeforeACommitIsNotKeptAfterIt) {
  item_cache cache(1 << 20, 5);
  cache.committed(5, {{"a", text("new")}});
  EXPECT_FALSE(cache.offer("a", 5, text("old")));  // read under counter 5: it may predate the commit
  EXPECT_EQ(found(cache, "a", 6), "new");
}

TEST(ItemCache, AFullCacheEvictsSomeEntriesNotAll) {
  // 16 shards of 64 KiB; each entry costs its texts plus ~160 bytes: about 100 fit in a shard.
  item_cache cache(16 * 64 * 1024, 1);
  const std::string body(500, 'x');
  const int n = 4000;  // about 2.4 times what fits
  for (int i = 0; i < n; ++i) ASSERT_TRUE(cache.offer(seat_n(i), 1, text(body)));
  int kept = 0, kept_of_last_tenth = 0;
  for (int i = 0; i < n; ++i) {
    if (found(cache, seat_n(i), 1) == "<none>") continue;
    ++kept;
    if (i >= n - n / 10) ++kept_of_last_tenth;
  }
  const int fit = 16 * 64 * 1024 / (500 + 5 + 160);
  EXPECT_LE(kept, fit);          // within its budget
  EXPECT_GE(kept, fit * 8 / 10);  // and still nearly full: room is made an entry at a time
  EXPECT_GE(kept_of_last_tenth, n / 10 / 4);
  EXPECT_EQ(found(cache, seat_n(n - 1), 1), body);  // what was just put is there
}

}  // namespace
}  // namespace tb::sqlite
