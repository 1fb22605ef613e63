#include <string>

#include <gtest/gtest.h>

#include "ufs/ufs.h"

namespace alluvium::ufs {
namespace {

Uri MustParse(std::string_view text) {
  Result<Uri> uri = Uri::Parse(text);
  EXPECT_TRUE(uri.ok()) << text << ": " << uri.status();
  return uri.ok() ? *uri : Uri{};
}

TEST(UriTest, ParsesFileUri) {
  Uri uri = MustParse("file:///a/b");
  EXPECT_EQ(uri.scheme, "file");
  EXPECT_EQ(uri.authority, "");
  EXPECT_EQ(uri.path, "/a/b");
  EXPECT_FALSE(uri.trailing_slash);
  EXPECT_EQ(uri.ToString(), "file:///a/b");
}

TEST(UriTest, PlainAbsolutePathIsAFileUri) {
  EXPECT_EQ(MustParse("/a/b"), MustParse("file:///a/b"));
  EXPECT_EQ(MustParse("/a/b").ToString(), "file:///a/b");
}

TEST(UriTest, RootRoundTrips) {
  Uri uri = MustParse("/");
  EXPECT_EQ(uri.path, "/");
  EXPECT_FALSE(uri.trailing_slash);
  EXPECT_EQ(uri.ToString(), "file:///");
  EXPECT_EQ(MustParse("file:///"), uri);
}

TEST(UriTest, NormalisesPathAndRemembersTrailingSlash) {
  Uri uri = MustParse("file:///a//b/./c/../d/");
  EXPECT_EQ(uri.path, "/a/b/d");
  EXPECT_TRUE(uri.trailing_slash);
  EXPECT_EQ(uri.ToString(), "file:///a/b/d/");
  EXPECT_EQ(MustParse("/a/../b").path, "/b");
}

TEST(UriTest, SchemeIsCaseInsensitive) {
  EXPECT_EQ(MustParse("FILE:///x"), MustParse("file:///x"));
  EXPECT_EQ(MustParse("S3://b/k").scheme, "s3");
}

TEST(UriTest, ParsesS3PrefixKeepingItsTrailingSlash) {
  Uri uri = MustParse("s3://bucket/key/prefix/");
  EXPECT_EQ(uri.scheme, "s3");
  EXPECT_EQ(uri.authority, "bucket");
  EXPECT_EQ(uri.path, "/key/prefix");
  EXPECT_TRUE(uri.trailing_slash);
  EXPECT_EQ(uri.ToString(), "s3://bucket/key/prefix/");

  Uri key = MustParse("s3://bucket/key/object");
  EXPECT_FALSE(key.trailing_slash);
  EXPECT_EQ(key.ToString(), "s3://bucket/key/object");
}

TEST(UriTest, S3BucketAloneIsItsRoot) {
  Uri bare = MustParse("s3://bucket");
  EXPECT_EQ(bare.path, "/");
  EXPECT_FALSE(bare.trailing_slash);
  EXPECT_EQ(bare.ToString(), "s3://bucket/");
  EXPECT_EQ(MustParse("s3://bucket/"), bare);
}

TEST(UriTest, KeepsPercentAndQueryCharactersAsPath) {
  Uri uri = MustParse("file:///a%20b?c#d");
  EXPECT_EQ(uri.path, "/a%20b?c#d");
  EXPECT_EQ(uri.ToString(), "file:///a%20b?c#d");
}

TEST(UriTest, RoundTripsThroughToString) {
  for (std::string_view text : {"file:///", "file:///x", "file:///x/y/", "s3://b/", "s3://b/k",
                                "s3://b/k/", "s3://my-bucket.eu/a/b/c"}) {
    Uri uri = MustParse(text);
    EXPECT_EQ(uri.ToString(), text);
    EXPECT_EQ(MustParse(uri.ToString()), uri) << text;
  }
}

class UriRejectionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UriRejectionTest, RejectsWithInvalidArgument) {
  Result<Uri> uri = Uri::Parse(GetParam());
  ASSERT_FALSE(uri.ok()) << "parsed: " << uri->ToString();
  EXPECT_EQ(uri.status().code(), Code::kInvalidArgument) << uri.status();
  EXPECT_FALSE(uri.status().message().empty());
}

INSTANTIATE_TEST_SUITE_P(BadUris, UriRejectionTest,
                         ::testing::Values("",                            // empty
                                           "a/b", "./a", "a",             // relative
                                           "file:///../x", "/a/../../b",  // climbs above the root
                                           std::string("/a\0b", 4),       // NUL byte
                                           std::string("s3://b/\0", 8),   //
                                           "file://host/x",               // remote host
                                           "file://",                     // no path
                                           "file:/a/b",                   // not scheme://
                                           "s3:///key",                   // no bucket
                                           "s3://us@er/key",              // bad bucket
                                           "://x/y", "1s3://b/x", "s 3://b/x"));  // bad scheme

TEST(UriTest, RejectionMessageNamesTheProblem) {
  EXPECT_EQ(Uri::Parse("").status().message(), "empty URI");
  EXPECT_EQ(Uri::Parse(std::string("/a\0b", 4)).status().message(), "URI contains a NUL byte");
  EXPECT_NE(Uri::Parse("a/b").status().message().find("'a/b'"), std::string::npos);
  EXPECT_NE(Uri::Parse("file://host/x").status().message().find("'host'"), std::string::npos);
}

}  // namespace
}  // namespace alluvium::ufs
