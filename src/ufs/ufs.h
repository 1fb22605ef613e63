// The under file system (UFS) interface: where cached data really lives. One implementation per
// kind of storage (local directory, S3). Implementations are safe for concurrent use by many
// threads; a FileReader or ListIterator is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace alluvium::ufs {

struct FileStatus {
  std::string uri;  // full URI, e.g. "file:///data/a.bin" or "s3://bucket/dir/a.bin"; no
                    // trailing '/' except for a root ("file:///", "s3://bucket/")
  bool is_directory = false;
  uint64_t length = 0;   // bytes; 0 for directories
  int64_t mtime_ms = 0;  // last modification, ms since the epoch
  // Identifies the content: changes whenever the bytes may have changed. Local files use
  // "<mtime_ns>-<size>-<inode>"; S3 uses the ETag. Empty for directories.
  std::string version;

  friend bool operator==(const FileStatus&, const FileStatus&) = default;
};

struct ListOptions {
  bool recursive = false;
  // Resume point: only entries whose URI sorts strictly after this are returned. Empty: from the
  // start. Lets a restarted load continue where it stopped without re-listing everything.
  // The URI of a directory, as FileStatus spells it (no '/'), resumes at that directory's place
  // in the order below, i.e. with its entries next.
  std::string start_after;
};

// Yields the entries below a directory (never the directory itself) in ascending byte order of
// their URI, where a directory's children follow it immediately (as S3 lists keys). Memory stays
// bounded by one directory's entries, never by the whole tree.
// Precisely, the sort key is the URI with '/' appended for a directory (S3's "a/" marker), so
// "a-b" and "a.txt" come before directory "a", and "a0" after everything under "a/".
class ListIterator {
 public:
  virtual ~ListIterator() = default;
  // The next entry, std::nullopt at the end, or an error (the iterator is then unusable).
  virtual Result<std::optional<FileStatus>> Next() = 0;
};

class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads up to out.size() bytes at offset. Returns the count read: less than asked only at the
  // end of the file (0 at or past the end), never an error for a read past EOF.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) = 0;

  // The same read without a copy where the reader already buffers the bytes (an object store's
  // read-ahead block): a view of up to `length` bytes at `offset`, valid until the next call on
  // this reader. Others read into `scratch` and return a view of it.
  virtual Result<std::span<const std::byte>> ReadView(uint64_t offset, size_t length,
                                                      std::vector<std::byte>& scratch) {
    if (scratch.size() < length) scratch.resize(length);
    ALLUVIUM_ASSIGN_OR_RETURN(size_t got, ReadAt(offset, std::span(scratch.data(), length)));
    return std::span<const std::byte>(scratch.data(), got);
  }
};

struct OpenOptions {
  // The version the caller read from a listing or stat. Non-empty: opening (or, for an object
  // store, any read) fails with kAborted once the file is no longer that version, so the pages
  // of one version never hold bytes of another.
  std::string expected_version;
  // Reads will be sequential up to this offset (a load reading a segment page by page), so an
  // object store may fetch ahead in large blocks. 0: fetch only what each read asks for.
  uint64_t sequential_until = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The URI scheme this file system serves: "file", "s3".
  virtual std::string_view scheme() const = 0;

  // kNotFound when nothing is at `uri`.
  virtual Result<FileStatus> GetStatus(std::string_view uri) = 0;

  // Lists a directory. kNotFound if it does not exist; kFailedPrecondition if it is a file.
  virtual Result<std::unique_ptr<ListIterator>> List(std::string_view uri,
                                                     const ListOptions& options) = 0;

  // Opens a file for ranged reads. kNotFound if missing; kInvalidArgument for a directory;
  // kAborted if it is not options.expected_version.
  virtual Result<std::unique_ptr<FileReader>> Open(std::string_view uri,
                                                   const OpenOptions& options) = 0;
  Result<std::unique_ptr<FileReader>> Open(std::string_view uri) { return Open(uri, {}); }
};

// Splits "scheme://authority/path" into its parts; a plain absolute path "/x" is read as
// "file:///x". kInvalidArgument for anything else (relative paths, unknown forms).
struct Uri {
  std::string scheme;     // "file", "s3"
  std::string authority;  // bucket for s3, empty for file
  std::string path;       // absolute, normalised, starts with '/'
  // The text ended in '/' below the root ("s3://b/logs/"). Normalisation drops the slash from
  // `path`, but to S3 "logs/" (a prefix) and "logs" (a key) differ, so callers may need to know.
  bool trailing_slash = false;

  std::string ToString() const;  // scheme://authority/path, plus '/' if trailing_slash
  // "scheme://authority": what one FileSystem serves ("s3://bucket", "file://").
  std::string Root() const { return scheme + "://" + authority; }
  static Result<Uri> Parse(std::string_view text);

  friend bool operator==(const Uri&, const Uri&) = default;
};

}  // namespace alluvium::ufs
