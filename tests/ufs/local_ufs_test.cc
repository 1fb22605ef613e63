#include "ufs/local_ufs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/scoped_temp_dir.h"

namespace alluvium::ufs {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;

void WriteFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string UriOf(const fs::path& path) { return "file://" + path.string(); }

std::string ReadAll(FileReader& reader, uint64_t offset, size_t size) {
  std::string out(size, '\0');
  Result<size_t> n = reader.ReadAt(offset, std::as_writable_bytes(std::span(out)));
  EXPECT_TRUE(n.ok()) << n.status();
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Every entry, or the first error.
Result<std::vector<FileStatus>> ListAll(FileSystem& ufs, std::string_view uri,
                                        const ListOptions& options) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto iterator, ufs.List(uri, options));
  std::vector<FileStatus> entries;
  for (;;) {
    ALLUVIUM_ASSIGN_OR_RETURN(std::optional<FileStatus> entry, iterator->Next());
    if (!entry) return entries;
    entries.push_back(std::move(*entry));
  }
}

std::vector<std::string> UrisOf(const std::vector<FileStatus>& entries) {
  std::vector<std::string> uris;
  for (const FileStatus& entry : entries) uris.push_back(entry.uri);
  return uris;
}

class LocalFileSystemTest : public ::testing::Test {
 protected:
  fs::path Path(std::string_view relative) const { return dir_.path() / relative; }
  std::string Uri(std::string_view relative) const { return UriOf(Path(relative)); }

  std::vector<std::string> MustList(std::string_view uri, const ListOptions& options) {
    Result<std::vector<FileStatus>> entries = ListAll(ufs_, uri, options);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? UrisOf(*entries) : std::vector<std::string>{};
  }

  // "a", "a.txt", "a/b", "a-b", "b" and friends: names whose order depends on '-' < '.' < '/' <
  // '0'. The listing order (URI, '/'-suffixed for directories) puts "a-b" and "a.txt" before
  // directory "a", and "a0" after everything under it.
  void MakeOrderingTree() {
    fs::create_directories(Path("a/c"));
    WriteFile(Path("a/b"), "ab");
    WriteFile(Path("a/c/d"), "acd");
    WriteFile(Path("a.txt"), "a.txt");
    WriteFile(Path("a-b"), "a-b");
    WriteFile(Path("a0"), "a0");
    WriteFile(Path("b"), "b");
    fs::create_directories(Path("e"));  // empty directory
  }

  ScopedTempDir dir_;
  LocalFileSystem ufs_;
};

TEST_F(LocalFileSystemTest, GetStatusOfFile) {
  WriteFile(Path("f.bin"), "hello");
  Result<FileStatus> status = ufs_.GetStatus(Uri("f.bin"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->uri, Uri("f.bin"));
  EXPECT_FALSE(status->is_directory);
  EXPECT_EQ(status->length, 5u);

  struct stat st;
  ASSERT_EQ(::stat(Path("f.bin").c_str(), &st), 0);
  EXPECT_EQ(status->mtime_ms, int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000);
  EXPECT_EQ(status->version,
            std::to_string(int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec) + "-5-" +
                std::to_string(st.st_ino));
}

TEST_F(LocalFileSystemTest, GetStatusOfDirectoryNormalisesUri) {
  fs::create_directories(Path("d"));
  Result<FileStatus> status = ufs_.GetStatus(Uri("d") + "//./");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->uri, Uri("d"));
  EXPECT_TRUE(status->is_directory);
  EXPECT_EQ(status->length, 0u);
  EXPECT_EQ(status->version, "");

  Result<FileStatus> by_path = ufs_.GetStatus(Path("d").string());
  ASSERT_TRUE(by_path.ok()) << by_path.status();
  EXPECT_EQ(by_path->uri, Uri("d"));
}

TEST_F(LocalFileSystemTest, GetStatusOfRootHasRootUri) {
  Result<FileStatus> status = ufs_.GetStatus("file:///");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->uri, "file:///");
  EXPECT_TRUE(status->is_directory);
}

TEST_F(LocalFileSystemTest, GetStatusOfMissingIsNotFound) {
  EXPECT_EQ(ufs_.GetStatus(Uri("missing")).status().code(), Code::kNotFound);
  WriteFile(Path("file"), "x");
  EXPECT_EQ(ufs_.GetStatus(Uri("file/below")).status().code(), Code::kNotFound);
}

