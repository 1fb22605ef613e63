// What a load job walks: every file below a UFS path (resumable after a given URI), or the paths
// listed in an index file, one per line. Streams: memory is bounded by one directory's entries
// (local) or one listing page (S3), never the whole dataset. Used by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include "common/status.h"
#include "ufs/ufs.h"

namespace alluvium::coordinator {

class EntrySource {
 public:
  virtual ~EntrySource() = default;
  // The next file (directories are not returned), std::nullopt at the end.
  virtual Result<std::optional<ufs::FileStatus>> Next() = 0;
};

// Resolves a path or URI of an index-file line to its UFS URI (through the mount table).
using UriResolver = std::function<Result<std::string>(std::string_view path_or_uri)>;
// Opens the file system serving a URI.
using FileSystemOpener = std::function<Result<std::shared_ptr<ufs::FileSystem>>(std::string_view)>;

// Every file at or below `uri` whose URI sorts after `start_after` and matches `filter` (when
// set). A file URI yields just that file. `root`, when given, is `uri`'s status as the caller
// has just read it: not asked again (on an object store a stat of a prefix is two requests).
Result<std::unique_ptr<EntrySource>> OpenTreeSource(std::shared_ptr<ufs::FileSystem> fs,
                                                    const std::string& uri,
                                                    const std::string& start_after,
                                                    std::optional<std::regex> filter,
                                                    std::optional<ufs::FileStatus> root = {});

// The files named by an index file (blank lines and '#' comments skipped; a directory line loads
// everything below it). A line that names nothing yields a status with an empty version and
// the resolution error in `errors` so the job can count it as a failed file.
Result<std::unique_ptr<EntrySource>> OpenIndexSource(
    FileSystemOpener open, UriResolver resolve, const std::string& index_uri,
    std::optional<std::regex> filter,
    std::function<void(const std::string& line, const Status& error)> on_bad_line);

}  // namespace alluvium::coordinator
