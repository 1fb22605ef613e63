// The FUSE op handlers without FUSE, against a real local cluster: what lookup, getattr,
// readdir(plus), open, read and statfs would tell the kernel, checked against the UFS.
#include "fuse/handlers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/local_cluster.h"

namespace alluvium::fuse {
namespace {

using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::WriteRandomFile;

class HandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 2,
                            .conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"}});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    files_["data/a.bin"] = WriteRandomFile(cluster_->ufs_root() / "data/a.bin", 700'000, 1);
    files_["data/sub/b.bin"] = WriteRandomFile(cluster_->ufs_root() / "data/sub/b.bin", 5, 2);
    files_["data/empty"] = WriteRandomFile(cluster_->ufs_root() / "data/empty", 0, 3);
  }

  // Handlers over a new client; `filter` (cache filter JSON) replaces the default rules.
  std::unique_ptr<Handlers> NewHandlers(const std::string& path = "/",
                                        std::vector<std::string> o = {},
                                        const std::string& filter = "") {
    client::ClientOptions options = cluster_->ClientOptions();
    if (!filter.empty()) {
      const auto file = cluster_->ufs_root().parent_path() / "fuse-filter.json";
      std::ofstream(file) << filter;
      options.cache_filter.file = file;
    }
    auto client = cluster_->NewClient(options);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    client_ = std::move(*client);
    auto parsed = FuseOptions::Parse(path, o);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return std::make_unique<Handlers>(*client_, *parsed);
  }

  // Entry names of an open directory, "." and ".." included.
  std::vector<std::string> Names(Handlers& h, uint64_t inode, bool plus) {
    auto dir = h.OpenDir(inode);
    EXPECT_TRUE(dir.ok()) << dir.status();
    std::vector<std::string> names;
    EXPECT_TRUE(h.ReadDir(*dir, 0, plus, [&](const DirEntry& d) {
                   names.push_back(d.name);
                   return true;
                 }).ok());
    h.ReleaseDir(*dir);
    return names;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
  std::map<std::string, std::string> files_;  // UFS-relative path -> bytes
};

TEST_F(HandlersTest, LookupAndGetAttrAgreeWithTheUfs) {
  auto h = NewHandlers();
  auto data = h->Lookup(InodeTable::kRootInode, "data");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(S_ISDIR(data->attr.st_mode));
  for (const auto& [rel, bytes] : files_) {
    // Walk the path one component at a time, as the kernel does.
    uint64_t inode = InodeTable::kRootInode;
    Result<Entry> entry = InvalidArgument("no component");
    for (const std::filesystem::path& component : std::filesystem::path(rel)) {
      entry = h->Lookup(inode, component.string());
      ASSERT_TRUE(entry.ok()) << rel << ": " << entry.status();
      inode = entry->inode;
    }
    struct stat ufs {};
    ASSERT_EQ(::stat((cluster_->ufs_root() / rel).c_str(), &ufs), 0);
    auto attr = h->GetAttr(inode);
    ASSERT_TRUE(attr.ok()) << attr.status();
    for (const struct stat& st : {entry->attr, attr->attr}) {
      EXPECT_TRUE(S_ISREG(st.st_mode)) << rel;
      EXPECT_EQ(st.st_size, ufs.st_size) << rel;
      EXPECT_EQ(st.st_mtim.tv_sec, ufs.st_mtim.tv_sec) << rel;
      EXPECT_EQ(st.st_ino, inode) << rel;
      EXPECT_EQ(st.st_mode & 0222, 0u) << rel << " must not look writable";
    }
  }
  auto missing = h->Lookup(data->inode, "nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(h->GetAttr(424242).status().code(), Code::kNotFound);
}

TEST_F(HandlersTest, ForgottenInodesLeaveTheTable) {
  auto h = NewHandlers();
  auto data = h->Lookup(InodeTable::kRootInode, "data");
  ASSERT_TRUE(data.ok()) << data.status();
  auto again = h->Lookup(InodeTable::kRootInode, "data");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->inode, data->inode);
  EXPECT_EQ(h->inodes().size(), 2u);
  h->Forget(data->inode, 2);
  EXPECT_EQ(h->inodes().size(), 1u);
  EXPECT_EQ(h->GetAttr(data->inode).status().code(), Code::kNotFound);
}

TEST_F(HandlersTest, ReadDirListsTheUfsAndPlusCountsOnlyTheEntriesTaken) {
  auto h = NewHandlers("/data");
  const std::vector<std::string> expected = {".", "..", "a.bin", "empty", "sub"};
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, false), expected);
  EXPECT_EQ(h->inodes().size(), 1u) << "plain readdir hands out no inodes";

  // Readdirplus: the reply takes three entries and refuses the fourth; only the real entry it
  // took ("a.bin") is counted, then a second call resumes at the refused one.
  auto dir = h->OpenDir(InodeTable::kRootInode);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<DirEntry> taken;
  ASSERT_TRUE(h->ReadDir(*dir, 0, true, [&](const DirEntry& d) {
                 if (taken.size() == 3) return false;
                 taken.push_back(d);
                 return true;
               }).ok());
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[2].name, "a.bin");
  EXPECT_EQ(taken[2].entry.attr.st_size, 700'000);
  EXPECT_EQ(taken[0].entry.inode, 0u) << "\".\" is not counted";
  EXPECT_EQ(h->inodes().size(), 2u);
  std::vector<std::string> rest;
  ASSERT_TRUE(h->ReadDir(*dir, taken.back().next_offset, true, [&](const DirEntry& d) {
                 rest.push_back(d.name);
                 return true;
               }).ok());
  EXPECT_EQ(rest, (std::vector<std::string>{"empty", "sub"}));
  EXPECT_EQ(h->inodes().size(), 4u);
  h->ReleaseDir(*dir);
  EXPECT_EQ(h->ReadDir(*dir, 0, false, [](const DirEntry&) { return true; }).code(),
            Code::kNotFound);
}