TEST_F(LocalFileSystemTest, GetStatusFollowsSymlinks) {
  WriteFile(Path("target"), "1234");
  fs::create_symlink(Path("target"), Path("link"));
  Result<FileStatus> status = ufs_.GetStatus(Uri("link"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->uri, Uri("link"));
  EXPECT_EQ(status->length, 4u);
}

TEST_F(LocalFileSystemTest, RejectsOtherSchemesAndBadUris) {
  EXPECT_EQ(ufs_.GetStatus("s3://bucket/key").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ufs_.GetStatus("relative/path").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ufs_.List("s3://bucket/", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ufs_.Open("s3://bucket/key").status().code(), Code::kInvalidArgument);
}

TEST_F(LocalFileSystemTest, SpecialFilesAreNeitherStatusedNorOpenedNorListed) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0);
  WriteFile(Path("file"), "x");
  EXPECT_EQ(ufs_.GetStatus(Uri("fifo")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ufs_.Open(Uri("fifo")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(MustList(UriOf(dir_.path()), {}), std::vector<std::string>{Uri("file")});
}

TEST_F(LocalFileSystemTest, VersionChangesWhenFileIsRewritten) {
  WriteFile(Path("f"), "first");
  Result<FileStatus> v1 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v1.ok()) << v1.status();

  // In place, another size.
  WriteFile(Path("f"), "second!");
  Result<FileStatus> v2 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_NE(v2->version, v1->version);

  // In place, same size, another mtime (set explicitly: no waiting for the clock to tick).
  WriteFile(Path("f"), "third!!");
  const struct timespec times[2] = {{.tv_sec = 1'000'000'000, .tv_nsec = 1},
                                    {.tv_sec = 1'000'000'000, .tv_nsec = 1}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("f").c_str(), times, 0), 0);
  Result<FileStatus> v3 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_NE(v3->version, v2->version);
  EXPECT_EQ(v3->mtime_ms, 1'000'000'000'000);

  // Replaced by rename with same size and mtime: only the inode differs.
  WriteFile(Path("f.tmp"), "fourth!");
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("f.tmp").c_str(), times, 0), 0);
  fs::rename(Path("f.tmp"), Path("f"));
  Result<FileStatus> v4 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_NE(v4->version, v3->version);

  // Unchanged file, same version.
  Result<FileStatus> again = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, v4->version);
}

TEST_F(LocalFileSystemTest, AReaderOfAVersionFailsOnceTheFileIsRewrittenInPlace) {
  WriteFile(Path("f"), "version one");
  Result<FileStatus> v1 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  auto pinned = ufs_.Open(Uri("f"), {.expected_version = v1->version});
  auto unpinned = ufs_.Open(Uri("f"));
  ASSERT_TRUE(pinned.ok() && unpinned.ok());
  EXPECT_EQ(ReadAll(**pinned, 0, 7), "version");

  // Same size, new mtime: what is read now may mix the two versions.
  WriteFile(Path("f"), "version two");
  const struct timespec times[2] = {{.tv_sec = 1'000'000'000, .tv_nsec = 5},
                                    {.tv_sec = 1'000'000'000, .tv_nsec = 5}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("f").c_str(), times, 0), 0);
  std::string buf(4, '\0');
  Result<size_t> n = (*pinned)->ReadAt(8, std::as_writable_bytes(std::span(buf)));
  EXPECT_EQ(n.status().code(), Code::kAborted) << n.status();
  EXPECT_EQ(ReadAll(**unpinned, 8, 3), "two") << "without a version, reads follow the file";
}

TEST_F(LocalFileSystemTest, AReaderOfAVersionKeepsItsBytesWhenTheFileIsReplacedByRename) {
  WriteFile(Path("f"), "old bytes");
  Result<FileStatus> v1 = ufs_.GetStatus(Uri("f"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  auto reader = ufs_.Open(Uri("f"), {.expected_version = v1->version});
  ASSERT_TRUE(reader.ok());
  WriteFile(Path("f.tmp"), "new bytes");
  fs::rename(Path("f.tmp"), Path("f"));
  EXPECT_EQ(ReadAll(**reader, 0, 9), "old bytes") << "the descriptor pins the old inode";
}

TEST_F(LocalFileSystemTest, RangedReads) {
  WriteFile(Path("f"), "0123456789");
  Result<std::unique_ptr<FileReader>> reader = ufs_.Open(Uri("f"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(ReadAll(**reader, 0, 10), "0123456789");
  EXPECT_EQ(ReadAll(**reader, 2, 4), "2345");
  EXPECT_EQ(ReadAll(**reader, 9, 1), "9");
  EXPECT_EQ(ReadAll(**reader, 0, 0), "");
}

TEST_F(LocalFileSystemTest, ReadPastEndIsShortThenEmpty) {
  WriteFile(Path("f"), "0123456789");
  Result<std::unique_ptr<FileReader>> reader = ufs_.Open(Uri("f"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(ReadAll(**reader, 8, 100), "89");
  EXPECT_EQ(ReadAll(**reader, 10, 4), "");
  EXPECT_EQ(ReadAll(**reader, 1000, 4), "");
  EXPECT_EQ(ReadAll(**reader, std::numeric_limits<uint64_t>::max() - 1, 4), "");
  EXPECT_EQ(ReadAll(**reader, std::numeric_limits<int64_t>::max(), 4), "");
}

TEST_F(LocalFileSystemTest, ReadsLargeFileWhole) {
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 4096);
  WriteFile(Path("big"), content);
  Result<std::unique_ptr<FileReader>> reader = ufs_.Open(Uri("big"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE(ReadAll(**reader, 0, content.size() + 10) == content);
  EXPECT_TRUE(ReadAll(**reader, 4097, 1 << 20) == content.substr(4097, 1 << 20));
}

TEST_F(LocalFileSystemTest, OpenMissingIsNotFoundAndDirectoryIsInvalid) {
  EXPECT_EQ(ufs_.Open(Uri("missing")).status().code(), Code::kNotFound);
  fs::create_directories(Path("d"));
  EXPECT_EQ(ufs_.Open(Uri("d")).status().code(), Code::kInvalidArgument);
}

TEST_F(LocalFileSystemTest, ListMissingIsNotFoundAndFileIsFailedPrecondition) {
  EXPECT_EQ(ufs_.List(Uri("missing"), {}).status().code(), Code::kNotFound);
  WriteFile(Path("f"), "x");
  EXPECT_EQ(ufs_.List(Uri("f"), {}).status().code(), Code::kFailedPrecondition);
}

TEST_F(LocalFileSystemTest, ListEmptyDirectory) {
  EXPECT_EQ(MustList(UriOf(dir_.path()), {.recursive = true, .start_after = {}}),
            std::vector<std::string>{});
}

TEST_F(LocalFileSystemTest, ListNonRecursiveInByteOrder) {
  MakeOrderingTree();
  EXPECT_EQ(MustList(UriOf(dir_.path()), {}),
            (std::vector<std::string>{Uri("a-b"), Uri("a.txt"), Uri("a"), Uri("a0"), Uri("b"),
                                      Uri("e")}));
}

TEST_F(LocalFileSystemTest, ListRecursiveYieldsDirectoryThenItsEntriesInByteOrder) {
  MakeOrderingTree();
  Result<std::vector<FileStatus>> entries =
      ListAll(ufs_, UriOf(dir_.path()) + "/", {.recursive = true, .start_after = {}});
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(UrisOf(*entries),
            (std::vector<std::string>{Uri("a-b"), Uri("a.txt"), Uri("a"), Uri("a/b"), Uri("a/c"),
                                      Uri("a/c/d"), Uri("a0"), Uri("b"), Uri("e")}));

  // The listing key (URI, '/'-suffixed for directories) strictly increases: S3's order.
  std::string previous;
  for (const FileStatus& entry : *entries) {
    const std::string key = entry.uri + (entry.is_directory ? "/" : "");
    EXPECT_LT(previous, key);
    previous = key;
    EXPECT_EQ(entry.is_directory, fs::is_directory(entry.uri.substr(7))) << entry.uri;
    EXPECT_EQ(entry.version.empty(), entry.is_directory) << entry.uri;
  }
  EXPECT_EQ((*entries)[1].length, 5u);  // a.txt
}

TEST_F(LocalFileSystemTest, ListSubdirectory) {
  MakeOrderingTree();
  EXPECT_EQ(MustList(Uri("a"), {.recursive = true, .start_after = {}}),
            (std::vector<std::string>{Uri("a/b"), Uri("a/c"), Uri("a/c/d")}));
  EXPECT_EQ(MustList(Uri("a"), {}), (std::vector<std::string>{Uri("a/b"), Uri("a/c")}));
}

TEST_F(LocalFileSystemTest, StartAfterYieldsExactlyTheRemainderAtEveryCut) {
  MakeOrderingTree();
  for (bool recursive : {true, false}) {
    const std::vector<std::string> all =
        MustList(UriOf(dir_.path()), {.recursive = recursive, .start_after = {}});
    ASSERT_FALSE(all.empty());
    for (size_t cut = 0; cut < all.size(); ++cut) {
      const std::vector<std::string> rest =
          MustList(UriOf(dir_.path()), {.recursive = recursive, .start_after = all[cut]});
      EXPECT_EQ(rest, std::vector<std::string>(all.begin() + cut + 1, all.end()))
          << "recursive=" << recursive << " start_after=" << all[cut];
    }
  }
}

TEST_F(LocalFileSystemTest, StartAfterBetweenOrOutsideEntries) {
  MakeOrderingTree();
  const std::string root = UriOf(dir_.path());
  const ListOptions recursive = {.recursive = true, .start_after = {}};
  const std::vector<std::string> all = MustList(root, recursive);

  // Before everything, or the listed directory itself: everything.
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = "file:///"}), all);
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = root}), all);
  // After everything: nothing.
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = root + "/zzz"}),
            std::vector<std::string>{});
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = root + "0"}),
            std::vector<std::string>{});
  // A name that does not exist, inside directory "a": the rest of "a", then its successors.
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = Uri("a/bb")}),
            (std::vector<std::string>{Uri("a/c"), Uri("a/c/d"), Uri("a0"), Uri("b"), Uri("e")}));
  // A directory's own '/'-suffixed key: its entries follow.
  EXPECT_EQ(MustList(root, {.recursive = true, .start_after = Uri("a") + "/"}),
            (std::vector<std::string>{Uri("a/b"), Uri("a/c"), Uri("a/c/d"), Uri("a0"), Uri("b"),
                                      Uri("e")}));
}

