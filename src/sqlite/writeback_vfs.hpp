// A SQLite VFS for the checkpointer's connection: each page a checkpoint copies into the database
// file is queued for the disk as it is written (sync_file_range), as PostgreSQL's
// checkpoint_flush_after does in larger steps. Left to the checkpoint's final fsync, tens of MB
// reach the disk at once and the writer's WAL fsyncs, which acknowledge requests, wait behind
// them: PATCH price p99 under load 23-71 ms without, 8-10 ms with (A/B runs, same throughput).
#pragma once

#include <cstdint>

namespace tb::sqlite {

// Its name for sqlite3_open_v2, registered (not as the default) on the first call. It delegates
// everything to the "unix" VFS; only a main database file's writes add a writeback.
const char* writeback_vfs();

// How many writebacks it has started, in this process: for tests.
std::uint64_t writebacks_started();

}  // namespace tb::sqlite