// What a listing pushes into the kernel's page cache comes from this host's workers only: a
// file not cached is left to its reads (no UFS read for a listing), a cached one is read whole.
TEST_F(HandlersTest, ReadToPushReadsOnlyFilesCachedOnThisHost) {
  auto h = NewHandlers("/data");
  auto dir = h->OpenDir(InodeTable::kRootInode);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::map<std::string, uint64_t> inodes;
  ASSERT_TRUE(h->ReadDir(*dir, 0, true, [&](const DirEntry& d) {
                 inodes[d.name] = d.entry.inode;
                 return true;
               }).ok());
  const std::string& bytes = files_["data/a.bin"];
  std::vector<std::byte> out(bytes.size());
  const std::shared_ptr<Handlers::PushQueue> queue = h->PushQueueOf(*dir);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(h->PushQueueOf(*dir + 100), nullptr) << "no such listing";
  EXPECT_FALSE(h->ReadToPush(*queue, inodes["a.bin"], out)) << "not cached yet";

  const auto load = cluster_->Cli("job load /data --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  h->ReleaseDir(*dir);  // pushes run after the reply, maybe after the kernel released it
  ASSERT_TRUE(h->ReadToPush(*queue, inodes["a.bin"], out));
  EXPECT_EQ(std::memcmp(out.data(), bytes.data(), bytes.size()), 0);
  queue->pushed_bytes().store(Handlers::kMaxPushBytesPerListing);
  EXPECT_FALSE(h->ReadToPush(*queue, inodes["a.bin"], out)) << "the listing's budget is spent";
  queue->Add({{.inode = 7, .size = 1}, {.inode = 8, .size = 2}});
  queue->Add({{.inode = 9, .size = 3}});
  EXPECT_EQ(queue->TakeAll().size(), 3u);
  EXPECT_TRUE(queue->TakeAll().empty());
}

// The client keeps listings as it keeps statuses: a directory listed again (each epoch, or after
// the kernel dropped its copy) asks no worker, until drop-caches.
TEST_F(HandlersTest, ADirectoryListedAgainAsksNoWorker) {
  auto h = NewHandlers("/data");
  const std::vector<std::string> expected = {".", "..", "a.bin", "empty", "sub"};
  ASSERT_EQ(Names(*h, InodeTable::kRootInode, true), expected);
  for (int i = 0; i < cluster_->worker_count(); ++i) cluster_->SignalWorker(i, SIGSTOP);
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, true), expected);
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, false), expected);
  for (int i = 0; i < cluster_->worker_count(); ++i) cluster_->SignalWorker(i, SIGCONT);
  WriteRandomFile(cluster_->ufs_root() / "data/new.bin", 10, 4);
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, false), expected) << "kept: immutable";
  h->DropCaches();
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, false),
            (std::vector<std::string>{".", "..", "a.bin", "empty", "new.bin", "sub"}));
}