TEST_F(LocalFileSystemTest, ListsTwentyThousandEntriesCompletely) {
  constexpr int kCount = 20000;
  fs::create_directories(Path("many"));
  for (int i = 0; i < kCount; ++i) {
    const std::string name = Path("many/f" + std::to_string(i)).string();
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ::close(fd);
  }
  Result<std::unique_ptr<ListIterator>> iterator =
      ufs_.List(Uri("many"), {.recursive = true, .start_after = {}});
  ASSERT_TRUE(iterator.ok()) << iterator.status();
  int count = 0;
  std::string previous;
  for (;;) {
    Result<std::optional<FileStatus>> entry = (*iterator)->Next();
    ASSERT_TRUE(entry.ok()) << entry.status();
    if (!*entry) break;
    ASSERT_LT(previous, (*entry)->uri);
    previous = (*entry)->uri;
    ++count;
  }
  EXPECT_EQ(count, kCount);
  // And the end stays the end.
  Result<std::optional<FileStatus>> after = (*iterator)->Next();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->has_value());
}

TEST_F(LocalFileSystemTest, ListSkipsDanglingSymlinksAndFollowsGoodOnes) {
  fs::create_directories(Path("real"));
  WriteFile(Path("real/f"), "x");
  fs::create_directory_symlink(Path("real"), Path("link"));
  fs::create_symlink(Path("nowhere"), Path("dangling"));
  EXPECT_EQ(MustList(UriOf(dir_.path()), {.recursive = true, .start_after = {}}),
            (std::vector<std::string>{Uri("link"), Uri("link/f"), Uri("real"), Uri("real/f")}));
}

