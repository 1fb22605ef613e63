#include "ufs/s3/s3_client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/decimal.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_mapping.h"
#include "ufs/s3/sigv4.h"

namespace alluvium::ufs::s3 {
namespace {

metrics::Counter& requests_total =
    metrics::NewCounter("alluvium_s3_requests_total", "S3 requests sent, retries included.");
metrics::Counter& retries_total = metrics::NewCounter(
    "alluvium_s3_retries_total", "S3 requests sent again after a busy answer or a network error.");
metrics::Counter& bytes_read_total =
    metrics::NewCounter("alluvium_s3_bytes_read_total", "Object bytes received from S3.");

// SHA-256 of an empty body: S3 wants the payload hash even on GET.
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Status ErrorFor(const HttpResponse& response, std::string_view method, std::string_view what) {
  ErrorBody error = ParseError(response.body);
  if (error.code.empty()) {  // HEAD answers have no body
    switch (response.status) {
      case 404:
        error.code = "NotFound";
        break;
      case 403:
        error.code = "Forbidden";
        break;
      case 412:
        error.code = "PreconditionFailed";
        break;
      default:
        error.code = fmt::format("HTTP {}", response.status);
    }
  }
  std::string message = fmt::format("{} {}: {} {}", method, what, response.status, error.code);
  if (!error.message.empty()) message += ": " + error.message;
  return FromS3(response.status, error.code, std::move(message));
}

// "bytes 0-9/443" -> 10 (the length of the part sent).
std::optional<uint64_t> ContentRangeLength(const std::string* header) {
  if (header == nullptr) return std::nullopt;
  uint64_t first = 0, last = 0;
  const char* p = header->data();
  const char* end = p + header->size();
  if (!header->starts_with("bytes ")) return std::nullopt;
  p += 6;
  auto r1 = std::from_chars(p, end, first);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '-') return std::nullopt;
  auto r2 = std::from_chars(r1.ptr + 1, end, last);
  if (r2.ec != std::errc() || last < first) return std::nullopt;
  return last - first + 1;
}

}  // namespace

std::string ObjectUri(std::string_view bucket, std::string_view key) {
  return fmt::format("s3://{}/{}", bucket, key);
}

S3Client::S3Client(S3Options options)
    : options_(std::move(options)),
      retry_(options_.max_attempts, options_.retry_base_delay, options_.retry_max_delay),
      transport_(TransportOptions{.connect_timeout = options_.connect_timeout,
                                  .request_timeout = options_.request_timeout,
                                  .ca_bundle = options_.ca_bundle}) {}

HttpRequest S3Client::Sign(const Call& call) const {
  const Endpoint& ep = options_.endpoint;
  std::string host = ep.HostHeader();
  std::string path = "/";
  if (options_.path_style) {
    path += UriEncode(call.bucket, true);
    if (!call.key.empty()) path += "/" + UriEncode(call.key, false);
  } else {
    host = fmt::format("{}.{}", call.bucket, host);
    path += UriEncode(call.key, false);
  }

  std::vector<std::pair<std::string, std::string>> query = call.query;
  std::sort(query.begin(), query.end());
  std::string query_string;
  for (const auto& [name, value] : query) {
    query_string += query_string.empty() ? "?" : "&";
    query_string += UriEncode(name, true) + "=" + UriEncode(value, true);
  }

  HttpRequest request;
  request.method = call.method;
  request.url = fmt::format("{}://{}{}{}", ep.scheme, host, path, query_string);
  request.headers = call.headers;
  request.headers.emplace_back("host", host);
  if (!options_.credentials.access_key_id.empty()) {
    const std::string amz_date = AmzDate(std::chrono::system_clock::now());
    request.headers.emplace_back("x-amz-date", amz_date);
    request.headers.emplace_back("x-amz-content-sha256", kEmptySha256);
    if (!options_.credentials.session_token.empty()) {
      request.headers.emplace_back("x-amz-security-token", options_.credentials.session_token);
    }
    const RequestToSign to_sign{.method = call.method,
                                .canonical_uri = path,
                                .query = query,
                                .headers = request.headers,
                                .payload_hash = kEmptySha256};
    request.headers.emplace_back("authorization", Authorization(to_sign, options_.credentials,
                                                                options_.region, "s3", amz_date));
  }
  return request;
}

