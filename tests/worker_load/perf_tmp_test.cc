#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include "metastore/meta_store.h"
#include "pagestore/page_store.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"
#include "worker/load_executor.h"
namespace alluvium::worker {
TEST(Perf, SmallFiles) {
  testing::ScopedTempDir dir;
  auto ufsdir = dir.path() / "ufs"; std::filesystem::create_directories(ufsdir);
  std::string data(4096, 'x');
  LoadBatch batch{.job_id = "p"};
  ufs::LocalFileSystem lfs;
  for (int i = 0; i < 20000; ++i) {
    auto p = ufsdir / ("f" + std::to_string(i));
    std::ofstream(p) << data;
    batch.items.push_back({.status = *lfs.GetStatus("file://" + p.string()), .offset = 0, .length = 4096});
  }
  auto store = *pagestore::PageStore::Open({.page_size = 1 << 20, .dirs = {dir.path() / "pages"}, .capacity_bytes = 1ull << 32});
  auto meta = *metastore::MetaStore::Open(dir.path() / "meta");
  UfsRegistry reg;
  LoadExecutor ex({.threads = 16}, *store, reg, *meta);
  ex.Start();
  auto t0 = std::chrono::steady_clock::now();
  for (size_t off = 0; off < batch.items.size(); off += 1000) {
    LoadBatch b{.job_id = "p"};
    b.items.assign(batch.items.begin() + off, batch.items.begin() + off + 1000);
    for (auto& r : ex.Run(b, {})) ASSERT_TRUE(r.status.ok()) << r.status;
  }
  auto t1 = std::chrono::steady_clock::now();
  std::printf("20000 x 4KiB: %.3f s\n", std::chrono::duration<double>(t1 - t0).count());
}
}
