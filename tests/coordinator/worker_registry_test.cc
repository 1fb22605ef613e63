#include "coordinator/membership/worker_registry.h"

#include <gtest/gtest.h>

namespace alluvium::coordinator {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  WorkerRegistry::Clock fn() {
    return [this] { return now; };
  }
};

TEST(WorkerRegistryTest, WorkersJoinHeartbeatAndAreLostAfterTheTimeout) {
  FakeClock clock;
  WorkerRegistry registry(10s, clock.fn());
  registry.Register("w1", "127.0.0.1:1", {});
  registry.Register("w2", "127.0.0.1:2", {});
  EXPECT_EQ(registry.LiveIds(), (std::vector<std::string>{"w1", "w2"}));

  clock.now += 6s;
  EXPECT_TRUE(registry.Heartbeat("w1", {}));
  clock.now += 6s;  // w2 silent for 12 s
  EXPECT_EQ(registry.LiveIds(), (std::vector<std::string>{"w1"}));
  auto snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_FALSE(snapshot[1].live);
}

TEST(WorkerRegistryTest, SweepNoticesEveryWorkerGoneSilentAtOnce) {
  FakeClock clock;
  WorkerRegistry registry(1s, clock.fn());
  std::vector<std::string> lost;
  registry.SetListener([&](const WorkerRecord& w, bool joined) {
    if (!joined) lost.push_back(w.id);
  });
  registry.Register("w1", "a:1", {});
  registry.Register("w2", "a:2", {});
  clock.now += 2s;  // no heartbeat from anyone, no lookup
  EXPECT_TRUE(lost.empty());
  registry.Sweep();
  EXPECT_EQ(lost, (std::vector<std::string>{"w1", "w2"}));
}

TEST(WorkerRegistryTest, ALostWorkerThatHeartbeatsIsLiveAgain) {
  FakeClock clock;
  WorkerRegistry registry(1s, clock.fn());
  registry.Register("w1", "a:1", {});
  const uint64_t joined = registry.version();
  clock.now += 2s;
  EXPECT_TRUE(registry.LiveIds().empty());
  EXPECT_GT(registry.version(), joined);
  EXPECT_TRUE(registry.Heartbeat("w1", {}));
  EXPECT_EQ(registry.LiveIds(), (std::vector<std::string>{"w1"}));
}

TEST(WorkerRegistryTest, RestoredWorkersAreMembersAtOnceAndLostIfSilent) {
  FakeClock clock;
  WorkerRegistry registry(10s, clock.fn());
  registry.Restore({{"w1", "127.0.0.1:1"}, {"w2", "127.0.0.1:2"}});
  // The ring a restarted coordinator hands out is the one it had before.
  EXPECT_EQ(registry.LiveIds(), (std::vector<std::string>{"w1", "w2"}));
  EXPECT_TRUE(registry.Settled());
  EXPECT_TRUE(registry.Heartbeat("w1", {})) << "a restored worker need not register again";
  clock.now += 11s;  // w2 never came back
  EXPECT_TRUE(registry.Heartbeat("w1", {}));
  EXPECT_EQ(registry.LiveIds(), (std::vector<std::string>{"w1"}));
  EXPECT_TRUE(registry.Settled());
}

TEST(WorkerRegistryTest, UnknownWorkersAreToldToRegister) {
  WorkerRegistry registry(1s);
  EXPECT_FALSE(registry.Heartbeat("stranger", {}));
}

TEST(WorkerRegistryTest, RejoiningWithANewAddressUpdatesIt) {
  FakeClock clock;
  WorkerRegistry registry(10s, clock.fn());
  registry.Register("w1", "a:1", {});
  const uint64_t before = registry.version();
  registry.Register("w1", "a:2", {.capacity_bytes = 5});
  EXPECT_GT(registry.version(), before);
  auto snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].address, "a:2");
  EXPECT_EQ(snapshot[0].stats.capacity_bytes, 5u);
}

}  // namespace
}  // namespace alluvium::coordinator
