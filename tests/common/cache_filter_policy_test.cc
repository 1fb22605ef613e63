#include "common/cache_filter_policy.h"

#include <gtest/gtest.h>

namespace alluvium {
namespace {

using namespace std::chrono_literals;

constexpr CacheRule kImmutable{.type = CacheRuleType::kImmutable};
constexpr CacheRule kSkip{.type = CacheRuleType::kSkipCache};
constexpr CacheRule MaxAge(std::chrono::milliseconds age) {
  return {.type = CacheRuleType::kMaxAge, .max_age = age};
}

CacheFilterPolicy ParseOk(std::string_view text) {
  auto policy = CacheFilterPolicy::Parse(text);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : CacheFilterPolicy();
}

// The parse error for `text`, which must be kInvalidArgument.
std::string ParseError(std::string_view text) {
  auto policy = CacheFilterPolicy::Parse(text);
  if (policy.ok()) {
    ADD_FAILURE() << "parsed: " << text;
    return "";
  }
  EXPECT_EQ(policy.status().code(), Code::kInvalidArgument) << policy.status();
  return policy.status().message();
}

TEST(CacheFilterPolicyTest, DefaultPolicyMakesMetadataAndDataImmutable) {
  CacheFilterPolicy policy;
  EXPECT_EQ(policy.ForMetadata("s3://bucket/a"), kImmutable);
  EXPECT_EQ(policy.ForData("file:///x/y"), kImmutable);
}

// The example from Alluxio's cache filter documentation.
TEST(CacheFilterPolicyTest, AlluxiosDocumentedExampleParsesAndMatches) {
  const CacheFilterPolicy policy = ParseOk(R"({
    "apiVersion": 1,
    "data": {
      "immutable": [".*/immutable_tables/.*"],
      "skipCache": [".*/skip_cache_tables/.*"],
      "maxAge": {".*/mutable_tables/.*": "10s"},
      "defaultType": "immutable"
    },
    "metadata": {
      "immutable": [".*/immutable_tables/.*"],
      "skipCache": [".*/skip_cache_tables/.*"],
      "maxAge": {".*/mutable_tables/.*": "10s"},
      "defaultType": "immutable"
    }
  })");
  for (auto rule : {&CacheFilterPolicy::ForMetadata, &CacheFilterPolicy::ForData}) {
    EXPECT_EQ((policy.*rule)("s3://b/immutable_tables/t1/part-0"), kImmutable);
    EXPECT_EQ((policy.*rule)("s3://b/skip_cache_tables/x"), kSkip);
    EXPECT_EQ((policy.*rule)("s3://b/mutable_tables/y"), MaxAge(10s));
    EXPECT_EQ((policy.*rule)("s3://b/other/z"), kImmutable);
  }
}

TEST(CacheFilterPolicyTest, SectionsAreIndependent) {
  const CacheFilterPolicy policy = ParseOk(R"({"apiVersion": 1,
    "metadata": {"defaultType": "skipCache"},
    "data": {"maxAge": {".*": "5min"}}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/k"), kSkip);
  EXPECT_EQ(policy.ForData("s3://b/k"), MaxAge(5min));
}

TEST(CacheFilterPolicyTest, MissingSectionsAndKeysMeanImmutable) {
  const CacheFilterPolicy policy = ParseOk(R"({"apiVersion": 1, "data": {}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/k"), kImmutable);
  EXPECT_EQ(policy.ForData("s3://b/k"), kImmutable);
}

TEST(CacheFilterPolicyTest, DefaultTypeAppliesWhenNoRuleMatches) {
  const CacheFilterPolicy policy = ParseOk(R"({"apiVersion": 1, "metadata": {
    "immutable": ["s3://b/frozen/.*"], "defaultType": "skipCache"}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/frozen/k"), kImmutable);
  EXPECT_EQ(policy.ForMetadata("s3://b/live/k"), kSkip);
}

TEST(CacheFilterPolicyTest, SkipCacheBeatsMaxAgeBeatsImmutable) {
  const CacheFilterPolicy policy = ParseOk(R"({"apiVersion": 1, "metadata": {
    "immutable": [".*"],
    "maxAge": {"s3://b/logs/.*": "1h"},
    "skipCache": ["s3://b/logs/current/.*"]}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/logs/current/x"), kSkip);
  EXPECT_EQ(policy.ForMetadata("s3://b/logs/old/x"), MaxAge(1h));
  EXPECT_EQ(policy.ForMetadata("s3://b/data/x"), kImmutable);
}

TEST(CacheFilterPolicyTest, TheShortestMatchingMaxAgeWins) {
  const CacheFilterPolicy policy = ParseOk(R"({"apiVersion": 1, "metadata": {"maxAge": {
    ".*": "1h", ".*\\.json": "30s", "s3://b/.*": 600000}}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/x.json"), MaxAge(30s));
  EXPECT_EQ(policy.ForMetadata("s3://b/x.bin"), MaxAge(10min));  // milliseconds as a number
  EXPECT_EQ(policy.ForMetadata("file:///x.bin"), MaxAge(1h));
}

