#include "ufs/s3/s3_file_system.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "s3/s3_test_env.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"

namespace alluvium::ufs::s3 {
namespace {

using ::alluvium::testing::OpenS3;
using ::alluvium::testing::RandomBytes;
using ::alluvium::testing::S3Properties;
using ::alluvium::testing::S3TestServer;

constexpr char kBucket[] = "ufs-bucket";

// A tree whose order has every trap: "a-b" and "a.txt" sort before directory "a" ("a/"), "a0"
// after everything in it; a marker object for an empty directory; a key needing encoding.
const std::vector<std::string> kTree = {"t/a-b",   "t/a.txt",         "t/a/x",
                                        "t/a/y/z", "t/a/y/zz",        "t/a0",
                                        "t/b",     "t/sp ace+é%.txt", "t/c/d/e/f"};

class S3FileSystemTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3TestServer::Start({kBucket, "empty-bucket"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    for (const std::string& key : kTree) ASSERT_TRUE(server_->PutObject(kBucket, key, key).ok());
    ASSERT_TRUE(server_->PutObject(kBucket, "t/empty-dir/", "").ok());
  }
  static void TearDownTestSuite() { server_.reset(); }

  std::unique_ptr<S3FileSystem> Fs(std::map<std::string, std::string> extra = {}) {
    auto props = S3Properties(server_->endpoint());
    for (auto& [k, v] : extra) props[k] = v;
    return OpenS3(kBucket, props);
  }

  static std::string Uri(std::string_view key) { return fmt::format("s3://{}/{}", kBucket, key); }

  // Entries as "key" for files and "key/" for directories, in listing order.
  static std::vector<std::string> Drain(ListIterator& it, std::string_view uri_prefix) {
    std::vector<std::string> out;
    while (true) {
      auto next = it.Next();
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || !next->has_value()) return out;
      const FileStatus& s = **next;
      EXPECT_TRUE(s.uri.starts_with(uri_prefix)) << s.uri;
      out.push_back(s.uri.substr(uri_prefix.size()) + (s.is_directory ? "/" : ""));
    }
  }