TEST_F(HandlersTest, MountPointsShowInListingsEvenWithoutAUfsDirectory) {
  const auto other = cluster_->ufs_root().parent_path() / "other-ufs";
  WriteRandomFile(other / "c.bin", 10, 4);
  ASSERT_TRUE(cluster_->Cli("fs mount /extra/nested file://" + other.string()).exit_code == 0);
  auto h = NewHandlers();
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, true),
            (std::vector<std::string>{".", "..", "data", "extra"}));
  auto extra = h->Lookup(InodeTable::kRootInode, "extra");
  ASSERT_TRUE(extra.ok()) << extra.status();
  EXPECT_TRUE(S_ISDIR(extra->attr.st_mode));
  auto nested = h->Lookup(extra->inode, "nested");
  ASSERT_TRUE(nested.ok()) << nested.status();
  auto c = h->Lookup(nested->inode, "c.bin");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->attr.st_size, 10);
}

TEST_F(HandlersTest, LookupsAndListingsGoOnWithoutTheCoordinator) {
  auto h = NewHandlers("/data");
  EXPECT_EQ(Names(*h, InodeTable::kRootInode, true).size(), 5u);
  cluster_->KillCoordinator();
  // Past the mount table's re-read interval, so the handlers ask the coordinator again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(h->Lookup(InodeTable::kRootInode, "nope").status().code(), Code::kNotFound);
  auto sub = h->Lookup(InodeTable::kRootInode, "sub");
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_EQ(Names(*h, sub->inode, false), (std::vector<std::string>{".", "..", "b.bin"}));
}

TEST_F(HandlersTest, ReadsGoThroughTheCacheAtAnyOffset) {
  auto h = NewHandlers("/data");
  auto a = h->Lookup(InodeTable::kRootInode, "a.bin");
  ASSERT_TRUE(a.ok()) << a.status();
  auto opened = h->Open(a->inode);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const std::string& bytes = files_["data/a.bin"];
  std::vector<std::byte> buffer(1 << 20);
  // Across a segment boundary (256 KB), whole, and past the end.
  for (const auto& [offset, size] : std::vector<std::pair<uint64_t, size_t>>{
           {0, 4096}, {250'000, 20'000}, {0, 1 << 20}, {699'990, 4096}, {800'000, 10}}) {
    auto n = h->Read(opened->handle, offset, std::span(buffer).first(size));
    ASSERT_TRUE(n.ok()) << n.status();
    const size_t expected = offset >= bytes.size() ? 0 : std::min(size, bytes.size() - offset);
    ASSERT_EQ(*n, expected) << offset;
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buffer.data()), *n),
              std::string_view(bytes).substr(std::min<size_t>(offset, bytes.size()), *n))
        << offset;
  }
  h->Release(opened->handle);
  EXPECT_EQ(h->open_files(), 0u);
  EXPECT_EQ(h->Read(opened->handle, 0, std::span(buffer).first(10)).status().code(),
            Code::kNotFound);
}