TEST(CacheFilterPolicyTest, RegexesMustMatchTheWholeUri) {
  const CacheFilterPolicy policy =
      ParseOk(R"({"apiVersion": 1, "metadata": {"skipCache": ["tmp"]}})");
  EXPECT_EQ(policy.ForMetadata("s3://b/tmp/x"), kImmutable);  // "tmp" is only part of it
  EXPECT_EQ(ParseOk(R"({"apiVersion": 1, "metadata": {"skipCache": [".*/tmp/.*"]}})")
                .ForMetadata("s3://b/tmp/x"),
            kSkip);
}

TEST(CacheFilterPolicyTest, BadJsonIsAClearError) {
  EXPECT_NE(ParseError(R"({"apiVersion": 1,)").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ParseError("[1]").find("object"), std::string::npos);
}

TEST(CacheFilterPolicyTest, MissingOrUnknownApiVersionIsRefused) {
  EXPECT_NE(ParseError(R"({"data": {}})").find("apiVersion is missing"), std::string::npos);
  const std::string error = ParseError(R"({"apiVersion": 2, "data": {}})");
  EXPECT_NE(error.find("apiVersion 2 is not supported"), std::string::npos) << error;
  EXPECT_NE(ParseError(R"({"apiVersion": "1"})").find("apiVersion"), std::string::npos);
}

TEST(CacheFilterPolicyTest, BadRegexNamesTheFieldAndThePattern) {
  const std::string error = ParseError(R"({"apiVersion": 1, "data": {"skipCache": ["ok", "(a"]}})");
  EXPECT_NE(error.find("data.skipCache[1]"), std::string::npos) << error;
  EXPECT_NE(error.find("\"(a\""), std::string::npos) << error;
  const std::string in_max_age =
      ParseError(R"({"apiVersion": 1, "metadata": {"maxAge": {"[z-a]": "1s"}}})");
  EXPECT_NE(in_max_age.find("metadata.maxAge[\"[z-a]\"]"), std::string::npos) << in_max_age;
}

TEST(CacheFilterPolicyTest, BadAgesAndShapesAreRefused) {
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"maxAge": {".*": "soon"}}})")
                .find("\"soon\" is not a duration"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"maxAge": {".*": -5}}})").find("duration"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"maxAge": [".*"]}})").find("data.maxAge"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"immutable": ".*"}})").find("list"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"immutable": [3]}})").find("string"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": []})").find("data: expected an object"),
            std::string::npos);
}

TEST(CacheFilterPolicyTest, DefaultTypeMustBeImmutableOrSkipCache) {
  EXPECT_NE(
      ParseError(R"({"apiVersion": 1, "data": {"defaultType": "maxAge"}})").find("catch-all rule"),
      std::string::npos);
  EXPECT_NE(
      ParseError(R"({"apiVersion": 1, "data": {"defaultType": "never"}})").find("data.defaultType"),
      std::string::npos);
}

TEST(CacheFilterPolicyTest, UnknownKeysAreRefusedSoATypoDoesNotCacheForever) {
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "data": {"skipcache": [".*"]}})")
                .find("unknown key \"data.skipcache\""),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"apiVersion": 1, "meta": {}})").find("unknown key \"meta\""),
            std::string::npos);
}

}  // namespace
}  // namespace alluvium
