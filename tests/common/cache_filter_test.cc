#include "common/cache_filter.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "common/metrics.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium {
namespace {

using ::alluvium::testing::ScopedTempDir;
using namespace std::chrono_literals;

constexpr char kSkipAll[] = R"({"apiVersion": 1, "metadata": {"defaultType": "skipCache"}})";
constexpr char kImmutableAll[] = R"({"apiVersion": 1, "metadata": {"immutable": [".*"]}})";

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  CacheFilter::Clock fn() {
    return [this] { return now; };
  }
};

class CacheFilterTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(std::string_view text) {
    EXPECT_TRUE(WriteFileAtomically(file_, text).ok());
    return file_;
  }

  std::unique_ptr<CacheFilter> OpenOk(std::chrono::milliseconds interval) {
    auto filter = CacheFilter::Open({.file = file_, .check_interval = interval}, clock_.fn());
    EXPECT_TRUE(filter.ok()) << filter.status();
    return filter.ok() ? std::move(*filter) : nullptr;
  }

  ScopedTempDir dir_;
  std::filesystem::path file_ = dir_.path() / "cache_filter.json";
  FakeClock clock_;
};

TEST_F(CacheFilterTest, NoFileMeansEverythingImmutable) {
  auto filter = CacheFilter::Open({});
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ((*filter)->ForMetadata("s3://b/k").type, CacheRuleType::kImmutable);
  EXPECT_EQ((*filter)->ForData("s3://b/k").type, CacheRuleType::kImmutable);
}

TEST_F(CacheFilterTest, BadFileAtStartupIsInvalidArgumentNamingTheFile) {
  Write(R"({"apiVersion": 7})");
  auto filter = CacheFilter::Open({.file = file_});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), Code::kInvalidArgument);
  EXPECT_NE(filter.status().message().find(file_.string()), std::string::npos) << filter.status();
  EXPECT_NE(filter.status().message().find("apiVersion 7"), std::string::npos) << filter.status();
}

TEST_F(CacheFilterTest, MissingFileAtStartupIsInvalidArgumentNamingTheFile) {
  auto filter = CacheFilter::Open({.file = dir_.path() / "nope.json"});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), Code::kInvalidArgument);
  EXPECT_NE(filter.status().message().find("nope.json"), std::string::npos) << filter.status();
}

TEST_F(CacheFilterTest, AChangedFileIsPickedUpOnlyAfterTheCheckInterval) {
  Write(kImmutableAll);
  auto filter = OpenOk(1min);
  ASSERT_NE(filter, nullptr);
  Write(kSkipAll);

  clock_.now += 59s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kImmutable);
  clock_.now += 1s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kSkipCache);
}

TEST_F(CacheFilterTest, ABadFileAtAReReadKeepsTheLastGoodRules) {
  Write(kSkipAll);
  auto filter = OpenOk(1s);
  ASSERT_NE(filter, nullptr);
  const int64_t errors_before = metrics::ValueOf("alluvium_cache_filter_reread_errors_total");

  Write(R"({"apiVersion": 1, "metadata": {"skipCache": ["("]}})");
  clock_.now += 1s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kSkipCache);
  std::filesystem::remove(file_);
  clock_.now += 1s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kSkipCache);
  EXPECT_EQ(metrics::ValueOf("alluvium_cache_filter_reread_errors_total"), errors_before + 2);

  Write(kImmutableAll);  // fixed: taken at the next check
  clock_.now += 1s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kImmutable);
}

TEST_F(CacheFilterTest, APolicyHandedOutStaysValidAfterAReRead) {
  Write(kSkipAll);
  auto filter = OpenOk(1s);
  ASSERT_NE(filter, nullptr);
  std::shared_ptr<const CacheFilterPolicy> old = filter->Current();
  Write(kImmutableAll);
  clock_.now += 1s;
  EXPECT_EQ(filter->ForMetadata("s3://b/k").type, CacheRuleType::kImmutable);
  EXPECT_EQ(old->ForMetadata("s3://b/k").type, CacheRuleType::kSkipCache);
}

}  // namespace
}  // namespace alluvium
