// Time stamps and event ids.
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <cstdio>
#include <ctime>

#include "core/ports.hpp"

namespace tb {

clock& system_time() {
  static system_clock c;
  return c;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string new_event_id(std::chrono::system_clock::time_point now) {
  // A version 7 UUID: 48 bits of Unix milliseconds, then random bits. Ids made in order sort in
  // order, so the stores' indexes on them grow at one end instead of dirtying random pages.
  // One seeded generator per thread: no lock, and no getrandom() system call per id (which
  // boost::uuids::random_generator makes).
  thread_local boost::uuids::random_generator_mt19937 generate;
  boost::uuids::uuid id = generate();
  auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  for (int i = 5; i >= 0; --i, ms >>= 8) id.data[i] = static_cast<std::uint8_t>(ms & 0xff);
  id.data[6] = static_cast<std::uint8_t>((id.data[6] & 0x0f) | 0x70);  // version 7; variant stays
  return boost::uuids::to_string(id);
}

}  // namespace tb
