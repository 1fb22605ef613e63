#include "coordinator/scheduler/failed_file_list.h"

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium::coordinator {
namespace {

using testing::ScopedTempDir;

TEST(FailedFileSinkTest, NamesTheFileAfterTheJobAndCreatesItAtTheFirstFailure) {
  ScopedTempDir dir;
  FailedFileSink sink(dir.path() / "failed", "/data/train set", "job-1");
  EXPECT_EQ(sink.path(), dir.path() / "failed" / "_data_train_set_job-1.txt");
  EXPECT_FALSE(std::filesystem::exists(sink.path()));

  ASSERT_TRUE(sink.Append({"file:///a"}).ok());
  ASSERT_TRUE(sink.Append({"file:///b", "file:///c"}).ok());
  auto text = ReadWholeFile(sink.path());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "file:///a\nfile:///b\nfile:///c\n");
}

TEST(FailedFileSinkTest, AppendsToTheListOfAnEarlierRunOfTheJob) {
  ScopedTempDir dir;
  ASSERT_TRUE(FailedFileSink(dir.path(), "/d", "job-1").Append({"file:///a"}).ok());
  FailedFileSink again(dir.path(), "/d", "job-1");
  ASSERT_TRUE(again.Append({"file:///b"}).ok());
  EXPECT_EQ(ReadWholeFile(again.path()).value_or(""), "file:///a\nfile:///b\n");
}

TEST(FailedFileSinkTest, WithoutADirectoryNothingIsWritten) {
  FailedFileSink sink({}, "/d", "job-1");
  EXPECT_FALSE(sink.enabled());
  EXPECT_TRUE(sink.Append({"file:///a"}).ok());
}

TEST(FailedFileSinkTest, ADirectoryThatCannotBeMadeIsAnError) {
  ScopedTempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "plain", "a file, not a directory").ok());
  FailedFileSink sink(dir.path() / "plain" / "sub", "/d", "job-1");
  EXPECT_FALSE(sink.Append({"file:///a"}).ok());
}

}  // namespace
}  // namespace alluvium::coordinator
