// What a SQLite VFS shim's files have in common: each is the shim's own header `H` (starting with
// a sqlite3_file) followed by the underlying VFS's file, and every method it does not change
// passes through to that file.
#pragma once

#include <sqlite3.h>

namespace tb::sqlite {

template <class H>
sqlite3_file* underlying(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<H*>(f) + 1);
}

// Version 3 io_methods that pass every call through; a shim replaces the ones it changes.
template <class H>
constexpr sqlite3_io_methods forwarding_methods() {
  return {
      3,
      [](sqlite3_file* f) { return underlying<H>(f)->pMethods->xClose(underlying<H>(f)); },
      [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
        return underlying<H>(f)->pMethods->xRead(underlying<H>(f), buf, n, off);
      },
      [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
        return underlying<H>(f)->pMethods->xWrite(underlying<H>(f), buf, n, off);
      },
      [](sqlite3_file* f, sqlite3_int64 size) { return underlying<H>(f)->pMethods->xTruncate(underlying<H>(f), size); },
      [](sqlite3_file* f, int flags) { return underlying<H>(f)->pMethods->xSync(underlying<H>(f), flags); },
      [](sqlite3_file* f, sqlite3_int64* size) { return underlying<H>(f)->pMethods->xFileSize(underlying<H>(f), size); },
      [](sqlite3_file* f, int lock) { return underlying<H>(f)->pMethods->xLock(underlying<H>(f), lock); },
      [](sqlite3_file* f, int lock) { return underlying<H>(f)->pMethods->xUnlock(underlying<H>(f), lock); },
      [](sqlite3_file* f, int* out) { return underlying<H>(f)->pMethods->xCheckReservedLock(underlying<H>(f), out); },
      [](sqlite3_file* f, int op, void* arg) { return underlying<H>(f)->pMethods->xFileControl(underlying<H>(f), op, arg); },
      [](sqlite3_file* f) { return underlying<H>(f)->pMethods->xSectorSize(underlying<H>(f)); },
      [](sqlite3_file* f) { return underlying<H>(f)->pMethods->xDeviceCharacteristics(underlying<H>(f)); },
      [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
        return underlying<H>(f)->pMethods->xShmMap(underlying<H>(f), page, size, extend, out);
      },
      [](sqlite3_file* f, int offset, int n, int flags) {
        return underlying<H>(f)->pMethods->xShmLock(underlying<H>(f), offset, n, flags);
      },
      [](sqlite3_file* f) { underlying<H>(f)->pMethods->xShmBarrier(underlying<H>(f)); },
      [](sqlite3_file* f, int remove) { return underlying<H>(f)->pMethods->xShmUnmap(underlying<H>(f), remove); },
      [](sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
        return underlying<H>(f)->pMethods->xFetch(underlying<H>(f), off, n, out);
      },
      [](sqlite3_file* f, sqlite3_int64 off, void* p) { return underlying<H>(f)->pMethods->xUnfetch(underlying<H>(f), off, p); },
  };
}

}  // namespace tb::sqlite
