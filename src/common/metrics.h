// Process-wide counters and gauges, rendered in the Prometheus text format. Names follow
// alluvium_<component>_<what>_<unit>; counters end in _total. Define a metric beside the code
// that updates it and list it in docs/metrics.md. Safe for concurrent use; updates are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace alluvium::metrics {

class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Registers (or finds, when the name is already known) a metric. The reference stays valid for
// the life of the process.
Counter& NewCounter(std::string_view name, std::string_view help);
Gauge& NewGauge(std::string_view name, std::string_view help);

// Every registered metric, sorted by name, as Prometheus text exposition.
std::string RenderPrometheus();

// The current value of a metric by name, or -1 if unknown (for tests and `cluster metrics`).
int64_t ValueOf(std::string_view name);

}  // namespace alluvium::metrics
