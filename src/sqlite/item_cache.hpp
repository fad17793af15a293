// Tickets recently read, kept in memory so that a GET needs no read transaction (whose file locks
// and statement cost more than the rest of the request).
//
// Validity follows the database's commit counter (sqlite_store reads it from the WAL index, where
// every commit by any process moves it by one). The cache is up to date as of one counter value:
// an entry is used only while the counter still shows that value. This process's writer tells the
// cache, after each commit, what it wrote (the seats' new items, or none for a deleted seat) and
// moves it on by one; any other difference means another process wrote, and everything is
// dropped. Keeping what was written, rather than dropping it, spares the next change of the same
// ticket a read transaction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ports.hpp"

namespace tb::sqlite {

class item_cache {
 public:
  // Empty, up to date as of commit counter `counter`.
  item_cache(std::size_t budget_bytes, std::uint32_t counter);

  // The item cached for `seat`, or null; `counter` is the commit counter read just before.
  item_text find(std::string_view seat, std::uint32_t counter);
  // Keeps an item read from the store after reading `counter`, unless a commit was applied since.
  // False when the cache is behind `counter` (a commit it has not been told of, perhaps another
  // process's: the owner should resync once its own commits are done).
  bool offer(std::string_view seat, std::uint32_t counter, item_text item);
  // What a commit wrote: each seat's item as the commit left it; null for a deleted seat. A seat
  // written twice in one commit appears twice, the later one last.
  using writes = std::vector<std::pair<std::string, item_text>>;
  // After this process committed, taking the counter from `before` to before + 1.
  void committed(std::uint32_t before, const writes& written);
  // With no commit of this process in flight: any difference from `counter` is another process's.
  void resync(std::uint32_t counter);

 private:
  static constexpr std::size_t shard_count = 16;
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, item_text, hash, std::equal_to<>> items;
    std::size_t bytes = 0;
    std::uint32_t counter = 0;  // the commit counter its entries are valid at
    std::size_t next_victim = 0;  // the bucket eviction looks at next
  };
  static std::size_t shard_index(std::string_view seat) { return hash{}(seat) % shard_count; }
  shard& shard_of(std::string_view seat) { return shards_[shard_index(seat)]; }
  // The texts plus what holding them costs with glibc's allocator: the map node, the shared
  // string's control block and its heap buffer (about 160 bytes an entry).
  static std::size_t cost(std::string_view seat, const std::string& item) {
    return seat.size() + item.size() + 160;
  }
  static void clear(shard& s);
  // Keeps `item` for `seat` (s.mutex held), evicting others while the shard is over its budget.
  void put(shard& s, std::string_view seat, item_text item);
  void erase(shard& s, std::string_view seat);

  std::size_t shard_budget_;
  std::array<shard, shard_count> shards_;
};

}  // namespace tb::sqlite
