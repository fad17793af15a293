// The events in the outbox by status, for the metrics: one read-only connection of its own, so a
// scrape never waits behind the store's readers or its writer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace tb::sqlite {

class connection;
class statement;

class event_counts {
 public:
  explicit event_counts(const std::string& database_path);
  ~event_counts();
  // pending / delivered / dead -> how many; nullopt when the database cannot be read.
  std::optional<std::map<std::string, std::int64_t>> operator()();

 private:
  std::string path_;
  std::mutex mutex_;  // one scrape at a time: a connection is not for two threads at once
  std::unique_ptr<connection> db_;
  std::unique_ptr<statement> count_;
};

}  // namespace tb::sqlite