Result<HttpResponse> S3Client::Execute(
    const Call& call, std::span<const int> accepted,
    const std::function<HttpTransport::BodySink()>& sink_for_attempt) {
  const std::string what = ObjectUri(call.bucket, call.key);
  Status last;
  for (int attempt = 1;; ++attempt) {
    // Signed per attempt: the signature covers the time, and S3 refuses it after 15 minutes.
    const HttpRequest request = Sign(call);
    requests_total.Increment();
    HttpTransport::BodySink sink = sink_for_attempt ? sink_for_attempt() : nullptr;
    Result<HttpResponse> response = transport_.Send(request, sink);
    bool retry = false;
    if (!response.ok()) {
      last = response.status().WithContext(fmt::format("{} {}", call.method, what));
      retry = RetryPolicy::Retryable(response.status());
    } else if ((response->status >= 200 && response->status < 300) ||
               std::find(accepted.begin(), accepted.end(), response->status) != accepted.end()) {
      return response;
    } else {
      last = ErrorFor(*response, call.method, what);
      retry = RetryPolicy::Retryable(response->status, ParseError(response->body).code);
    }
    if (!retry || attempt >= retry_.max_attempts()) {
      if (attempt > 1) last = last.WithContext(fmt::format("after {} attempts", attempt));
      return last;
    }
    const auto wait = retry_.Backoff(attempt);
    ALLUVIUM_LOG(DEBUG, "s3 retry {} of {} in {} ms: {}", attempt, what, wait.count(), last);
    retries_total.Increment();
    std::this_thread::sleep_for(wait);
  }
}

Result<ObjectInfo> S3Client::HeadObject(std::string_view bucket, std::string_view key) {
  ALLUVIUM_ASSIGN_OR_RETURN(HttpResponse response,
                            Execute({.method = "HEAD", .bucket = bucket, .key = key}, {}, nullptr));
  ObjectInfo info;
  const std::string* length = response.Header("content-length");
  const std::string* etag = response.Header("etag");
  if (length == nullptr || etag == nullptr) {
    return DataLoss(
        fmt::format("HEAD {}: answer lacks Content-Length or ETag", ObjectUri(bucket, key)));
  }
  const auto size = ParseDecimal<decltype(info.size)>(*length);
  if (!size) {
    return DataLoss(
        fmt::format("HEAD {}: bad Content-Length '{}'", ObjectUri(bucket, key), *length));
  }
  info.size = *size;
  info.etag = UnquoteEtag(*etag);
  if (const std::string* mtime = response.Header("last-modified")) {
    auto parsed = ParseHttpDate(*mtime);
    if (parsed.ok()) info.last_modified_ms = *parsed;
  }
  return info;
}

Result<size_t> S3Client::GetRange(std::string_view bucket, std::string_view key, uint64_t offset,
                                  std::span<std::byte> out, std::string_view if_match) {
  size_t filled = 0;
  ALLUVIUM_ASSIGN_OR_RETURN(
      uint64_t got,
      GetStream(bucket, key, offset, out.size(), if_match, [&](std::span<const std::byte> piece) {
        std::memcpy(out.data() + filled, piece.data(), piece.size());
        filled += piece.size();
        return true;
      }));
  return static_cast<size_t>(got);
}