TEST_F(LocalFileSystemTest, ListDoesNotEnterSymlinkLoops) {
  fs::create_directories(Path("d"));
  WriteFile(Path("d/f"), "x");
  fs::create_directory_symlink(Path("d"), Path("d/loop"));
  EXPECT_EQ(MustList(Uri("d"), {.recursive = true, .start_after = {}}),
            (std::vector<std::string>{Uri("d/f"), Uri("d/loop")}));
}

TEST_F(LocalFileSystemTest, ListUnreadableDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every directory";
  fs::create_directories(Path("locked/sub"));
  fs::permissions(Path("locked"), fs::perms::none);
  EXPECT_EQ(ufs_.List(Uri("locked"), {}).status().code(), Code::kPermissionDenied);

  Result<std::unique_ptr<ListIterator>> iterator =
      ufs_.List(UriOf(dir_.path()), {.recursive = true, .start_after = {}});
  ASSERT_TRUE(iterator.ok()) << iterator.status();
  Result<std::optional<FileStatus>> first = (*iterator)->Next();  // "locked" itself
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*iterator)->Next().status().code(), Code::kPermissionDenied);
  EXPECT_EQ((*iterator)->Next().status().code(), Code::kPermissionDenied);  // stays failed
  fs::permissions(Path("locked"), fs::perms::owner_all);
}

}  // namespace
}  // namespace alluvium::ufs
