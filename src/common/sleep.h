// A sleep that a thread's stop request cuts short, for the periodic loops of std::jthreads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace alluvium {

// Sleeps for `duration`, or until `stop` is requested. Returns false if it was.
template <class Rep, class Period>
bool SleepUnlessStopped(std::stop_token stop, std::chrono::duration<Rep, Period> duration) {
  std::mutex mu;  // the condition variable needs one; nothing else is waited for
  std::condition_variable_any wake;
  std::unique_lock lock(mu);
  wake.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace alluvium