  static inline std::unique_ptr<S3TestServer> server_;
};

TEST_F(S3FileSystemTest, StatsFilesDirectoriesAndTheBucket) {
  auto fs = Fs();
  auto file = fs->GetStatus(Uri("t/a.txt"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_FALSE(file->is_directory);
  EXPECT_EQ(file->length, std::string("t/a.txt").size());
  EXPECT_EQ(file->uri, Uri("t/a.txt"));
  EXPECT_EQ(file->version.size(), 32u) << file->version;  // MD5 hex, unquoted
  EXPECT_GT(file->mtime_ms, 0);

  for (const char* dir : {"t", "t/a", "t/a/y", "t/empty-dir"}) {
    auto status = fs->GetStatus(Uri(dir));
    ASSERT_TRUE(status.ok()) << dir << ": " << status.status();
    EXPECT_TRUE(status->is_directory) << dir;
    EXPECT_EQ(status->uri, Uri(dir));
  }
  auto root = fs->GetStatus(fmt::format("s3://{}/", kBucket));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_TRUE(root->is_directory);

  auto missing = fs->GetStatus(Uri("t/nope"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(Uri("t/nope")), std::string::npos);
  EXPECT_EQ(fs->GetStatus("s3://other-bucket/x").status().code(), Code::kInvalidArgument);
}

TEST_F(S3FileSystemTest, MissingBucketIsNamed) {
  auto fs = OpenS3("no-such-bucket", S3Properties(server_->endpoint()));
  auto status = fs->GetStatus("s3://no-such-bucket/");
  EXPECT_EQ(status.status().code(), Code::kNotFound);
  EXPECT_NE(status.status().message().find("NoSuchBucket"), std::string::npos) << status.status();
  auto list = fs->List("s3://no-such-bucket/dir", {});
  EXPECT_EQ(list.status().code(), Code::kNotFound);
}

TEST_F(S3FileSystemTest, UnknownAccessKeyIsPermissionDenied) {
  auto fs = Fs({{kAccessKeyKey, "NOT-AN-ACCOUNT"}});
  auto status = fs->GetStatus(fmt::format("s3://{}/", kBucket));
  EXPECT_EQ(status.status().code(), Code::kPermissionDenied);
  EXPECT_NE(status.status().message().find("InvalidAccessKeyId"), std::string::npos)
      << status.status();
}

TEST_F(S3FileSystemTest, ListsOneLevelInOrderAcrossPages) {
  for (const char* page_size : {"1", "2", "1000"}) {
    auto fs = Fs({{kListPageSizeKey, page_size}});
    auto it = fs->List(Uri("t"), {});
    ASSERT_TRUE(it.ok()) << it.status();
    EXPECT_EQ(Drain(**it, Uri("")),
              (std::vector<std::string>{"t/a-b", "t/a.txt", "t/a/", "t/a0", "t/b", "t/c/",
                                        "t/empty-dir/", "t/sp ace+é%.txt"}))
        << "page size " << page_size;
  }
}

TEST_F(S3FileSystemTest, ListsRecursivelyInTheLocalFileSystemsOrder) {
  // The same tree on disk: both file systems must list it identically.
  alluvium::testing::ScopedTempDir dir;
  for (const std::string& key : kTree) {
    std::filesystem::create_directories((dir.path() / key).parent_path());
    std::ofstream(dir.path() / key) << key;
  }
  std::filesystem::create_directories(dir.path() / "t/empty-dir");
  LocalFileSystem local;
  auto local_it = local.List("file://" + (dir.path() / "t").string(), {.recursive = true});
  ASSERT_TRUE(local_it.ok()) << local_it.status();
  const auto expected = Drain(**local_it, "file://" + dir.path().string() + "/");

  auto fs = Fs({{kListPageSizeKey, "2"}});
  auto it = fs->List(Uri("t"), {.recursive = true});
  ASSERT_TRUE(it.ok()) << it.status();
  EXPECT_EQ(Drain(**it, Uri("")), expected);
}

TEST_F(S3FileSystemTest, ResumesAfterAFileOrADirectory) {
  auto fs = Fs({{kListPageSizeKey, "2"}});
  auto after = [&](std::string_view key) {
    auto it = fs->List(Uri("t"), {.recursive = true, .start_after = Uri(key)});
    EXPECT_TRUE(it.ok()) << it.status();
    return it.ok() ? Drain(**it, Uri("")) : std::vector<std::string>{};
  };
  EXPECT_EQ(after("t/a-b"),
            (std::vector<std::string>{"t/a.txt", "t/a/", "t/a/x", "t/a/y/", "t/a/y/z", "t/a/y/zz",
                                      "t/a0", "t/b", "t/c/", "t/c/d/", "t/c/d/e/", "t/c/d/e/f",
                                      "t/empty-dir/", "t/sp ace+é%.txt"}));
  // A directory: its entries come next.
  EXPECT_EQ(after("t/a"),
            (std::vector<std::string>{"t/a/x", "t/a/y/", "t/a/y/z", "t/a/y/zz", "t/a0", "t/b",
                                      "t/c/", "t/c/d/", "t/c/d/e/", "t/c/d/e/f", "t/empty-dir/",
                                      "t/sp ace+é%.txt"}));
  EXPECT_EQ(after("t/c/d/e/f"), (std::vector<std::string>{"t/empty-dir/", "t/sp ace+é%.txt"}));
  EXPECT_TRUE(after("t/sp ace+é%.txt").empty());
}

TEST_F(S3FileSystemTest, ListingAFileOrNothingFails) {
  auto fs = Fs();
  EXPECT_EQ(fs->List(Uri("t/a.txt"), {}).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(fs->List(Uri("t/none"), {}).status().code(), Code::kNotFound);
  auto empty = OpenS3("empty-bucket", S3Properties(server_->endpoint()));
  auto it = empty->List("s3://empty-bucket/", {.recursive = true});
  ASSERT_TRUE(it.ok()) << it.status();
  EXPECT_TRUE(Drain(**it, "s3://empty-bucket/").empty());
}

TEST_F(S3FileSystemTest, ReadsRangesAndKeysThatNeedEncoding) {
  const std::string data = RandomBytes((3 << 20) + 17, 42);
  ASSERT_TRUE(server_->PutObject(kBucket, "r/big", data).ok());
  auto fs = Fs();
  auto reader = fs->Open(Uri("r/big"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string buf(100'000, '\0');
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 20, data.size() - 1000}) {
    auto n = (*reader)->ReadAt(offset, std::as_writable_bytes(std::span(buf)));
    ASSERT_TRUE(n.ok()) << n.status();
    const size_t want = std::min<size_t>(buf.size(), data.size() - offset);
    ASSERT_EQ(*n, want) << offset;
    EXPECT_EQ(buf.substr(0, want), data.substr(offset, want)) << offset;
  }
  for (uint64_t past : {data.size(), data.size() + 5}) {
    auto n = (*reader)->ReadAt(past, std::as_writable_bytes(std::span(buf)));
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 0u);
  }

  auto odd = fs->Open(Uri("t/sp ace+é%.txt"));
  ASSERT_TRUE(odd.ok());
  auto n = (*odd)->ReadAt(0, std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(buf.substr(0, *n), "t/sp ace+é%.txt");
}

TEST_F(S3FileSystemTest, SequentialReaderFetchesBlocksAndMatchesByteForByte) {
  const std::string data = RandomBytes((1 << 20) + 12345, 7);
  ASSERT_TRUE(server_->PutObject(kBucket, "r/seq", data).ok());
  auto fs = Fs({{kReadBlockSizeKey, "64KB"}});
  auto status = fs->GetStatus(Uri("r/seq"));
  ASSERT_TRUE(status.ok());
  auto reader = fs->Open(
      Uri("r/seq"), {.expected_version = status->version, .sequential_until = data.size() + 1});
  ASSERT_TRUE(reader.ok());
  std::string got;
  std::string page(10'000, '\0');  // not a divisor of the block: pages straddle blocks
  for (uint64_t offset = 0;; offset += page.size()) {
    auto n = (*reader)->ReadAt(offset, std::as_writable_bytes(std::span(page)));
    ASSERT_TRUE(n.ok()) << n.status();
    got += page.substr(0, *n);
    if (*n < page.size()) break;
  }
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST_F(S3FileSystemTest, SequentialViewsComeFromTheBlockWithoutACopy) {
  const std::string data = RandomBytes((256 << 10) + 999, 8);
  ASSERT_TRUE(server_->PutObject(kBucket, "r/view", data).ok());
  auto fs = Fs({{kReadBlockSizeKey, "64KB"}});
  auto status = fs->GetStatus(Uri("r/view"));
  ASSERT_TRUE(status.ok());
  auto reader = fs->Open(
      Uri("r/view"), {.expected_version = status->version, .sequential_until = data.size() + 1});
  ASSERT_TRUE(reader.ok());
  std::vector<std::byte> scratch;
  std::string got;
  int into_scratch = 0;
  const size_t page = 16 << 10;  // four pages per block
  for (uint64_t offset = 0;; offset += page) {
    auto view = (*reader)->ReadView(offset, page, scratch);
    ASSERT_TRUE(view.ok()) << view.status();
    got.append(reinterpret_cast<const char*>(view->data()), view->size());
    into_scratch += !scratch.empty() && view->data() == scratch.data();
    if (view->size() < page) break;
  }
  EXPECT_TRUE(got == data) << got.size() << " bytes vs " << data.size();
  // Only the tail, shorter than a page, is a GET of its own (straight into the scratch buffer).
  EXPECT_LE(into_scratch, 1);

  // Outside the sequential range a view is one exact GET into the scratch buffer.
  auto random = fs->Open(Uri("r/view"), {.expected_version = status->version});
  ASSERT_TRUE(random.ok());
  auto view = (*random)->ReadView(1000, 500, scratch);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->data(), scratch.data());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(view->data()), view->size()),
            data.substr(1000, 500));
}

TEST_F(S3FileSystemTest, ReplacedObjectIsNeverMixedWithTheOldOne) {
  ASSERT_TRUE(server_->PutObject(kBucket, "r/changing", std::string(5000, 'a')).ok());
  auto fs = Fs();
  auto before = fs->GetStatus(Uri("r/changing"));
  ASSERT_TRUE(before.ok());
  auto reader = fs->Open(Uri("r/changing"), {.expected_version = before->version});
  ASSERT_TRUE(reader.ok());
  std::string buf(100, '\0');
  ASSERT_TRUE((*reader)->ReadAt(0, std::as_writable_bytes(std::span(buf))).ok());

  ASSERT_TRUE(server_->PutObject(kBucket, "r/changing", std::string(5000, 'b')).ok());
  auto n = (*reader)->ReadAt(100, std::as_writable_bytes(std::span(buf)));
  EXPECT_EQ(n.status().code(), Code::kAborted) << n.status();
  EXPECT_NE(n.status().message().find(before->version), std::string::npos);

  auto after = fs->GetStatus(Uri("r/changing"));
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->version, before->version);
}

TEST_F(S3FileSystemTest, MissingKeyShowsOnFirstRead) {
  auto fs = Fs();
  auto reader = fs->Open(Uri("t/never-written"));
  ASSERT_TRUE(reader.ok());  // no request yet
  std::string buf(10, '\0');
  auto n = (*reader)->ReadAt(0, std::as_writable_bytes(std::span(buf)));
  EXPECT_EQ(n.status().code(), Code::kNotFound);
  EXPECT_NE(n.status().message().find("NoSuchKey"), std::string::npos) << n.status();
  EXPECT_NE(n.status().message().find(Uri("t/never-written")), std::string::npos);
}

// 100,000 keys as 100 prefixes of 1,000 (s3rver re-reads a whole directory per page, so one
// prefix of 100k would take minutes); $ALLUVIUM_S3_LIST_PREFIXES scales it down (sanitizer runs).
TEST(S3LargeListingTest, ListsAHundredThousandKeysPageByPage) {
  const char* env = std::getenv("ALLUVIUM_S3_LIST_PREFIXES");
  const int kPrefixes = env != nullptr ? std::atoi(env) : 100;
  constexpr int kPerPrefix = 1000;
  // tmpfs: 300k small files are written and deleted in seconds, not minutes.
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "";
  auto server = S3TestServer::Start({kBucket}, base);
  ASSERT_TRUE(server.ok()) << server.status();
  for (int p = 0; p < kPrefixes; ++p) {
    ASSERT_TRUE(
        (*server)->SeedObjects(kBucket, fmt::format("many/p{:03}/", p), kPerPrefix, 16, p).ok());
  }
  const auto seeded = std::chrono::steady_clock::now();
  auto fs = OpenS3(kBucket, S3Properties((*server)->endpoint()));
  auto Uri = [](std::string_view key) { return fmt::format("s3://{}/{}", kBucket, key); };
  auto it = fs->List(Uri("many"), {.recursive = true});
  ASSERT_TRUE(it.ok()) << it.status();
  int files = 0, dirs = 0;
  std::string previous;
  while (true) {
    auto next = (*it)->Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    const FileStatus& s = **next;
    const std::string sort_key = s.uri + (s.is_directory ? "/" : "");
    ASSERT_LT(previous, sort_key);  // strictly ascending: nothing repeated or out of order
    previous = sort_key;
    if (s.is_directory) {
      ++dirs;
    } else {
      const int index = files % kPerPrefix;
      ASSERT_EQ(s.uri, Uri(S3TestServer::SeededKey(fmt::format("many/p{:03}/", files / kPerPrefix),
                                                   index)));
      ASSERT_EQ(s.length, S3TestServer::SeededData(index, 16, files / kPerPrefix).size());
      ++files;
    }
  }
  EXPECT_EQ(files, kPrefixes * kPerPrefix);
  EXPECT_EQ(dirs, kPrefixes);
  fmt::print("listed {} keys in {} ms\n", files,
             std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - seeded)
                 .count());
}

}  // namespace
}  // namespace alluvium::ufs::s3
