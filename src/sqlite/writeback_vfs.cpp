#include "sqlite/writeback_vfs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "sqlite/sqlite.hpp"
#include "sqlite/vfs_shim.hpp"

namespace tb::sqlite {
namespace {

sqlite3_vfs* unix_vfs = nullptr;
std::atomic<std::uint64_t> started{0};

// Ours first, the unix VFS's file right after it.
struct file {
  sqlite3_file base;
  int fd;  // our own descriptor of a main database file; -1 for other files
};
file* ours(sqlite3_file* f) { return reinterpret_cast<file*>(f); }
sqlite3_file* real(sqlite3_file* f) { return underlying<file>(f); }

int write_and_queue(sqlite3_file* sf, const void* buf, int n, sqlite3_int64 off) {
  int rc = real(sf)->pMethods->xWrite(real(sf), buf, n, off);
  // Asynchronous: it queues what was just written for the disk and returns; the checkpoint's
  // fsync still waits for all of it. A failure here only leaves the pages to that fsync.
  if (rc == SQLITE_OK && ours(sf)->fd >= 0 && ::sync_file_range(ours(sf)->fd, off, n, SYNC_FILE_RANGE_WRITE) == 0)
    ++started;
  return rc;
}

int close_both(sqlite3_file* sf) {
  file* f = ours(sf);
  if (f->fd >= 0) ::close(f->fd);
  return real(sf)->pMethods->xClose(real(sf));
}

const sqlite3_io_methods methods = [] {
  sqlite3_io_methods m = forwarding_methods<file>();
  m.xWrite = write_and_queue;
  m.xClose = close_both;
  return m;
}();

int open_file(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* sf, int flags, int* out_flags) {
  file* f = ours(sf);
  f->fd = -1;
  int rc = unix_vfs->xOpen(unix_vfs, name, real(sf), flags, out_flags);
  f->base.pMethods = real(sf)->pMethods ? &methods : nullptr;
  // Without a descriptor of our own (none is to be had from the unix VFS) the file is only
  // passed through.
  if (rc == SQLITE_OK && name && (flags & SQLITE_OPEN_MAIN_DB)) f->fd = ::open(name, O_RDONLY | O_CLOEXEC);
  return rc;
}

sqlite3_vfs* make() {
  initialize();
  unix_vfs = sqlite3_vfs_find("unix");
  if (!unix_vfs) throw std::runtime_error("SQLite has no unix VFS");
  static sqlite3_vfs vfs = *unix_vfs;
  vfs.zName = "tb-writeback";
  vfs.szOsFile = static_cast<int>(sizeof(file)) + unix_vfs->szOsFile;
  vfs.pAppData = nullptr;
  vfs.xOpen = open_file;
  if (int rc = sqlite3_vfs_register(&vfs, 0); rc != SQLITE_OK)
    throw std::runtime_error(std::string("registering the writeback VFS: ") + sqlite3_errstr(rc));
  return &vfs;
}

}  // namespace

const char* writeback_vfs() {
  static sqlite3_vfs* vfs = make();
  return vfs->zName;
}

std::uint64_t writebacks_started() { return started.load(); }

}  // namespace tb::sqlite
