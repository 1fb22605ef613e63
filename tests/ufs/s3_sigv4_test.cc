// Every expected value here is copied from AWS's publications, never computed by us:
//  - the aws-sig-v4-test-suite, files <name>.creq, .sts and .authz
//    (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html);
//  - the S3 API reference, "Signature Calculations for the Authorization Header: Transferring
//    Payload in a Single Chunk", section Examples;
//  - the IAM guide's example of deriving a signing key.
#include "ufs/s3/sigv4.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace alluvium::ufs::s3 {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4];
    out += kDigits[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

// ---- aws-sig-v4-test-suite ----------------------------------------------------------------

const Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr std::string_view kSuiteDate = "20150830T123600Z";
constexpr std::string_view kSuiteScope = "20150830/us-east-1/service/aws4_request";
constexpr std::string_view kSuiteHost = "example.amazonaws.com";
// The last line of every bodiless .creq in the suite.
constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The suite's requests all carry Host and X-Amz-Date; `extra` comes between them, as in the
// .req files.
RequestToSign SuiteRequest(std::string method, std::string uri, Pairs query, Pairs extra = {}) {
  RequestToSign r{.method = std::move(method),
                  .canonical_uri = std::move(uri),
                  .query = std::move(query),
                  .headers = {{"Host", std::string(kSuiteHost)}},
                  .payload_hash = std::string(kEmptyHash)};
  for (auto& header : extra) r.headers.push_back(std::move(header));
  r.headers.emplace_back("X-Amz-Date", std::string(kSuiteDate));
  return r;
}

void ExpectSuiteVector(const RequestToSign& r, std::string_view creq, std::string_view sts,
                       std::string_view authz, const Credentials& c = kSuiteCredentials) {
  const std::string canonical = CanonicalRequest(r);
  EXPECT_EQ(canonical, creq);
  EXPECT_EQ(StringToSign(kSuiteDate, kSuiteScope, canonical), sts);
  EXPECT_EQ(Authorization(r, c, "us-east-1", "service", kSuiteDate), authz);
}

TEST(SigV4SuiteTest, GetVanilla) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {}),
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// The published get-vanilla-query request has no query at all ("GET / HTTP/1.1").
TEST(SigV4SuiteTest, GetVanillaQuery) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {}),
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4SuiteTest, GetVanillaEmptyQueryKey) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{"Param1", "value1"}}),
      "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderKey) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{"Param1", "value2"}, {"Param1", "Value1"}}),
      "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderKeyCase) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
      "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderValue) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}),
      "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

TEST(SigV4SuiteTest, GetVanillaQueryUnreserved) {
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{unreserved, unreserved}}),
      "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
      "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

TEST(SigV4SuiteTest, GetVanillaUtf8Query) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {{"\xe1\x88\xb4", "bar"}}),  // U+1234
      "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

TEST(SigV4SuiteTest, GetUnreserved) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                   {}),
      "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n"
      "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

// The path is "/ሴ" (U+1234); callers encode paths, as the S3 client will with UriEncode.
TEST(SigV4SuiteTest, GetUtf8) {
  ExpectSuiteVector(
      SuiteRequest("GET", UriEncode("/\xe1\x88\xb4", /*encode_slash=*/false), {}),
      "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4SuiteTest, GetHeaderKeyDuplicate) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {},
                   {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;my-header1;x-amz-date, "
      "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

TEST(SigV4SuiteTest, GetHeaderValueOrder) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {},
                   {{"My-Header1", "value4"},
                    {"My-Header1", "value1"},
                    {"My-Header1", "value3"},
                    {"My-Header1", "value2"}}),
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;my-header1;x-amz-date, "
      "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01");
}

