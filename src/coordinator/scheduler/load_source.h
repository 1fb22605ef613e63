// Where a load job's files come from: its target, a UFS tree or the paths an index file names,
// listed after a cursor; for the load itself read ahead by a ListingPrefetcher, which also sizes
// the dataset. Each source is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include "common/status.h"
#include "coordinator/scheduler/entry_source.h"

namespace alluvium::coordinator {

struct LoadSourceSpec {
  FileSystemOpener open_fs;
  UriResolver resolve;  // an index file's lines to UFS URIs
  std::string target_uri;
  bool index_file = false;
  std::optional<std::regex> filter;  // only files whose path matches
  // An index file's line that names nothing (may be empty: such lines are then just skipped).
  std::function<void(const std::string& line, const Status& error)> on_bad_line;
};

// The target's files after `start_after` (an index file always from its top). `target`: the
// target's status if the caller has just read it, so that the listing does not ask again.
Result<std::unique_ptr<EntrySource>> OpenLoadSource(const LoadSourceSpec& spec,
                                                    const std::string& start_after,
                                                    std::optional<ufs::FileStatus> target = {});

struct LoadListingAhead {
  // Alluxio's partial listing: list as the load goes, never far ahead, and size nothing.
  bool partial_listing = false;
  size_t entries = 100'000;  // listed entries held ahead of the load
  // Called once from the listing thread when the whole listing after the cursor has been read,
  // with the sum of its files' lengths; not with partial listing.
  std::function<void(uint64_t bytes)> on_sized;
};

// OpenLoadSource's listing from `cursor`, read ahead of its consumer on a thread of its own.
Result<std::unique_ptr<EntrySource>> OpenPrefetchedLoadSource(const LoadSourceSpec& spec,
                                                              const std::string& cursor,
                                                              std::optional<ufs::FileStatus> target,
                                                              LoadListingAhead ahead);

}  // namespace alluvium::coordinator
