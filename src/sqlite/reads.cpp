// Reads: on the caller's thread, from the item cache or a pooled read-only connection.
#include "sqlite/item_cache.hpp"
#include "sqlite/store_internals.hpp"

namespace tb::sqlite {

result<item_text> sqlite_store::get(std::string_view seat) {
  std::uint32_t counter = 0;
  if (cache_) {
    counter = load(commit_counter_);
    if (auto hit = cache_->find(seat, counter)) return hit;
  }
  auto item = with_reader([&](reader& r) -> result<item_text> {
    reset_guard g(r.get);
    r.get.bind(1, seat);
    if (!r.get.step()) return item_text();
    return std::make_shared<const std::string>(r.get.text(0));
  });
  if (cache_ && item && *item && !cache_->offer(seat, counter, *item)) request_resync();
  return item;
}

void sqlite_store::request_resync() {
  if (resync_wanted_.exchange(true)) return;
  // Through the queue's lock: a writer between checking for work and sleeping cannot miss it.
  { std::lock_guard lock(queue_mutex_); }
  queue_cv_.notify_one();
}

result<std::optional<std::string>> sqlite_store::scan(std::string_view after, std::size_t limit,
                                                      const item_visitor& visit) {
  return with_reader([&](reader& r) -> result<std::optional<std::string>> {
    reset_guard g(r.scan);
    // One more row than asked tells whether more remain.
    r.scan.bind(1, after).bind(2, static_cast<std::int64_t>(limit) + 1);
    std::size_t visited = 0;
    std::string last;
    while (r.scan.step()) {
      if (visited == limit) return std::optional<std::string>(std::move(last));
      visit(r.scan.text(1));
      last.assign(r.scan.text(0));  // reuses its buffer: no allocation per row
      ++visited;
    }
    return std::optional<std::string>();
  });
}

result<std::vector<std::string>> sqlite_store::movies() {
  return with_reader([&](reader& r) -> result<std::vector<std::string>> {
    reset_guard g(r.movies);
    std::vector<std::string> out;
    while (r.movies.step()) out.emplace_back(r.movies.text(0));
    return out;
  });
}

std::optional<std::uint64_t> sqlite_store::version() {
  if (!commit_counter_) return std::nullopt;
  return load(commit_counter_);
}

result<void> sqlite_store::ping() {
  return with_reader([&](reader& r) -> result<void> {
    reset_guard g(r.ping);
    r.ping.step();
    return ok;
  });
}

}  // namespace tb::sqlite
