#include "worker/rate_limiter.h"

#include <chrono>
#include <stop_token>
#include <thread>

#include <gtest/gtest.h>

namespace alluvium::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(RateLimiterTest, ZeroRateNeverWaits) {
  RateLimiter limiter(0, 4096);
  std::stop_source never;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Acquire(uint64_t{1} << 30, never.get_token()));
}

TEST(RateLimiterTest, BurstPassesAtOnceThenTheRateHolds) {
  // 1 MiB/s, burst max(4 KiB, 100 KiB) = ~100 KiB: 300 KiB needs at least ~0.2 s.
  constexpr uint64_t kRate = 1 << 20;
  RateLimiter limiter(kRate, 4096);
  std::stop_source never;
  const auto start = Clock::now();
  for (int i = 0; i < 75; ++i) ASSERT_TRUE(limiter.Acquire(4096, never.get_token()));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(seconds, (300.0 * 1024 - kRate / 10.0) / kRate * 0.95);
}

TEST(RateLimiterTest, StopEndsAWait) {
  RateLimiter limiter(1024, 1024);  // 1 KiB/s: a 1 MiB request would wait ~17 minutes
  std::stop_source stop;
  ASSERT_TRUE(limiter.Acquire(1024, stop.get_token()));  // empties the bucket
  std::jthread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  EXPECT_FALSE(limiter.Acquire(1 << 20, stop.get_token()));
}

TEST(RateLimiterTest, SetRateToZeroLiftsTheLimit) {
  RateLimiter limiter(1024, 1024);
  std::stop_source never;
  ASSERT_TRUE(limiter.Acquire(1024, never.get_token()));
  limiter.SetRate(0);
  EXPECT_EQ(limiter.rate(), 0u);
  EXPECT_TRUE(
      limiter.Acquire(uint64_t{1} << 30, never.get_token()));  // would take a year at 1 KiB/s
}

TEST(RateLimiterRegistryTest, OneBucketPerJob) {
  RateLimiterRegistry registry(4096);
  auto a1 = registry.For("job-a", 1000);
  auto a2 = registry.For("job-a", 1000);
  auto b = registry.For("job-b", 1000);
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(RateLimiterRegistryTest, ALaterRequestUpdatesTheRate) {
  RateLimiterRegistry registry(4096);
  auto first = registry.For("job", 1000);
  auto second = registry.For("job", 5000);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first->rate(), 5000u);
  EXPECT_EQ(registry.For("job", 0), first);  // an existing bucket is lifted, not forgotten
  EXPECT_EQ(first->rate(), 0u);
}

TEST(RateLimiterRegistryTest, UnlimitedJobGetsNoBucket) {
  RateLimiterRegistry registry(4096);
  EXPECT_EQ(registry.For("job", 0), nullptr);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(RateLimiterRegistryTest, IdleBucketsAreDroppedButHeldOnesStay) {
  RateLimiterRegistry registry(4096, 0ms);
  auto held = registry.For("held", 1000);
  (void)registry.For("idle", 1000);
  (void)registry.For("other", 1000);  // sweeps: "idle" is held by nobody
  EXPECT_EQ(registry.size(), 2u);     // "held" and "other"
  EXPECT_EQ(registry.For("held", 1000), held);
}

}  // namespace
}  // namespace alluvium::worker
