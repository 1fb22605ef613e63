// A mutex whose lock rules the compiler checks. Members a mutex protects are declared
// GUARDED_BY(mu_), functions that expect it held REQUIRES(mu_); clang's -Wthread-safety (on in
// every clang build, see CMakeLists.txt, so CI's fuzzing build checks it) then rejects an access
// without the lock. std::mutex cannot carry the annotations (libstdc++ has none), hence this thin
// wrapper; it costs nothing over std::mutex. Other compilers see plain code.
#pragma once

#include <mutex>

#if defined(__clang__)
#define ALLUVIUM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define ALLUVIUM_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) ALLUVIUM_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY ALLUVIUM_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) ALLUVIUM_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) ALLUVIUM_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) ALLUVIUM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) ALLUVIUM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) ALLUVIUM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) ALLUVIUM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) ALLUVIUM_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) ALLUVIUM_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS ALLUVIUM_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace alluvium {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds the lock where it cannot see it: in the predicate of a
  // condition variable's wait, which runs with the lock held.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope, like std::lock_guard.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// Holds `mu` for its scope and may let go of it for a while, like std::unique_lock: what
// std::condition_variable_any waits with (it calls unlock() and lock() around the wait).
class SCOPED_CAPABILITY UniqueMutexLock {
 public:
  explicit UniqueMutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~UniqueMutexLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  UniqueMutexLock(const UniqueMutexLock&) = delete;
  UniqueMutexLock& operator=(const UniqueMutexLock&) = delete;

  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

}  // namespace alluvium