// Reads without an open (no_open: the kernel sends handle 0) are served by the inode's own
// reader, from the first read on and after the kernel forgets and looks the file up again.
TEST_F(HandlersTest, ReadsWithoutAnOpenGoThroughTheInodesReader) {
  auto h = NewHandlers("/data");
  auto a = h->Lookup(InodeTable::kRootInode, "a.bin");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string& bytes = files_["data/a.bin"];
  std::vector<std::byte> scratch(128 << 10);
  std::string got;
  for (uint64_t offset = 0; offset < bytes.size(); offset += scratch.size()) {
    auto view = h->ReadView(/*handle=*/0, a->inode, offset, scratch);
    ASSERT_TRUE(view.ok()) << view.status();
    got.append(reinterpret_cast<const char*>(view->bytes.data()), view->bytes.size());
  }
  EXPECT_TRUE(got == bytes) << got.size() << " bytes, want " << bytes.size();
  EXPECT_EQ(h->open_files(), 0u);

  h->Forget(a->inode, 1);
  EXPECT_EQ(h->ReadView(0, a->inode, 0, scratch).status().code(), Code::kNotFound);
  auto again = h->Lookup(InodeTable::kRootInode, "a.bin");
  ASSERT_TRUE(again.ok()) << again.status();
  auto view = h->ReadView(0, again->inode, 1000, std::span(scratch).first(10));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(view->bytes.data()), 10),
            std::string_view(bytes).substr(1000, 10));
  auto dir = h->Lookup(InodeTable::kRootInode, "sub");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(h->ReadView(0, dir->inode, 0, scratch).status().code(), Code::kInvalidArgument);
}

// An open listing is a snapshot; after DropCaches, a rewind (readdir from offset 0) lists the UFS
// again, as a fresh opendir does.
TEST_F(HandlersTest, DropCachesMakesARewoundListingShowTheUfsAsItIsNow) {
  auto h = NewHandlers("/data");
  auto dir = h->OpenDir(InodeTable::kRootInode);
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto names = [&] {
    std::vector<std::string> out;
    EXPECT_TRUE(h->ReadDir(*dir, 0, false, [&](const DirEntry& d) {
                   out.push_back(d.name);
                   return true;
                 }).ok());
    return out;
  };
  const std::vector<std::string> before = {".", "..", "a.bin", "empty", "sub"};
  EXPECT_EQ(names(), before);
  WriteRandomFile(cluster_->ufs_root() / "data/new.bin", 10, 4);
  EXPECT_EQ(names(), before);
  h->DropCaches();
  EXPECT_EQ(names(), (std::vector<std::string>{".", "..", "a.bin", "empty", "new.bin", "sub"}));
  h->ReleaseDir(*dir);
}

// A sequential reader through the read-ahead (its windows over segment boundaries, the last one
// short) and a random one on the same file get the UFS's bytes; release frees the handle.
TEST_F(HandlersTest, SequentialAndRandomReadsThroughTheReadAheadGetTheUfsBytes) {
  auto h = NewHandlers("/data");
  auto a = h->Lookup(InodeTable::kRootInode, "a.bin");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string& bytes = files_["data/a.bin"];
  auto sequential = h->Open(a->inode);
  auto random = h->Open(a->inode);
  ASSERT_TRUE(sequential.ok() && random.ok());
  EXPECT_NE(sequential->handle, random->handle);
  EXPECT_EQ(h->open_files(), 2u);
  std::string got;
  std::vector<std::byte> buffer(96 << 10);
  for (uint64_t offset = 0;; offset += buffer.size()) {
    auto n = h->Read(sequential->handle, offset, buffer);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    got.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
  EXPECT_TRUE(got == bytes);
  for (const uint64_t offset : {600'000u, 3u, 262'100u, 699'999u}) {
    auto n = h->Read(random->handle, offset, std::span(buffer).first(1000));
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buffer.data()), *n),
              std::string_view(bytes).substr(offset, 1000));
  }
  h->Release(sequential->handle);
  h->Release(random->handle);
  EXPECT_EQ(h->open_files(), 0u);
}

