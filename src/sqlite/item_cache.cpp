#include "sqlite/item_cache.hpp"

namespace tb::sqlite {

item_cache::item_cache(std::size_t budget_bytes, std::uint32_t counter) : shard_budget_(budget_bytes / shard_count) {
  for (shard& s : shards_) s.counter = counter;
}

item_text item_cache::find(std::string_view seat, std::uint32_t counter) {
  shard& s = shard_of(seat);
  std::lock_guard lock(s.mutex);
  if (s.counter != counter) return nullptr;
  auto it = s.items.find(seat);
  return it == s.items.end() ? nullptr : it->second;
}

bool item_cache::offer(std::string_view seat, std::uint32_t counter, item_text item) {
  shard& s = shard_of(seat);
  const std::size_t c = cost(seat, *item);
  std::lock_guard lock(s.mutex);
  // A commit applied since `counter` was read may have changed this seat after it was read.
  if (s.counter != counter) return false;
  if (c > shard_budget_) return true;
  if (s.bytes + c > shard_budget_) clear(s);  // full: start over rather than track recency
  auto [it, added] = s.items.try_emplace(std::string(seat), std::move(item));
  if (added) s.bytes += c;
  return true;
}

void item_cache::committed(std::uint32_t before, const std::vector<std::string>& seats) {
  std::array<std::vector<const std::string*>, shard_count> by_shard;
  for (const auto& seat : seats) by_shard[shard_index(seat)].push_back(&seat);
  for (std::size_t i = 0; i < shard_count; ++i) {
    shard& s = shards_[i];
    std::lock_guard lock(s.mutex);
    if (s.counter != before) {
      clear(s);  // another process committed since this shard was last brought up to date
    } else {
      for (const std::string* seat : by_shard[i]) {
        if (auto it = s.items.find(*seat); it != s.items.end()) {
          s.bytes -= cost(*seat, *it->second);
          s.items.erase(it);
        }
      }
    }
    s.counter = before + 1;
  }
}

void item_cache::resync(std::uint32_t counter) {
  for (shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    if (s.counter == counter) continue;
    clear(s);
    s.counter = counter;
  }
}

void item_cache::clear(shard& s) {
  s.items.clear();
  s.bytes = 0;
}

}  // namespace tb::sqlite