// The .req has "My-Header1: value1" and "My-Header2: \"a   b   c\"": the values keep the
// space after the colon, as an HTTP parser that does not trim would hand them over.
TEST(SigV4SuiteTest, GetHeaderValueTrim) {
  ExpectSuiteVector(
      SuiteRequest("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
      "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
      "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4SuiteTest, PostVanilla) {
  ExpectSuiteVector(
      SuiteRequest("POST", "/", {}),
      "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4SuiteTest, PostVanillaQuery) {
  ExpectSuiteVector(
      SuiteRequest("POST", "/", {{"Param1", "value1"}}),
      "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

TEST(SigV4SuiteTest, PostHeaderKeySort) {
  ExpectSuiteVector(
      SuiteRequest("POST", "/", {}, {{"My-Header1", "value1"}}),
      "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
      "host;my-header1;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;my-header1;x-amz-date, "
      "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c");
}

TEST(SigV4SuiteTest, PostHeaderValueCase) {
  ExpectSuiteVector(
      SuiteRequest("POST", "/", {}, {{"My-Header1", "VALUE1"}}),
      "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
      "host;my-header1;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;my-header1;x-amz-date, "
      "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
}

// The published files of this case disagree with each other: the .creq signs Content-Length,
// while the .sts (whose last line is the SHA-256 of a canonical request without it) and the
// .authz ("SignedHeaders=content-type;host;x-amz-date") do not. So each is checked against
// the request it was made from.
constexpr std::string_view kFormBody = "Param1=value1";

RequestToSign FormRequest(bool with_content_length) {
  RequestToSign r =
      SuiteRequest("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}});
  if (with_content_length) r.headers.emplace_back("Content-Length", "13");
  r.payload_hash = Sha256Hex(kFormBody);
  return r;
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencodedPayloadHash) {
  EXPECT_EQ(Sha256Hex(kFormBody),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencodedCanonicalRequest) {
  EXPECT_EQ(CanonicalRequest(FormRequest(/*with_content_length=*/true)),
            "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-length;content-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencodedSignature) {
  const RequestToSign r = FormRequest(/*with_content_length=*/false);
  EXPECT_EQ(StringToSign(kSuiteDate, kSuiteScope, CanonicalRequest(r)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(Authorization(r, kSuiteCredentials, "us-east-1", "service", kSuiteDate),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

constexpr std::string_view kSuiteToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpS"
    "PfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYw"
    "T7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKm"
    "lzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

Credentials SuiteTemporaryCredentials() {
  Credentials c = kSuiteCredentials;
  c.session_token = std::string(kSuiteToken);
  return c;
}

// post-sts-token/post-sts-header-before: the token is a signed header.
TEST(SigV4SuiteTest, PostStsHeaderBefore) {
  RequestToSign r = SuiteRequest("POST", "/", {});
  r.headers.emplace_back("X-Amz-Security-Token", std::string(kSuiteToken));
  ExpectSuiteVector(
      r,
      "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
      "x-amz-security-token:AQoDYXdzEPT//////////"
      "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwt"
      "hAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9H"
      "FvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOL"
      "n9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n\n"
      "host;x-amz-date;x-amz-security-token\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date;x-amz-security-token, "
      "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
      SuiteTemporaryCredentials());
}

// post-sts-token/post-sts-header-after: the token is sent but not signed. Holding a session
// token does not make Authorization() sign a header the caller did not list.
TEST(SigV4SuiteTest, PostStsHeaderAfter) {
  ExpectSuiteVector(
      SuiteRequest("POST", "/", {}),
      "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
      SuiteTemporaryCredentials());
}

// ---- S3 API reference, single-chunk examples ----------------------------------------------

const Credentials kS3Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 ""};
constexpr std::string_view kS3Date = "20130524T000000Z";
constexpr std::string_view kS3Scope = "20130524/us-east-1/s3/aws4_request";
constexpr std::string_view kS3Host = "examplebucket.s3.amazonaws.com";

// The S3 examples print the Authorization header with no space after its commas; S3 accepts
// both, and the test suite above pins our ", ".
std::string WithoutSpaceAfterComma(std::string s) {
  for (size_t at = s.find(", "); at != std::string::npos; at = s.find(", ", at)) s.erase(at + 1, 1);
  return s;
}

void ExpectS3Example(const RequestToSign& r, std::string_view creq, std::string_view sts,
                     std::string_view authz) {
  const std::string canonical = CanonicalRequest(r);
  EXPECT_EQ(canonical, creq);
  EXPECT_EQ(StringToSign(kS3Date, kS3Scope, canonical), sts);
  EXPECT_EQ(WithoutSpaceAfterComma(Authorization(r, kS3Credentials, "us-east-1", "s3", kS3Date)),
            authz);
}

// The page shows two trailing spaces after the canonical request's last line; the published
// StringToSign hashes it without them.
TEST(SigV4S3ExampleTest, GetObject) {
  const RequestToSign r{
      .method = "GET",
      .canonical_uri = "/test.txt",
      .query = {},
      .headers = {{"Host", std::string(kS3Host)},
                  {"Range", "bytes=0-9"},
                  {"x-amz-content-sha256",
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                  {"x-amz-date", " 20130524T000000Z"}},  // spaced as in the example
      .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
  ExpectS3Example(
      r,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Object key "test$file.text", body "Welcome to Amazon S3.".
TEST(SigV4S3ExampleTest, PutObject) {
  const std::string payload_hash = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const RequestToSign r{.method = "PUT",
                        .canonical_uri = UriEncode("/test$file.text", /*encode_slash=*/false),
                        .query = {},
                        .headers = {{"Host", std::string(kS3Host)},
                                    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                    {"x-amz-date", "20130524T000000Z"},
                                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                                    {"x-amz-content-sha256", payload_hash}},
                        .payload_hash = payload_hash};
  ExpectS3Example(
      r,
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
      "host:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
      "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

RequestToSign S3BucketGet(Pairs query) {
  return {.method = "GET",
          .canonical_uri = "/",
          .query = std::move(query),
          .headers = {{"Host", std::string(kS3Host)},
                      {"x-amz-date", "20130524T000000Z"},
                      {"x-amz-content-sha256",
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
          .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
}

// "GET ?lifecycle": a sub-resource with no value is signed as "lifecycle=".
TEST(SigV4S3ExampleTest, GetBucketLifecycle) {
  ExpectS3Example(
      S3BucketGet({{"lifecycle", ""}}),
      "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
      "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

// Given in the opposite order to the canonical one.
TEST(SigV4S3ExampleTest, GetBucketListObjects) {
  ExpectS3Example(
      S3BucketGet({{"prefix", "J"}, {"max-keys", "2"}}),
      "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
      "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// ---- Signing key, dates ---------------------------------------------------------------------

TEST(SigV4Test, DerivesThePublishedSigningKey) {
  EXPECT_EQ(
      Hex(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
      "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Test, AmzDateIsUtcToTheSecond) {
  using namespace std::chrono;
  const sys_days day = year{2015} / 8 / 30;
  EXPECT_EQ(AmzDate(day + 12h + 36min), "20150830T123600Z");
  EXPECT_EQ(AmzDate(day + 12h + 36min + 999ms), "20150830T123600Z");
  EXPECT_EQ(AmzDate(sys_days{year{2013} / 5 / 24}), "20130524T000000Z");
  EXPECT_EQ(AmzDate(system_clock::time_point{}), "19700101T000000Z");
}

// ---- UriEncode --------------------------------------------------------------------------------

TEST(UriEncodeTest, KeepsUnreservedBytes) {
  EXPECT_EQ(UriEncode("AZaz09-._~", true), "AZaz09-._~");
}

TEST(UriEncodeTest, EncodesSpaceAsPercent20NotPlus) {
  EXPECT_EQ(UriEncode("a b", true), "a%20b");
  EXPECT_EQ(UriEncode("a b", false), "a%20b");
}

TEST(UriEncodeTest, SlashIsKeptOnlyInPaths) {
  EXPECT_EQ(UriEncode("/dir/key", false), "/dir/key");
  EXPECT_EQ(UriEncode("/dir/key", true), "%2Fdir%2Fkey");
}

TEST(UriEncodeTest, EncodesReservedBytesWithUppercaseHex) {
  EXPECT_EQ(UriEncode("+", true), "%2B");
  EXPECT_EQ(UriEncode("=", true), "%3D");
  EXPECT_EQ(UriEncode("a+b=c&d", true), "a%2Bb%3Dc%26d");
  EXPECT_EQ(UriEncode("$", false), "%24");
  EXPECT_EQ(UriEncode("*", true), "%2A");
}

// Text is encoded exactly once: a '%' in a key is a byte like any other.
TEST(UriEncodeTest, EncodesPercentItself) { EXPECT_EQ(UriEncode("a%20b", true), "a%2520b"); }

TEST(UriEncodeTest, EncodesEachUtf8Byte) {
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", true), "%E1%88%B4");  // U+1234, as in get-utf8
  EXPECT_EQ(UriEncode("caf\xc3\xa9", false), "caf%C3%A9");
}

}  // namespace
}  // namespace alluvium::ufs::s3
