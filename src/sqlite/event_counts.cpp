#include "sqlite/event_counts.hpp"

#include "log/log.hpp"
#include "sqlite/sqlite.hpp"

namespace tb::sqlite {

event_counts::event_counts(const std::string& database_path) : path_(database_path) {}
event_counts::~event_counts() = default;

std::optional<std::map<std::string, std::int64_t>> event_counts::operator()() {
  std::lock_guard lock(mutex_);
  try {
    if (!db_) {  // opened at the first scrape: by then the store has made the file and its tables
      initialize();
      db_ = std::make_unique<connection>(path_, SQLITE_OPEN_READONLY);
      count_ = std::make_unique<statement>(*db_, "SELECT status, count(*) FROM events GROUP BY status");
    }
    reset_guard g(*count_);
    std::map<std::string, std::int64_t> counts;
    while (count_->step()) counts[std::string(count_->text(0))] = count_->integer(1);
    return counts;
  } catch (const std::exception& e) {
    log_line("warn", "events not counted for the metrics", {{"reason", e.what()}});
    count_.reset();
    db_.reset();  // opened again at the next scrape
    return std::nullopt;
  }
}

}  // namespace tb::sqlite
