#include "coordinator/jobs/load_options.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace alluvium::coordinator {
namespace {

using nlohmann::json;

json Parse(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

// Asserts `options` is rejected with kInvalidArgument and a message naming `name`.
void ExpectRejected(const json& options, std::string_view name) {
  auto parsed = ParseLoadOptions(options);
  ASSERT_FALSE(parsed.ok()) << options.dump();
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << options.dump();
  EXPECT_NE(parsed.status().message().find(name), std::string::npos) << parsed.status().message();
}

TEST(LoadOptionsTest, EmptyAndNullGiveDefaults) {
  auto empty = ParseLoadOptions(json::object());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, LoadOptions{});
  auto null = ParseLoadOptions(json());
  ASSERT_TRUE(null.ok()) << null.status();
  EXPECT_EQ(*null, LoadOptions{});
}

TEST(LoadOptionsTest, ParsesTheAlluxioDocumentationExample) {
  auto parsed = ParseLoadOptions(Parse(
      R"({"replicas":"2","batchSize":"300","partialListing":"true","loadMetadataOnly":"true",)"
      R"("skipIfExists":"true"})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->replicas, 2u);
  EXPECT_EQ(parsed->batch_size, 300u);
  EXPECT_TRUE(parsed->partial_listing);
  EXPECT_TRUE(parsed->metadata_only);
  EXPECT_TRUE(parsed->skip_if_exists);
  EXPECT_FALSE(parsed->verify);
  EXPECT_FALSE(parsed->bandwidth.has_value());
  EXPECT_EQ(parsed->file_filter_regex, "");
}

TEST(LoadOptionsTest, ParsesStringValues) {
  auto parsed = ParseLoadOptions(
      Parse(R"({"replicas":"16","batchSize":"100000","partialListing":"FALSE","verify":"True",)"
            R"("bandwidth":"10MB","fileFilterRegx":".*\\.parquet$","skipIfExists":"false"})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->replicas, 16u);
  EXPECT_EQ(parsed->batch_size, 100000u);
  EXPECT_FALSE(parsed->partial_listing);
  EXPECT_TRUE(parsed->verify);
  EXPECT_FALSE(parsed->skip_if_exists);
  EXPECT_EQ(parsed->bandwidth, 10u * 1024 * 1024);
  EXPECT_EQ(parsed->file_filter_regex, R"(.*\.parquet$)");
}

TEST(LoadOptionsTest, ParsesNativeValues) {
  auto parsed = ParseLoadOptions(
      Parse(R"({"replicas":3,"batchSize":1,"partialListing":true,"loadMetadataOnly":false,)"
            R"("skipIfExists":true,"verify":false,"bandwidth":10485760})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->replicas, 3u);
  EXPECT_EQ(parsed->batch_size, 1u);
  EXPECT_TRUE(parsed->partial_listing);
  EXPECT_FALSE(parsed->metadata_only);
  EXPECT_TRUE(parsed->skip_if_exists);
  EXPECT_FALSE(parsed->verify);
  EXPECT_EQ(parsed->bandwidth, 10485760u);
}

TEST(LoadOptionsTest, NullValuesAreAbsent) {
  auto parsed = ParseLoadOptions(Parse(R"({"replicas":null,"bandwidth":null,"verify":null})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, LoadOptions{});
}

TEST(LoadOptionsTest, RejectsNonObject) {
  for (const char* text : {"[]", "\"replicas\"", "3", "true"}) {
    auto parsed = ParseLoadOptions(Parse(text));
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << text;
  }
}

TEST(LoadOptionsTest, RejectsUnknownOption) {
  ExpectRejected(Parse(R"({"replica":"2"})"), "replica");
  ExpectRejected(Parse(R"({"metadataOnly":true})"), "metadataOnly");
  ExpectRejected(Parse(R"({"typo":null})"), "typo");
}

TEST(LoadOptionsTest, RejectsBadReplicas) {
  for (const char* v : {R"("0")", "0", R"("-1")", "-1", R"("1.5")", "1.5", R"("two")", R"("")",
                        R"("17")", "17", "[2]", "{}", "true"}) {
    SCOPED_TRACE(v);
    ExpectRejected(Parse(std::string(R"({"replicas":)") + v + "}"), "replicas");
  }
}

TEST(LoadOptionsTest, RejectsBadBatchSize) {
  for (const char* v : {R"("-1")", "-1", R"("0")", "0", R"("100001")", "100001", R"("3x")", "[]"}) {
    SCOPED_TRACE(v);
    ExpectRejected(Parse(std::string(R"({"batchSize":)") + v + "}"), "batchSize");
  }
}

TEST(LoadOptionsTest, RejectsBadBandwidth) {
  for (const char* v :
       {R"("fast")", R"("0")", "0", R"("0MB")", R"("-1MB")", "-5", "1.5", "[]", "true"}) {
    SCOPED_TRACE(v);
    ExpectRejected(Parse(std::string(R"({"bandwidth":)") + v + "}"), "bandwidth");
  }
}

TEST(LoadOptionsTest, RejectsBadBooleans) {
  for (const char* key : {"partialListing", "loadMetadataOnly", "skipIfExists", "verify",
                          "allowEviction", "dryRun"}) {
    for (const char* v : {R"("yes")", R"("1")", "1", "0", R"("")", "[true]"}) {
      SCOPED_TRACE(std::string(key) + "=" + v);
      ExpectRejected(Parse(std::string("{\"") + key + "\":" + v + "}"), key);
    }
  }
}

TEST(LoadOptionsTest, RejectsBadRegex) {
  ExpectRejected(Parse(R"({"fileFilterRegx":"([a-z"})"), "fileFilterRegx");
  ExpectRejected(Parse(R"({"fileFilterRegx":"*.csv"})"), "fileFilterRegx");
  ExpectRejected(Parse(R"({"fileFilterRegx":5})"), "fileFilterRegx");
}

// Found by fuzz/load_options_fuzzer: std::regex compiles by recursion, and 100000 nested groups
// overflowed the stack of the REST thread.
TEST(LoadOptionsTest, RejectsRegexLongerThan1024Bytes) {
  const std::string deep = std::string(50000, '(') + std::string(50000, ')');
  ExpectRejected(json{{"fileFilterRegx", deep}}, "fileFilterRegx");
  EXPECT_FALSE(LoadOptions{.file_filter_regex = deep}.Validate().ok());
  const std::string longest = std::string(512, '(') + std::string(512, ')');
  auto parsed = ParseLoadOptions(json{{"fileFilterRegx", longest}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->file_filter_regex, longest);
}

// Found by fuzz/load_options_fuzzer: libstdc++ reads "\\100000000000000000000" (or a{N}) into a
// long without an overflow check, which is undefined behaviour.
TEST(LoadOptionsTest, RejectsHugeRepeatCountsAndBackReferences) {
  for (const char* pattern : {R"(a{99999999999999999999})", R"(a{1,99999999999999999999})",
                              R"((a)\100000000000000000000)", R"(a{1234567890})"}) {
    ExpectRejected(json{{"fileFilterRegx", pattern}}, "fileFilterRegx");
  }
  for (const char* pattern : {R"(part-12345678901234\.parquet$)", R"(a{2,3})", R"((a)\1)"}) {
    auto parsed = ParseLoadOptions(json{{"fileFilterRegx", pattern}});
    EXPECT_TRUE(parsed.ok()) << pattern << ": " << parsed.status();
  }
}

TEST(LoadOptionsTest, MessageShowsTheBadValue) {
  auto parsed = ParseLoadOptions(Parse(R"({"bandwidth":"fast"})"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("fast"), std::string::npos) << parsed.status();
}

TEST(LoadOptionsTest, RoundTripsThroughJson) {
  LoadOptions defaults;
  LoadOptions full{.replicas = 3,
                   .batch_size = 500,
                   .partial_listing = true,
                   .metadata_only = true,
                   .skip_if_exists = true,
                   .bandwidth = 1234567,
                   .verify = true,
                   .file_filter_regex = "^/data/.*",
                   .allow_eviction = true};
  for (const LoadOptions& o : {defaults, full}) {
    const json j = LoadOptionsToJson(o);
    auto back = ParseLoadOptions(j);
    ASSERT_TRUE(back.ok()) << back.status() << " " << j.dump();
    EXPECT_EQ(*back, o) << j.dump();
  }
}

TEST(LoadOptionsTest, DryRunIsAModeOfTheSubmitAndIsNeverStored) {
  auto parsed = ParseLoadOptions(Parse(R"({"dryRun":"true","allowEviction":true})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->dry_run);
  EXPECT_TRUE(parsed->allow_eviction);
  const json j = LoadOptionsToJson(*parsed);
  EXPECT_FALSE(j.contains("dryRun")) << j.dump();
  EXPECT_EQ(j.value("allowEviction", false), true);
}

TEST(LoadOptionsTest, ToJsonUsesNativeTypesAndOmitsUnset) {
  const json j = LoadOptionsToJson(LoadOptions{});
  EXPECT_TRUE(j.at("replicas").is_number_unsigned());
  EXPECT_TRUE(j.at("batchSize").is_number_unsigned());
  EXPECT_TRUE(j.at("partialListing").is_boolean());
  EXPECT_TRUE(j.at("loadMetadataOnly").is_boolean());
  EXPECT_TRUE(j.at("skipIfExists").is_boolean());
  EXPECT_TRUE(j.at("verify").is_boolean());
  EXPECT_FALSE(j.contains("bandwidth"));
  EXPECT_FALSE(j.contains("fileFilterRegx"));
  const json with_bw = LoadOptionsToJson(LoadOptions{.bandwidth = 100});
  EXPECT_EQ(with_bw.at("bandwidth"), 100);
}

TEST(LoadOptionsTest, ValidateEnforcesRanges) {
  EXPECT_TRUE(LoadOptions{}.Validate().ok());
  struct Case {
    LoadOptions options;
    const char* name;
  };
  const Case cases[] = {
      {{.replicas = 0}, "replicas"},    {{.replicas = 17}, "replicas"},
      {{.batch_size = 0}, "batchSize"}, {{.batch_size = 100001}, "batchSize"},
      {{.bandwidth = 0}, "bandwidth"},  {{.file_filter_regex = "(unclosed"}, "fileFilterRegx"},
  };
  for (const Case& c : cases) {
    const Status s = c.options.Validate();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.name), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace alluvium::coordinator
