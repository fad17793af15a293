// The schema, created when missing, and the migrations of databases earlier versions made.
#include "sqlite/schema.hpp"

namespace tb::sqlite {
namespace {

constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS tickets (
    seat  TEXT PRIMARY KEY,
    item  TEXT NOT NULL,   -- canonical JSON
    movie TEXT             -- Movie when it is a non-empty string, for GET /movies
  ) WITHOUT ROWID;
  -- GET /movies reads this summary: a ticket write touches one of its few rows, where an index
  -- on tickets(movie) dirtied a page per movie in every batch.
  CREATE TABLE IF NOT EXISTS movie_counts (
    movie   TEXT PRIMARY KEY,
    tickets INTEGER NOT NULL
  ) WITHOUT ROWID;
  DROP INDEX IF EXISTS tickets_by_movie;
  INSERT INTO movie_counts (movie, tickets)
    SELECT movie, count(*) FROM tickets
    WHERE movie IS NOT NULL AND NOT EXISTS (SELECT 1 FROM movie_counts) GROUP BY movie;
  -- Events are never deleted, so the rowid alone only grows: AUTOINCREMENT (kept by databases
  -- made before this) would add a sqlite_sequence write to every event.
  CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    seat            TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    reason          TEXT
  );
  CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE status = 'pending';
)sql";

// Databases of earlier versions. Some handled a price change in the transaction after its own,
// its event claimed in local_claims until then: a crash between the two left the claim, which
// goes to the dispatcher. handled_events remembered handled eventIds: the ticket itself tells now
// (decide_price_change), so it goes.
constexpr const char* migrations = R"sql(
  BEGIN IMMEDIATE;
  CREATE TABLE IF NOT EXISTS local_claims (seq INTEGER PRIMARY KEY);
  UPDATE events SET status = 'pending' WHERE seq IN (SELECT seq FROM local_claims);
  DROP TABLE local_claims;
  DROP TABLE IF EXISTS handled_events;
  COMMIT;
)sql";

}  // namespace

void configure(connection& c) {
  c.exec("PRAGMA journal_mode = WAL");
  // FULL: every commit is on disk before it is acknowledged; batching keeps that affordable.
  c.exec("PRAGMA synchronous = FULL");
}

void prepare_database(const std::string& path) {
  connection c(path);
  configure(c);
  c.exec(schema);
  // Only when there is something to migrate: a migration writes, which every other connection
  // would see as a change (the item cache's resync, statements prepared again).
  statement earlier(c, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name IN ('local_claims', 'handled_events')");
  if (earlier.step()) {
    earlier.reset();
    c.exec(migrations);
  }
}

}  // namespace tb::sqlite
