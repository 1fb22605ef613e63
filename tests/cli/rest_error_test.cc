#include "cli/rest_error.h"

#include <gtest/gtest.h>

namespace alluvium::cli {
namespace {

TEST(RestErrorTest, TheServersOwnCodeAndMessage) {
  const Status st = StatusOfErrorReply(
      400, R"({"error": "FAILED_PRECONDITION", "message": "path /x is not mounted"})");
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);  // not InvalidArgument, as 400 alone says
  EXPECT_EQ(st.message(), "path /x is not mounted");
  EXPECT_EQ(
      StatusOfErrorReply(401, R"({"error": "UNAUTHENTICATED", "message": "no token"})").code(),
      Code::kUnauthenticated);
}

TEST(RestErrorTest, WithoutANamedCodeTheHttpStatusDecides) {
  EXPECT_EQ(StatusOfErrorReply(404, "no such route").code(), Code::kNotFound);
  EXPECT_EQ(StatusOfErrorReply(404, "no such route").message(), "HTTP 404: no such route");
  EXPECT_EQ(StatusOfErrorReply(503, R"({"message": "draining"})").code(), Code::kUnavailable);
  EXPECT_EQ(StatusOfErrorReply(400, R"({"error": "BOGUS", "message": "m"})").code(),
            Code::kInvalidArgument);
}

TEST(RestErrorTest, AnErrorIsNeverOk) {
  EXPECT_EQ(StatusOfErrorReply(500, R"({"error": "OK", "message": "m"})").code(), Code::kUnknown);
  EXPECT_EQ(StatusOfErrorReply(200, "").code(), Code::kUnknown);
}

}  // namespace
}  // namespace alluvium::cli
