// The invocation budget: attempts cut to what remains, unbounded when there is none, and the
// Runtime API's epoch milliseconds turned into a steady instant.
#include "core/deadline.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

TEST(Deadline, UnboundedLeavesEveryAttemptItsOwnLimit) {
  const deadline none;
  const auto now = steady::now();
  EXPECT_FALSE(none.bounded());
  EXPECT_FALSE(none.passed(now));
  EXPECT_EQ(none.attempt_timeout(2000ms, now), 2000ms);
}

TEST(Deadline, AnAttemptNeverRunsPastIt) {
  const auto now = steady::now();
  const deadline d{now + 1500ms};
  EXPECT_TRUE(d.bounded());
  EXPECT_EQ(d.attempt_timeout(2000ms, now), 1500ms);
  EXPECT_EQ(d.attempt_timeout(1000ms, now), 1000ms);
  EXPECT_EQ(d.attempt_timeout(2000ms, now + 1400ms), 100ms);
  EXPECT_FALSE(d.passed(now + 1499ms));
  EXPECT_TRUE(d.passed(now + 1500ms));
  EXPECT_EQ(d.attempt_timeout(2000ms, now + 5s), 0ms)
      << "a passed deadline leaves no time, not a negative one";
}

TEST(Deadline, EpochMillisecondsBecomeAsFarOnTheSteadyClock) {
  const auto sys = std::chrono::system_clock::time_point(1700000000000ms);
  const auto now = steady::now();
  const deadline d = deadline::from_epoch_ms(1700000003250, sys, now);
  EXPECT_EQ(d.remaining(now), 3250ms);
  const deadline past = deadline::from_epoch_ms(1699999999000, sys, now);
  EXPECT_TRUE(past.passed(now));
  EXPECT_EQ(past.remaining(now), 0ms);
}

}  // namespace
}  // namespace tb