TEST_F(HandlersTest, OpenRefusesWritesAndDirectories) {
  for (int flags :
       {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_RDONLY | O_APPEND, O_RDONLY | O_CREAT}) {
    EXPECT_EQ(Handlers::RefuseWrites(flags), EROFS) << flags;
  }
  EXPECT_EQ(Handlers::RefuseWrites(O_RDONLY), 0);
  EXPECT_EQ(Handlers::RefuseWrites(O_RDONLY | O_NOFOLLOW | O_CLOEXEC), 0);
  auto h = NewHandlers();
  auto data = h->Lookup(InodeTable::kRootInode, "data");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(h->Open(data->inode).status().code(), Code::kInvalidArgument);
}

TEST_F(HandlersTest, KernelCachingFollowsTheCacheFilter) {
  const std::string filter = R"({"apiVersion": 1,
    "metadata": {"skipCache": [".*/sub/.*"], "maxAge": {".*/empty": "7s"}},
    "data": {"skipCache": [".*/sub/.*"], "maxAge": {".*/empty": "7s"}}})";
  auto h = NewHandlers("/data", {}, filter);
  auto a = h->Lookup(InodeTable::kRootInode, "a.bin");      // immutable (the default)
  auto empty = h->Lookup(InodeTable::kRootInode, "empty");  // maxAge 7s
  auto sub = h->Lookup(InodeTable::kRootInode, "sub");
  ASSERT_TRUE(a.ok() && empty.ok() && sub.ok());
  auto b = h->Lookup(sub->inode, "b.bin");  // skipCache
  ASSERT_TRUE(b.ok()) << b.status();

  EXPECT_EQ(a->attr_timeout, FuseOptions{}.immutable_timeout);
  EXPECT_EQ(a->entry_timeout, FuseOptions{}.immutable_timeout);
  EXPECT_EQ(empty->attr_timeout, 7.0);
  EXPECT_EQ(empty->entry_timeout, 7.0);
  EXPECT_EQ(b->attr_timeout, 0.0);
  EXPECT_EQ(b->entry_timeout, 0.0);

  auto open_a = h->Open(a->inode);
  auto open_empty = h->Open(empty->inode);
  auto open_b = h->Open(b->inode);
  ASSERT_TRUE(open_a.ok() && open_empty.ok() && open_b.ok());
  EXPECT_TRUE(open_a->keep_cache);
  EXPECT_FALSE(open_a->direct_io);
  EXPECT_FALSE(open_empty->keep_cache);
  EXPECT_FALSE(open_empty->direct_io);
  EXPECT_FALSE(open_b->keep_cache);
  EXPECT_TRUE(open_b->direct_io);
}

TEST_F(HandlersTest, MountOptionsOverrideTheFilter) {
  auto h = NewHandlers("/data", {"attr_timeout=1.5,entry_timeout=0.5", "direct_io"});
  auto a = h->Lookup(InodeTable::kRootInode, "a.bin");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->attr_timeout, 1.5);
  EXPECT_EQ(a->entry_timeout, 0.5);
  auto opened = h->Open(a->inode);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->direct_io);
  EXPECT_FALSE(opened->keep_cache);
}

TEST_F(HandlersTest, StatFsShowsTheCacheCapacityAndNothingToWrite) {
  auto h = NewHandlers();
  auto st = h->StatFs();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_GT(st->f_blocks, 0u);
  EXPECT_LE(st->f_bfree, st->f_blocks);
  EXPECT_EQ(st->f_bavail, 0u);
  EXPECT_EQ(st->f_bsize, 4096u);
}

}  // namespace
}  // namespace alluvium::fuse
