// A SQLite VFS over the default one that counts the syncs of write-ahead logs: whether a commit
// waited for the disk, seen where it happens. While one lives it is SQLite's default VFS, so a
// store opened meanwhile uses it; destroy that store first.
#pragma once

#include <sqlite3.h>

#include <atomic>

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
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };
  static file* ours(sqlite3_file* f) { return reinterpret_cast<file*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return ours(f)->real(); }

  static int open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    auto* self = static_cast<counting_vfs*>(vfs->pAppData);
    file* cf = ours(f);
    cf->owner = self;
    cf->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = self->real_->xOpen(self->real_, name, cf->real(), flags, out_flags);
    cf->base.pMethods = cf->real()->pMethods ? &methods : nullptr;
    return rc;
  }

  static const sqlite3_io_methods methods;

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  std::atomic<int> wal_syncs_{0};
};

inline const sqlite3_io_methods counting_vfs::methods = {
    3,
    [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); },
    [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return real(f)->pMethods->xRead(real(f), buf, n, off); },
    [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
      return real(f)->pMethods->xWrite(real(f), buf, n, off);
    },
    [](sqlite3_file* f, sqlite3_int64 size) { return real(f)->pMethods->xTruncate(real(f), size); },
    [](sqlite3_file* f, int flags) {
      if (ours(f)->wal) ++ours(f)->owner->wal_syncs_;
      return real(f)->pMethods->xSync(real(f), flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); },
    [](sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); },
    [](sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); },
    [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); },
    [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), offset, n, flags); },
    [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); },
    [](sqlite3_file* f, int remove) { return real(f)->pMethods->xShmUnmap(real(f), remove); },
    [](sqlite3_file* f, sqlite3_int64 off, int n, void** out) { return real(f)->pMethods->xFetch(real(f), off, n, out); },
    [](sqlite3_file* f, sqlite3_int64 off, void* p) { return real(f)->pMethods->xUnfetch(real(f), off, p); },
};

}  // namespace tb::test
