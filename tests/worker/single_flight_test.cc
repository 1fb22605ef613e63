#include "worker/single_flight.h"

#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/eventually.h"

namespace alluvium::worker {
namespace {

using ::alluvium::testing::Eventually;
using namespace std::chrono_literals;

TEST(SingleFlightTest, ConcurrentCallsForOneKeyRunWorkOnceAndShareItsValue) {
  constexpr int kThreads = 8;
  SingleFlight<int, std::string> flight;
  std::atomic<int> runs{0};
  std::atomic<int> calling{0};  // threads about to call Do
  std::latch start(kThreads);
  std::vector<std::string> results(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        calling.fetch_add(1);
        results[t] = flight.Do(7, [&] {
          runs.fetch_add(1);
          // Only the leader gets here: hold the call open until every other thread has at least
          // reached Do, then give them a moment to block on it.
          EXPECT_TRUE(Eventually([&] { return calling.load() == kThreads; }, 10s));
          std::this_thread::sleep_for(100ms);
          return "from thread " + std::to_string(t);
        });
      });
    }
  }
  EXPECT_EQ(runs.load(), 1);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(results[t], results[0]) << "thread " << t;
  }
  EXPECT_TRUE(results[0].starts_with("from thread ")) << results[0];
}

TEST(SingleFlightTest, DifferentKeysRunIndependently) {
  SingleFlight<int, int> flight;
  std::atomic<bool> first_running{false};
  std::atomic<bool> second_done{false};
  int first_result = 0;
  std::jthread first([&] {
    first_result = flight.Do(1, [&] {
      first_running = true;
      // Completes only once key 2 has run to completion while key 1 is still in flight.
      return Eventually([&] { return second_done.load(); }, 10s) ? 1 : -1;
    });
  });
  ASSERT_TRUE(Eventually([&] { return first_running.load(); }, 10s));

  int second_runs = 0;
  EXPECT_EQ(flight.Do(2,
                      [&] {
                        ++second_runs;
                        return 2;
                      }),
            2);
  EXPECT_EQ(second_runs, 1);
  second_done = true;
  first.join();
  EXPECT_EQ(first_result, 1);
}

TEST(SingleFlightTest, CallAfterCompletionRunsWorkAgain) {
  SingleFlight<int, int> flight;
  int runs = 0;
  EXPECT_EQ(flight.Do(1, [&] { return ++runs; }), 1);
  EXPECT_EQ(flight.Do(1, [&] { return ++runs; }), 2);
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace alluvium::worker
