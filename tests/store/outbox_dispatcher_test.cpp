// The outbox dispatcher over a real SQLite store. The publisher is scripted (it stands in for
// whoever consumes the events), so each failure mode can be driven exactly.
#include "sqlite/outbox_dispatcher.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "store/store_test_util.hpp"

namespace tb::test {
namespace {

class scripted_publisher final : public event_publisher {
 public:
  // Per event id: the failures to return before succeeding (an empty script means succeed).
  std::map<std::string, std::vector<error>> script;
  std::vector<std::string> published;  // every attempt, in order

  void publish(std::string_view, const std::string& event_id, completion<void> done) override {
    std::unique_lock lock(mutex_);
    published.push_back(event_id);
    auto& failures = script[event_id];
    if (failures.empty()) {
      lock.unlock();
      return done(ok);
    }
    error e = failures.front();
    failures.erase(failures.begin());
    lock.unlock();
    done(e);
  }

 private:
  std::mutex mutex_;
};

// A clock that moves only when told.
class manual_clock final : public clock {
 public:
  std::chrono::system_clock::time_point t{std::chrono::seconds(1'800'000'000)};
  std::chrono::system_clock::time_point now() override { return t; }
};

class OutboxDispatcher : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("tb-bus-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<sqlite::sqlite_store>(sqlite::sqlite_store::options{(dir_ / "t.db").string()});
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Records a PriceChangeInitiated for `seat` with the given event id.
  void price_change(const std::string& seat, const std::string& id, const char* price) {
    auto existing = store_->get(seat);
    ASSERT_TRUE(existing);
    if (!*existing) {
      auto created = wait_for<void>([&](auto done) {
        store_->create(obj(R"({"Theatre-Seat":")" + seat + R"(","Movie":"M","Price":10})"), done);
      });
      ASSERT_TRUE(created);
    }
    update_command cmd;
    cmd.update.seat = seat;
    cmd.update.key = "Price";
    cmd.update.value = *decimal::parse(price);
    cmd.update.is_price_change = true;
    cmd.now = "t";
    cmd.event_id = id;
    ASSERT_TRUE(wait_for<update_outcome>([&](auto done) { store_->update(std::move(cmd), done); }));
  }

  std::map<std::string, logged_event> log_by_id() {
    std::map<std::string, logged_event> out;
    auto events = store_->events_after(0, 1000);
    EXPECT_TRUE(events);
    if (!events) return out;
    for (auto& e : *events) {
      auto id = *std::get<json::value>(json::parse(e.event_json)).if_object()->find("eventId")->if_string();
      out[id] = e;
    }
    return out;
  }

  // Runs passes until nothing is pending or the deadline passes.
  void drain(sqlite::outbox_dispatcher& bus) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto pending = [&] {
      auto p = store_->pending_events(1);
      return !p || !p->empty();
    };
    while (pending() && std::chrono::steady_clock::now() < deadline) {
      bus.run_once();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  static sqlite::outbox_dispatcher::options fast() {
    sqlite::outbox_dispatcher::options o;
    o.max_attempts = 3;
    o.first_backoff = std::chrono::milliseconds(1);
    return o;
  }

  std::filesystem::path dir_;
  std::unique_ptr<sqlite::sqlite_store> store_;
};

TEST_F(OutboxDispatcher, TransientFailuresAreRetriedUntilDelivered) {
  scripted_publisher pub;
  pub.script["e1"] = {error{errc::unavailable, "down"}, error{errc::unavailable, "still down"}};
  price_change("s", "e1", "8");
  sqlite::outbox_dispatcher bus(*store_, pub, fast());
  drain(bus);
  EXPECT_EQ(pub.published, (std::vector<std::string>{"e1", "e1", "e1"}));
  EXPECT_EQ(log_by_id()["e1"].status, "delivered");
}

// A retry's time is the clock's (the port's), stored as such: on a clock that stands still the
// failed event is not due again, however long the test takes; once it passes the backoff, it is.
TEST_F(OutboxDispatcher, ARetryIsDueByTheClockItWasScheduledOn) {
  scripted_publisher pub;
  pub.script["e1"] = {error{errc::unavailable, "down"}};
  price_change("s", "e1", "8");
  manual_clock c;
  auto o = fast();
  o.first_backoff = std::chrono::milliseconds(500);
  o.clock = &c;
  sqlite::outbox_dispatcher bus(*store_, pub, o);
  EXPECT_EQ(bus.run_once(), 1u);  // tried, failed
  auto pending = store_->pending_events(1);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].next_attempt_ms, 1'800'000'000'000 + 500);
  EXPECT_EQ(bus.run_once(), 0u);
  c.t += std::chrono::milliseconds(499);
  EXPECT_EQ(bus.run_once(), 0u);
  c.t += std::chrono::milliseconds(1);
  EXPECT_EQ(bus.run_once(), 1u);
  EXPECT_EQ(pub.published, (std::vector<std::string>{"e1", "e1"}));
  EXPECT_EQ(log_by_id()["e1"].status, "delivered");
}

TEST_F(OutboxDispatcher, AfterTheLastTryTheEventIsParkedDeadWithItsReason) {
  scripted_publisher pub;
  pub.script["e1"] = std::vector<error>(5, error{errc::unavailable, "topic unreachable"});
  price_change("s", "e1", "8");
  sqlite::outbox_dispatcher bus(*store_, pub, fast());
  drain(bus);
  EXPECT_EQ(pub.published.size(), 3u);  // max_attempts
  auto e = log_by_id()["e1"];
  EXPECT_EQ(e.status, "dead");
  EXPECT_EQ(e.reason, "topic unreachable");
}

TEST_F(OutboxDispatcher, AMalformedEventIsParkedAtOnce) {
  scripted_publisher pub;
  pub.script["e1"] = {bad_request("newPrice must be a non-negative number")};
  price_change("s", "e1", "8");
  sqlite::outbox_dispatcher bus(*store_, pub, fast());
  drain(bus);
  EXPECT_EQ(pub.published.size(), 1u);
  EXPECT_EQ(log_by_id()["e1"].status, "dead");
  EXPECT_EQ(log_by_id()["e1"].reason, "newPrice must be a non-negative number");
}

TEST_F(OutboxDispatcher, ALaterEventOfTheSameTicketWaitsForTheEarlierOne) {
  scripted_publisher pub;
  pub.script["a1"] = {error{errc::unavailable, "down"}};
  price_change("a", "a1", "8");
  price_change("a", "a2", "7");
  price_change("b", "b1", "6");  // another ticket is not held up
  sqlite::outbox_dispatcher bus(*store_, pub, fast());
  drain(bus);
  std::vector<std::string> order_a;
  for (auto& id : pub.published)
    if (id[0] == 'a') order_a.push_back(id);
  EXPECT_EQ(order_a, (std::vector<std::string>{"a1", "a1", "a2"}));
  EXPECT_EQ(pub.published[0], "a1");
  EXPECT_EQ(pub.published[1], "b1");  // in the same first pass as a1, a2 held back
  for (auto& [id, e] : log_by_id()) EXPECT_EQ(e.status, "delivered") << id;
}

// A round reads only after the last event it could dispatch: one held back by its ticket's earlier
// event must still be read by a later round.
TEST_F(OutboxDispatcher, AnEventHeldBackByItsTicketIsDeliveredByALaterRound) {
  scripted_publisher pub;
  price_change("a", "a1", "8");
  price_change("a", "a2", "7");
  price_change("b", "b1", "6");  // dispatched in the first round, after a2 was held back
  sqlite::outbox_dispatcher bus(*store_, pub, fast());
  drain(bus);
  EXPECT_EQ(pub.published, (std::vector<std::string>{"a1", "b1", "a2"}));
  for (auto& [id, e] : log_by_id()) EXPECT_EQ(e.status, "delivered") << id;
}

}  // namespace
}  // namespace tb::test
