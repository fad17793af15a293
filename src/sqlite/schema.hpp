// The database's schema and its migrations from earlier versions, and the settings every
// connection shares.
#pragma once

#include <string>

#include "sqlite/sqlite.hpp"

namespace tb::sqlite {

// Reads come from the page cache through a mapping instead of a read() copy per page.
inline constexpr const char* mmap_pragma = "PRAGMA mmap_size = 1073741824";

// WAL, and every commit on disk before it is acknowledged.
void configure(connection& c);
// Makes the file's schema current (creating it, migrating an earlier version's); before any
// statement is prepared against it.
void prepare_database(const std::string& path);

}  // namespace tb::sqlite
