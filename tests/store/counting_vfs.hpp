// A SQLite VFS over the default one that counts the syncs of write-ahead logs: whether a commit
// waited for the disk, seen where it happens. While one lives it is SQLite's default VFS, so a
// store opened meanwhile uses it; destroy that store first.
#pragma once

#include <sqlite3.h>

#include <atomic>

#include "sqlite/vfs_shim.hpp"

namespace tb::test {

class counting_vfs {
 public:
  counting_vfs() : real_(sqlite3_vfs_find(nullptr)), vfs_(*real_) {
    vfs_.zName = "tb-counting";
    vfs_.szOsFile = static_cast<int>(sizeof(file)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &open;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~counting_vfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, 1);
  }
  counting_vfs(const counting_vfs&) = delete;
  counting_vfs& operator=(const counting_vfs&) = delete;

  int wal_syncs() const { return wal_syncs_.load(); }

 private:
  // Ours first, the default VFS's file right after it.
  struct file {
    sqlite3_file base;
    counting_vfs* owner;
    bool wal;
  };
  static file* ours(sqlite3_file* f) { return reinterpret_cast<file*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return sqlite::underlying<file>(f); }

  static int open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    auto* self = static_cast<counting_vfs*>(vfs->pAppData);
    file* cf = ours(f);
    cf->owner = self;
    cf->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = self->real_->xOpen(self->real_, name, real(f), flags, out_flags);
    cf->base.pMethods = real(f)->pMethods ? &methods : nullptr;
    return rc;
  }

  static const sqlite3_io_methods methods;

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  std::atomic<int> wal_syncs_{0};
};

inline const sqlite3_io_methods counting_vfs::methods = [] {
  sqlite3_io_methods m = sqlite::forwarding_methods<counting_vfs::file>();
  m.xSync = [](sqlite3_file* f, int flags) {
    if (ours(f)->wal) ++ours(f)->owner->wal_syncs_;
    return real(f)->pMethods->xSync(real(f), flags);
  };
  return m;
}();

}  // namespace tb::test
