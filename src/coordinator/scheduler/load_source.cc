#include "coordinator/scheduler/load_source.h"

#include <algorithm>

#include "coordinator/scheduler/listing_prefetcher.h"

namespace alluvium::coordinator {

Result<std::unique_ptr<EntrySource>> OpenLoadSource(const LoadSourceSpec& spec,
                                                    const std::string& start_after,
                                                    std::optional<ufs::FileStatus> target) {
  if (!spec.index_file) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto fs, spec.open_fs(spec.target_uri));
    return OpenTreeSource(fs, spec.target_uri, start_after, spec.filter, std::move(target));
  }
  return OpenIndexSource(
      spec.open_fs, spec.resolve, spec.target_uri, spec.filter,
      [on_bad_line = spec.on_bad_line](const std::string& line, const Status& error) {
        if (on_bad_line) on_bad_line(line, error);
      });
}

Result<std::unique_ptr<EntrySource>> OpenPrefetchedLoadSource(const LoadSourceSpec& spec,
                                                              const std::string& cursor,
                                                              std::optional<ufs::FileStatus> target,
                                                              LoadListingAhead ahead) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, OpenLoadSource(spec, cursor, std::move(target)));
  ListingPrefetcher::Options o;
  if (ahead.partial_listing) {
    o.capacity = std::min<size_t>(ahead.entries, 10'000);
  } else {
    o.capacity = ahead.entries;
    o.on_listed = [on_sized = std::move(ahead.on_sized)](uint64_t /*files*/, uint64_t bytes) {
      if (on_sized) on_sized(bytes);
    };
    // A listing that outgrows the prefetcher is counted past it by a second listing; an index
    // file cannot be reopened part way.
    if (!spec.index_file) {
      o.reopen_after = [spec](const std::string& after) { return OpenLoadSource(spec, after); };
    }
  }
  return std::unique_ptr<EntrySource>(
      std::make_unique<ListingPrefetcher>(std::move(source), std::move(o)));
}

}  // namespace alluvium::coordinator
