#include "sqlite/sqlite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tb::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  throw sqlite_error(rc, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

error store_failure(const std::exception& e) {
  const auto* failure = dynamic_cast<const sqlite_error*>(&e);
  const int primary = failure ? failure->code & 0xff : SQLITE_ERROR;
  const bool temporary = primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL;
  return {temporary ? errc::unavailable : errc::internal, std::string("Store failure: ") + e.what()};
}

void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw sqlite_error(SQLITE_CANTOPEN, "open " + path + ": " + std::strerror(errno));
  ::close(fd);
}

void initialize() {
  // No memory statistics, whose global mutex every allocation of every connection would
  // otherwise take.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
}

connection::connection(const std::string& path, int flags, const char* vfs) {
  initialize();
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw sqlite_error(rc, "open " + path + ": " + message);
  }
  // Another process (ticket-booking events) may hold a read lock for a moment.
  sqlite3_busy_timeout(db_, 5000);
  sqlite3_extended_result_codes(db_, 1);
}

connection::~connection() { sqlite3_close_v2(db_); }

void connection::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw sqlite_error(rc, std::string(sql).substr(0, 60) + ": " + text);
  }
}

statement::statement(connection& c, const char* sql) : db_(c.get()) {
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, sql);
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement& statement::bind(int i, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

statement& statement::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

statement& statement::bind_null(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

bool statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  sqlite3_reset(stmt_);
  fail(db_, rc, sqlite3_sql(stmt_));
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view statement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string_view();
}

std::int64_t statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }

bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

const std::uint32_t* wal_commit_counter(connection& c) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(c.get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
    return nullptr;
  // Region 0 is mapped once the connection has read in WAL mode; this asks for it, never creates it.
  void volatile* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region) != SQLITE_OK || !region) return nullptr;
  const auto* header = reinterpret_cast<const std::uint32_t*>(const_cast<const void*>(region));
  constexpr std::uint32_t wal_index_version = 3007000;  // the header's first field, iVersion
  if (load(header) != wal_index_version) return nullptr;
  return header + 2;  // iVersion, unused, iChange
}

}  // namespace tb::sqlite
