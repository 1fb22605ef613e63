#include "common/status_mapping.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(StatusMappingTest, CodesMapToHttpAndErrno) {
  EXPECT_EQ(HttpStatusOf(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(Code::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusOf(Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(Code::kInternal), 500);
  EXPECT_EQ(FromErrno(ENOENT, "open").code(), Code::kNotFound);
  EXPECT_EQ(FromErrno(ENOSPC, "write").code(), Code::kResourceExhausted);
  EXPECT_EQ(FromErrno(EACCES, "open").code(), Code::kPermissionDenied);
}

TEST(StatusMappingTest, HttpStatusesMapBackToTheirFirstCode) {
  for (Code c : {Code::kInvalidArgument, Code::kUnauthenticated, Code::kPermissionDenied,
                 Code::kNotFound, Code::kAlreadyExists, Code::kResourceExhausted,
                 Code::kUnimplemented, Code::kUnavailable, Code::kDeadlineExceeded}) {
    EXPECT_EQ(CodeOfHttpStatus(HttpStatusOf(c)), c) << CodeName(c);
  }
  EXPECT_EQ(CodeOfHttpStatus(200), Code::kOk);
  EXPECT_EQ(CodeOfHttpStatus(418), Code::kInvalidArgument);
  EXPECT_EQ(CodeOfHttpStatus(500), Code::kInternal);
  EXPECT_EQ(CodeOfHttpStatus(502), Code::kInternal);
}

TEST(StatusMappingTest, CodeNamesMapBackToCodes) {
  for (uint32_t c = 0; c <= CodeToWire(Code::kUnauthenticated); ++c) {
    const Code code = static_cast<Code>(c);
    EXPECT_EQ(CodeFromName(CodeName(code)), code);
  }
  EXPECT_EQ(CodeFromName("not_found"), std::nullopt);
  EXPECT_EQ(CodeFromName(""), std::nullopt);
}

TEST(StatusMappingTest, WireCodesRoundTripAndUnknownNumbersAreUnknown) {
  EXPECT_EQ(CodeToWire(Code::kFailedPrecondition), 9u);  // gRPC's numbering
  const Status st = StatusFromWire(CodeToWire(Code::kResourceExhausted), "disk full");
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(st.message(), "disk full");
  EXPECT_TRUE(StatusFromWire(0, "").ok());
  const Status unknown = StatusFromWire(99, "from a newer worker");
  EXPECT_EQ(unknown.code(), Code::kUnknown);
  EXPECT_EQ(unknown.message(), "from a newer worker (unknown status code 99)");
}

TEST(StatusMappingTest, S3ErrorCodesSayMoreThanTheirHttpStatus) {
  EXPECT_EQ(FromS3(404, "NoSuchKey", "m").code(), Code::kNotFound);
  EXPECT_EQ(FromS3(503, "SlowDown", "m").code(), Code::kUnavailable);
  EXPECT_EQ(FromS3(400, "RequestTimeout", "m").code(), Code::kUnavailable);
  EXPECT_EQ(FromS3(400, "ExpiredToken", "m").code(), Code::kPermissionDenied);
  EXPECT_EQ(FromS3(412, "PreconditionFailed", "m").code(), Code::kAborted);
  EXPECT_EQ(FromS3(416, "InvalidRange", "m").code(), Code::kOutOfRange);
  EXPECT_EQ(FromS3(403, "AccessDenied", "GET s3://b/k: 403 AccessDenied").message(),
            "GET s3://b/k: 403 AccessDenied");
}

TEST(StatusMappingTest, UnlistedS3ErrorsGoByTheHttpStatus) {
  EXPECT_EQ(FromS3(400, "InvalidArgument", "m").code(), Code::kInvalidArgument);
  EXPECT_EQ(FromS3(403, "", "m").code(), Code::kPermissionDenied);
  EXPECT_EQ(FromS3(404, "", "m").code(), Code::kNotFound);
  EXPECT_EQ(FromS3(409, "BucketNotEmpty", "m").code(), Code::kFailedPrecondition);
  EXPECT_EQ(FromS3(429, "", "m").code(), Code::kUnavailable);
  EXPECT_EQ(FromS3(502, "", "m").code(), Code::kUnavailable);
  EXPECT_EQ(FromS3(301, "PermanentRedirect", "m").code(), Code::kUnknown);
}

}  // namespace
}  // namespace alluvium
