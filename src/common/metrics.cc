#include "common/metrics.h"

#include <map>
#include <memory>
#include <mutex>
#include <variant>

#include <fmt/format.h>

namespace alluvium::metrics {
namespace {

struct Entry {
  std::string help;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>> metric;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> entries;  // guarded by mu
};

Registry& GlobalRegistry() {
  static Registry* registry = [] {
    static Registry r;  // never destroyed before metrics users: function-local static
    return &r;
  }();
  return *registry;
}

template <typename T>
T& Register(std::string_view name, std::string_view help) {
  Registry& r = GlobalRegistry();
  std::lock_guard lock(r.mu);
  auto it = r.entries.find(name);
  if (it == r.entries.end()) {
    it =
        r.entries.emplace(std::string(name), Entry{std::string(help), std::make_unique<T>()}).first;
  }
  auto* held = std::get_if<std::unique_ptr<T>>(&it->second.metric);
  if (held == nullptr) std::abort();  // one name registered as two kinds: our bug
  return **held;
}

}  // namespace

Counter& NewCounter(std::string_view name, std::string_view help) {
  return Register<Counter>(name, help);
}

Gauge& NewGauge(std::string_view name, std::string_view help) {
  return Register<Gauge>(name, help);
}

std::string RenderPrometheus() {
  Registry& r = GlobalRegistry();
  std::lock_guard lock(r.mu);
  std::string out;
  for (const auto& [name, entry] : r.entries) {
    const bool is_counter = std::holds_alternative<std::unique_ptr<Counter>>(entry.metric);
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, entry.help, name,
                       is_counter ? "counter" : "gauge");
    if (is_counter) {
      out += fmt::format("{} {}\n", name, std::get<0>(entry.metric)->value());
    } else {
      out += fmt::format("{} {}\n", name, std::get<1>(entry.metric)->value());
    }
  }
  return out;
}

int64_t ValueOf(std::string_view name) {
  Registry& r = GlobalRegistry();
  std::lock_guard lock(r.mu);
  auto it = r.entries.find(name);
  if (it == r.entries.end()) return -1;
  if (auto* c = std::get_if<std::unique_ptr<Counter>>(&it->second.metric)) {
    return static_cast<int64_t>((*c)->value());
  }
  return std::get<1>(it->second.metric)->value();
}

}  // namespace alluvium::metrics
