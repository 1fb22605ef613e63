#include "coordinator/scheduler/entry_source.h"

#include <vector>

namespace alluvium::coordinator {
namespace {

bool Matches(const std::optional<std::regex>& filter, const std::string& uri) {
  return !filter || std::regex_search(uri, *filter);
}

class TreeSource final : public EntrySource {
 public:
  TreeSource(std::optional<ufs::FileStatus> single, std::unique_ptr<ufs::ListIterator> listing,
             std::optional<std::regex> filter)
      : single_(std::move(single)), listing_(std::move(listing)), filter_(std::move(filter)) {}

  Result<std::optional<ufs::FileStatus>> Next() override {
    if (single_) {
      std::optional<ufs::FileStatus> out = std::move(single_);
      single_.reset();
      if (out && Matches(filter_, out->uri)) return out;
      return std::optional<ufs::FileStatus>();
    }
    while (listing_) {
      ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, listing_->Next());
      if (!entry) break;
      if (entry->is_directory || !Matches(filter_, entry->uri)) continue;
      return entry;
    }
    return std::optional<ufs::FileStatus>();
  }

 private:
  std::optional<ufs::FileStatus> single_;
  std::unique_ptr<ufs::ListIterator> listing_;
  std::optional<std::regex> filter_;
};

// Reads the index file in chunks and yields one line at a time.
class LineReader {
 public:
  explicit LineReader(std::unique_ptr<ufs::FileReader> reader) : reader_(std::move(reader)) {}

  Result<std::optional<std::string>> NextLine() {
    while (true) {
      const size_t newline = buffer_.find('\n', scanned_);
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        scanned_ = 0;
        return std::optional<std::string>(std::move(line));
      }
      scanned_ = buffer_.size();
      if (eof_) {
        if (buffer_.empty()) return std::optional<std::string>();
        return std::optional<std::string>(std::exchange(buffer_, std::string()));
      }
      if (buffer_.size() > kMaxLine) return InvalidArgument("index file line longer than 64 KiB");
      std::string chunk(kChunk, '\0');
      ALLUVIUM_ASSIGN_OR_RETURN(size_t n,
                                reader_->ReadAt(offset_, std::as_writable_bytes(std::span(chunk))));
      if (n == 0) eof_ = true;
      offset_ += n;
      buffer_.append(chunk.data(), n);
    }
  }

 private:
  static constexpr size_t kChunk = 64 * 1024;
  static constexpr size_t kMaxLine = 64 * 1024;
  std::unique_ptr<ufs::FileReader> reader_;
  std::string buffer_;
  size_t scanned_ = 0;
  uint64_t offset_ = 0;
  bool eof_ = false;
};

class IndexSource final : public EntrySource {
 public:
  IndexSource(FileSystemOpener open, UriResolver resolve, std::unique_ptr<LineReader> lines,
              std::optional<std::regex> filter,
              std::function<void(const std::string&, const Status&)> on_bad_line)
      : open_(std::move(open)),
        resolve_(std::move(resolve)),
        lines_(std::move(lines)),
        filter_(std::move(filter)),
        on_bad_line_(std::move(on_bad_line)) {}

  Result<std::optional<ufs::FileStatus>> Next() override {
    while (true) {
      if (current_) {
        ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, current_->Next());
        if (entry) return entry;
        current_.reset();
      }
      ALLUVIUM_ASSIGN_OR_RETURN(std::optional<std::string> line, lines_->NextLine());
      if (!line) return std::optional<ufs::FileStatus>();
      std::string_view text = *line;
      while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      if (text.empty() || text.front() == '#') continue;
      Status st = OpenLine(std::string(text));
      if (!st.ok()) on_bad_line_(std::string(text), st);
    }
  }

 private:
  Status OpenLine(const std::string& line) {
    ALLUVIUM_ASSIGN_OR_RETURN(std::string uri, resolve_(line));
    ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<ufs::FileSystem> fs, open_(uri));
    ALLUVIUM_ASSIGN_OR_RETURN(current_, OpenTreeSource(fs, uri, "", filter_));
    return OkStatus();
  }

  FileSystemOpener open_;
  UriResolver resolve_;
  std::unique_ptr<LineReader> lines_;
  std::optional<std::regex> filter_;
  std::function<void(const std::string&, const Status&)> on_bad_line_;
  std::unique_ptr<EntrySource> current_;
};

}  // namespace

Result<std::unique_ptr<EntrySource>> OpenTreeSource(std::shared_ptr<ufs::FileSystem> fs,
                                                    const std::string& uri,
                                                    const std::string& start_after,
                                                    std::optional<std::regex> filter,
                                                    std::optional<ufs::FileStatus> root) {
  if (!root) {
    ALLUVIUM_ASSIGN_OR_RETURN(root, fs->GetStatus(uri));
  }
  if (!root->is_directory) {
    std::optional<ufs::FileStatus> single;
    if (start_after.empty() || root->uri > start_after) single = std::move(root);
    return std::unique_ptr<EntrySource>(
        std::make_unique<TreeSource>(std::move(single), nullptr, std::move(filter)));
  }
  ALLUVIUM_ASSIGN_OR_RETURN(auto listing,
                            fs->List(uri, {.recursive = true, .start_after = start_after}));
  return std::unique_ptr<EntrySource>(
      std::make_unique<TreeSource>(std::nullopt, std::move(listing), std::move(filter)));
}

Result<std::unique_ptr<EntrySource>> OpenIndexSource(
    FileSystemOpener open, UriResolver resolve, const std::string& index_uri,
    std::optional<std::regex> filter,
    std::function<void(const std::string& line, const Status& error)> on_bad_line) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<ufs::FileSystem> fs, open(index_uri));
  ALLUVIUM_ASSIGN_OR_RETURN(auto reader, fs->Open(index_uri));
  return std::unique_ptr<EntrySource>(std::make_unique<IndexSource>(
      std::move(open), std::move(resolve), std::make_unique<LineReader>(std::move(reader)),
      std::move(filter), std::move(on_bad_line)));
}

}  // namespace alluvium::coordinator