Result<uint64_t> S3Client::GetStream(
    std::string_view bucket, std::string_view key, uint64_t offset, uint64_t length,
    std::string_view if_match, const std::function<bool(std::span<const std::byte>)>& consume) {
  uint64_t delivered = 0;  // what `consume` has had
  // A stream lasts as long as its reader takes (a bandwidth limit, a slow disk), so a request may
  // time out part way: the next one resumes from there. Each is retried as any other request.
  while (delivered < length) {
    const uint64_t start = offset + delivered;
    Call call{.method = "GET", .bucket = bucket, .key = key};
    call.headers.emplace_back("range", fmt::format("bytes={}-{}", start, offset + length - 1));
    if (!if_match.empty()) call.headers.emplace_back("if-match", fmt::format("\"{}\"", if_match));

    // S3 answers a failed If-Match with 412, but a server that ignores If-Match still names
    // the version it sends: bytes of another version must not be used.
    auto check_head = [&](const HttpResponse& head) -> Status {
      if (const std::string* etag = head.Header("etag");
          !if_match.empty() && etag != nullptr && UnquoteEtag(*etag) != if_match) {
        return Aborted(fmt::format("{} changed since it was listed (ETag {}, now {})",
                                   ObjectUri(bucket, key), if_match, UnquoteEtag(*etag)));
      }
      if (head.status == 200 && start != 0) {
        return DataLoss(
            fmt::format("GET {}: the server ignored the Range header", ObjectUri(bucket, key)));
      }
      return OkStatus();
    };
    const uint64_t before = delivered;
    Status refused;       // why the sink stopped a transfer, if it did
    bool enough = false;  // a whole-object answer to a range from 0 gave all that was asked
    auto sink_for_attempt = [&]() -> HttpTransport::BodySink {
      // Each attempt's body starts at `start` again: skip what `consume` already has.
      return [&, seen = uint64_t{0}](const HttpResponse& head,
                                     std::span<const std::byte> piece) mutable {
        if (seen == 0) {  // before any byte is used
          refused = check_head(head);
          if (!refused.ok()) return false;
        }
        const uint64_t have = delivered - before;  // of this request's range
        const uint64_t skip = std::min<uint64_t>(piece.size(), have - std::min(have, seen));
        seen += piece.size();
        piece = piece.subspan(skip);
        if (piece.size() > length - delivered) {  // a 200 for a range from 0: more than asked
          piece = piece.first(length - delivered);
          enough = true;
        }
        if (!piece.empty() && !consume(piece)) {
          refused = Cancelled(fmt::format("GET {}: the reader stopped", ObjectUri(bucket, key)));
          return false;
        }
        delivered += piece.size();
        return !enough;
      };
    };
    static constexpr int kAccepted[] = {416};  // the range starts at or past the end
    Result<HttpResponse> response = Execute(call, kAccepted, sink_for_attempt);
    bytes_read_total.Increment(delivered - before);
    if (!response.ok()) {
      if (enough) return delivered;
      if (!refused.ok()) return refused;
      if (response.status().code() == Code::kAborted && !if_match.empty()) {
        return Aborted(fmt::format("{} changed since it was listed (ETag {} no longer matches)",
                                   ObjectUri(bucket, key), if_match));
      }
      if (delivered > before && RetryPolicy::Retryable(response.status())) continue;
      return response.status();
    }
    if (response->status == 416) return delivered;    // the object ends at `start`
    ALLUVIUM_RETURN_IF_ERROR(check_head(*response));  // also when no byte came
    auto expected = ContentRangeLength(response->Header("content-range"));
    if (expected && *expected != delivered - before) {
      return Unavailable(fmt::format("GET {}: body has {} bytes, Content-Range promised {}",
                                     ObjectUri(bucket, key), delivered - before, *expected));
    }
    if (delivered < length) return delivered;  // a complete answer, shorter: the object's end
  }
  return delivered;
}

Result<ListPage> S3Client::ListObjectsV2(std::string_view bucket, const ListRequest& request) {
  Call call{.method = "GET", .bucket = bucket};
  call.query = {{"list-type", "2"}, {"max-keys", std::to_string(request.max_keys)}};
  if (!request.prefix.empty()) call.query.emplace_back("prefix", request.prefix);
  if (!request.delimiter.empty()) call.query.emplace_back("delimiter", request.delimiter);
  if (!request.start_after.empty()) call.query.emplace_back("start-after", request.start_after);
  if (!request.continuation_token.empty()) {
    call.query.emplace_back("continuation-token", request.continuation_token);
  }
  ALLUVIUM_ASSIGN_OR_RETURN(HttpResponse response, Execute(call, {}, nullptr));
  auto page = ParseListObjectsV2(response.body);
  if (!page.ok())
    return page.status().WithContext(fmt::format("listing s3://{}/{}", bucket, request.prefix));
  return page;
}

}  // namespace alluvium::ufs::s3
