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
  std::lock_guard lock(s.mutex);
  // A commit applied since `counter` was read may have changed this seat after it was read.
  if (s.counter != counter) return false;
  if (!s.items.contains(seat)) put(s, seat, std::move(item));
  return true;
}

void item_cache::committed(std::uint32_t before, const writes& written) {
  std::array<std::vector<const writes::value_type*>, shard_count> by_shard;
  for (const auto& w : written) by_shard[shard_index(w.first)].push_back(&w);
  for (std::size_t i = 0; i < shard_count; ++i) {
    shard& s = shards_[i];
    std::lock_guard lock(s.mutex);
    if (s.counter != before) {
      clear(s);  // another process committed since this shard was last brought up to date
    } else {
      for (const auto* w : by_shard[i]) {
        if (w->second) put(s, w->first, w->second);
        else erase(s, w->first);
      }
    }
    s.counter = before + 1;
  }
}

void item_cache::put(shard& s, std::string_view seat, item_text item) {
  erase(s, seat);
  const std::size_t c = cost(seat, *item);
  if (c > shard_budget_) return;
  // Full: evict entries from the buckets in turn (about at random, and no bookkeeping per read).
  while (s.bytes + c > shard_budget_ && !s.items.empty()) {
    const std::size_t buckets = s.items.bucket_count();
    std::size_t b = s.next_victim % buckets;
    while (s.items.bucket_size(b) == 0) b = (b + 1) % buckets;
    s.next_victim = b + 1;
    auto victim = s.items.begin(b);
    s.bytes -= cost(victim->first, *victim->second);
    s.items.erase(victim->first);
  }
  s.items.emplace(std::string(seat), std::move(item));
  s.bytes += c;
}

void item_cache::erase(shard& s, std::string_view seat) {
  if (auto it = s.items.find(seat); it != s.items.end()) {
    s.bytes -= cost(seat, *it->second);
    s.items.erase(it);
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
