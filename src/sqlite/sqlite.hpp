// RAII over the SQLite C API: a connection and its prepared statements. Failures throw
// sqlite_error; the store turns them into error values at its edge.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace tb::sqlite {

struct sqlite_error : std::runtime_error {
  int code;
  sqlite_error(int rc, const std::string& what) : std::runtime_error(what), code(rc) {}
};

// A failure inside SQLite as a store reports it: unavailable (temporary: 503 with Retry-After)
// when the database is busy or locked or the disk is full, internal (500) otherwise. Its text
// (SQL, SQLite's words) is for the log only.
error store_failure(const std::exception& e);

// Makes the database file, if it does not exist yet, readable by its owner alone (0600): SQLite
// gives its -wal and -shm files their database's mode, so they follow.
void create_private_file(const std::string& path);

// SQLite's process-wide settings, made once before SQLite initialises; whatever opens a
// connection or looks up a VFS calls it first.
void initialize();

class connection {
 public:
  explicit connection(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      const char* vfs = nullptr);  // nullptr: the default VFS
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void exec(const char* sql);
  sqlite3* get() const { return db_; }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
};

class statement {
 public:
  statement(connection& c, const char* sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::string_view text);
  statement& bind(int i, std::int64_t v);
  statement& bind_null(int i);
  // true while a row is available; resets itself when done.
  bool step();
  void reset();
  std::string_view text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// The WAL index's commit counter (iChange in the header at the start of the -shm file, see
// https://sqlite.org/walformat.html): every commit to the database, by any connection of any
// process, adds one. The pointer stays valid while `c` is open; nullptr when `c` is not in WAL
// mode or the index does not look like the format this reads.
const std::uint32_t* wal_commit_counter(connection& c);

inline std::uint32_t load(const std::uint32_t* counter) { return __atomic_load_n(counter, __ATOMIC_ACQUIRE); }

// Resets a statement when leaving scope, so a throw mid-iteration leaves it reusable.
class reset_guard {
 public:
  explicit reset_guard(statement& s) : s_(s) {}
  ~reset_guard() { s_.reset(); }
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

 private:
  statement& s_;
};

}  // namespace tb::sqlite
