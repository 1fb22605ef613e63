// Alluxio's cache filter policy: per UFS URI, whether cached metadata (a file's status) and cached
// data (its pages) are immutable, trusted for a maximum age, or not cached at all. Pure: parses
// the rules from JSON text and matches URIs; reading the file is cache_filter.h's job.
//
// The format (Alluxio's "RULE_SET" cache filter, apiVersion 1; docs/metadata.md):
//   {"apiVersion": 1,
//    "metadata": {"immutable": [REGEX, ...], "skipCache": [REGEX, ...],
//                 "maxAge": {REGEX: DURATION, ...}, "defaultType": "immutable"},
//    "data":     {...the same keys...}}
// A missing section or key means no rules of that kind; a missing defaultType is immutable.
// Regexes (ECMAScript syntax) must match the whole UFS URI, as Java's Pattern.matches does, e.g.
// ".*/tables/.*" or "s3://bucket/logs/.*". Durations are "10s", "5min", "2h" or milliseconds.
//
// Immutable once built, so safe for concurrent use.
#pragma once

#include <chrono>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace alluvium {

enum class CacheRuleType {
  kImmutable,  // cached once, never checked against the UFS again
  kMaxAge,     // a cached copy older than max_age is checked against the UFS first
  kSkipCache,  // never cached: every use asks the UFS
};

struct CacheRule {
  CacheRuleType type = CacheRuleType::kImmutable;
  std::chrono::milliseconds max_age{0};  // kMaxAge only

  friend bool operator==(const CacheRule&, const CacheRule&) = default;
};

std::string_view CacheRuleTypeName(CacheRuleType type);  // "immutable", "maxAge", "skipCache"

class CacheFilterPolicy {
 public:
  // The default, as Alluxio's template: metadata and data immutable once cached.
  CacheFilterPolicy() = default;

  // kInvalidArgument naming the field and the problem: not JSON, apiVersion other than 1,
  // an unknown key (a typo must not silently cache forever), a regex that does not compile,
  // a duration that does not parse, a defaultType other than immutable or skipCache.
  static Result<CacheFilterPolicy> Parse(std::string_view json_text);

  // The rule for `uri`: the first kind that has a matching regex, in the order skipCache,
  // maxAge (the shortest matching age), immutable; else the section's defaultType. The most
  // cautious rule wins, so a narrow skipCache carved out of a broad immutable rule works.
  CacheRule ForMetadata(std::string_view uri) const { return metadata_.Match(uri); }
  CacheRule ForData(std::string_view uri) const { return data_.Match(uri); }

 private:
  struct Section {
    std::vector<std::regex> skip_cache;
    std::vector<std::pair<std::regex, std::chrono::milliseconds>> max_age;
    std::vector<std::regex> immutable;
    CacheRuleType default_type = CacheRuleType::kImmutable;

    CacheRule Match(std::string_view uri) const;
  };

  Section metadata_;
  Section data_;
};

}  // namespace alluvium
