#include "ufs/s3/http_transport.h"

#include <curl/curl.h>

#include <cctype>

#include "common/metrics.h"

namespace alluvium::ufs::s3 {
namespace {

// Reuse is what keeps small-object loads cheap for the server: this should stay near the number
// of handles in flight, not grow with the requests.
metrics::Counter& connections_opened = metrics::NewCounter(
    "alluvium_s3_connections_opened_total", "TCP connections opened to S3 (not reused).");

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

void InitCurlOnce() {
  // curl_global_init is not thread-safe, and must run before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status FromCurl(CURLcode code, const char* detail, const std::string& url) {
  const std::string what = fmt::format("{} {}: {}", url, curl_easy_strerror(code), detail);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded(what);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(what);
    case CURLE_WRITE_ERROR:
      return Cancelled(what);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return FailedPrecondition(what);  // retrying will not fix a certificate
    default:
      return Unavailable(what);
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// State of one exchange, reached from curl's C callbacks through their userdata pointer.
struct Exchange {
  CURL* curl;
  HttpResponse* response;
  const HttpTransport::BodySink* sink;

  // Records the status curl has read so far (the sink sees it with the headers); true if 2xx.
  bool RecordStatus() const {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response->status = static_cast<int>(status);
    return status >= 200 && status < 300;
  }
};

size_t OnHeader(char* data, size_t size, size_t count, void* userdata) {
  auto& exchange = *static_cast<Exchange*>(userdata);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    exchange.response->headers.clear();  // a new response (after "100 Continue", a redirect)
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(Trim(line.substr(0, colon)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    exchange.response->headers[std::move(name)] = std::string(Trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* userdata) {
  auto& exchange = *static_cast<Exchange*>(userdata);
  const size_t n = size * count;
  if (*exchange.sink && exchange.RecordStatus()) {
    const bool accepted = (*exchange.sink)(*exchange.response,
                                           std::span(reinterpret_cast<const std::byte*>(data), n));
    return accepted ? n : 0;  // 0 makes curl stop with CURLE_WRITE_ERROR
  }
  exchange.response->body.append(data, n);
  return n;
}

}  // namespace

struct HttpTransport::Handle {
  std::unique_ptr<CURL, CurlDeleter> curl;
};

HttpTransport::HttpTransport(TransportOptions options) : options_(std::move(options)) {
  InitCurlOnce();
}

HttpTransport::~HttpTransport() = default;

std::unique_ptr<HttpTransport::Handle> HttpTransport::Borrow() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      curl_easy_reset(handle->curl.get());  // clears options; keeps the open connection
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl.reset(curl_easy_init());
  return handle;
}

void HttpTransport::Return(std::unique_ptr<Handle> handle) {
  MutexLock lock(mu_);
  idle_.push_back(std::move(handle));
}

Result<HttpResponse> HttpTransport::Send(const HttpRequest& request, const BodySink& sink) {
  std::unique_ptr<Handle> handle = Borrow();
  CURL* curl = handle->curl.get();
  if (curl == nullptr) return ResourceExhausted("curl_easy_init failed");

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    curl_slist* appended =
        curl_slist_append(headers.get(), fmt::format("{}: {}", name, value).c_str());
    if (appended == nullptr) return ResourceExhausted("curl_slist_append failed");
    (void)headers.release();
    headers.reset(appended);
  }

  HttpResponse response;
  Exchange exchange{curl, &response, &sink};
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads; timeouts must not use signals
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L << 10);  // fewer callbacks on big bodies
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!options_.ca_bundle.empty())
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  long connects = 0;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0) connections_opened.Increment(static_cast<uint64_t>(connects));
  Return(std::move(handle));
  if (code != CURLE_OK) return FromCurl(code, error, request.url);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace alluvium::ufs::s3
