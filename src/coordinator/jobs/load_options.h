// The options of one load job, as the REST API and CLI accept them (Alluxio's names), and their
// JSON form for the job store. Pure value code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace alluvium::coordinator {

struct LoadOptions {
  uint32_t replicas = 1;              // each segment is loaded on this many distinct workers
  uint32_t batch_size = 200;          // files (segments) per worker task
  bool partial_listing = false;       // load while listing; no up-front count, no "out of" total
  bool metadata_only = false;         // cache file statuses only
  bool skip_if_exists = false;        // files already fully cached are counted and skipped
  std::optional<uint64_t> bandwidth;  // aggregate UFS read limit of the job, bytes/s
  bool verify = false;            // after loading, check every file is cached; reload what is not
  std::string file_filter_regex;  // "fileFilterRegx": only paths matching this ECMAScript regex
  // "allowEviction": the job's pages are ordinary LRU pages while it runs, so a job larger than
  // the cache evicts its own earlier pages, and a submit that does not fit is not refused.
  // Without it, a job pins what it caches until it ends and fails what does not fit.
  bool allow_eviction = false;
  // "dryRun": size the job (files, bytes per worker against capacity, duration) and start
  // nothing. Never stored: a dry run makes no job.
  bool dry_run = false;

  // kInvalidArgument naming the option: replicas 0 or above 16, batchSize 0 or above 100000,
  // bandwidth 0, an invalid regex or one longer than 1024 bytes.
  Status Validate() const;

  friend bool operator==(const LoadOptions&, const LoadOptions&) = default;
};

// Parses the "options" object of submit_job/load. Each value may be a JSON string ("2",
// "true", "10MB") as in Alluxio's examples, or a native number/boolean. An unknown option, a
// value of the wrong type or out of range is kInvalidArgument with a message naming it.
// `bandwidth` accepts sizes ("10MB", 1048576) per second. Booleans are true/false (strings in any
// case); numbers are whole (2 or "2", not 2.0). A null value is an absent option, and a null
// `options` gives all defaults.
Result<LoadOptions> ParseLoadOptions(const nlohmann::json& options);

// The stored form (native JSON types); ParseLoadOptions reads it back.
nlohmann::json LoadOptionsToJson(const LoadOptions& options);

}  // namespace alluvium::coordinator
