// Fuzzes the REST load API as the server routes it (RestServer::Dispatch, no sockets): request
// line and query string (ParseQuery), JSON bodies, parameter checks and load options of
// submit_job/load, progress_job/load, stop_job/load and list_job.
//
// Input: "METHOD /path?query\n" then the body (FUZZ_VERBOSE=1 prints each answer), e.g.
//   POST /api/v1/master/submit_job/load
//   {"path": "/data/train", "options": {"replicas": "2"}}
// The coordinator behind it has a job store in a scratch directory, two mounts ("/" on a local
// directory, "/data" on an S3 bucket) and no worker: requests are parsed and checked in full, and
// a valid submit stops at "no live worker" before any job thread starts.
//
// Properties:
// - No exception escapes a handler and nothing aborts.
// - Bad input is answered with a 4xx status, never a 5xx (no worker is a 400 too), with a JSON
//   body {"error": CODE, "message": ...}.
// - A request without a body answers the same as the request with its query parameters sent as
//   a JSON body of strings, as the API documents.
#include <nlohmann/json.hpp>

#include "coordinator/membership/worker_registry.h"
#include "coordinator/mounts/mount_manager.h"
#include "coordinator/rest/load_api.h"
#include "coordinator/rest/rest_server.h"
#include "coordinator/scheduler/grpc_worker_load_client.h"
#include "coordinator/scheduler/job_manager.h"
#include "coordinator/scheduler/placement.h"
#include "coordinator/store/kv_store.h"
#include "fuzz_check.h"

namespace {

using namespace alluvium::coordinator;
using nlohmann::json;

// The coordinator's REST side, built once. The constructor of JobManager starts no thread (Open
// would: it restores jobs and starts the retention sweeper).
struct Coordinator {
  std::unique_ptr<KvStore> store;
  std::unique_ptr<MountManager> mounts;
  WorkerRegistry registry{std::chrono::seconds(30)};
  Placement placement{registry, RingSettings{}};
  GrpcWorkerLoadClient load_client;
  std::unique_ptr<JobManager> jobs;
  RestServer rest;

  Coordinator() {
    const std::string dir = alluvium::fuzz::ScratchDir();
    auto opened = KvStore::Open(dir + "/store");
    FUZZ_CHECK(opened.ok(), "job store: {}", opened.status());
    store = std::move(*opened);
    auto mounted =
        MountManager::Open(*store, "file://" + dir + "/ufs", "/data=s3://bucket/datasets");
    FUZZ_CHECK(mounted.ok(), "mounts: {}", mounted.status());
    mounts = std::move(*mounted);
    jobs = std::make_unique<JobManager>(*store, *mounts, registry, placement, load_client,
                                        JobManagerOptions{});
    AddLoadRoutes(rest, *jobs);
  }
};

HttpRequest ParseRequest(std::string_view text) {
  HttpRequest request;
  const size_t newline = text.find('\n');
  std::string_view line = text.substr(0, newline);
  if (newline != std::string_view::npos) request.body = std::string(text.substr(newline + 1));
  const size_t space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  const std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = ParseQuery(target.substr(question + 1));
  return request;
}

std::string Describe(const HttpRequest& r, const HttpResponse& response) {
  std::string query;
  for (const auto& [k, v] : r.query) query += fmt::format("[{}]=[{}] ", k, v);
  return fmt::format("{} {} query {}body [{}] -> {} {}", r.method, r.path, query, r.body,
                     response.status, response.body);
}

void CheckResponse(const HttpRequest& request, const HttpResponse& response) {
  const int s = response.status;
  FUZZ_CHECK(s == 200 || (s >= 400 && s < 500), "unexpected status: {}",
             Describe(request, response));
  if (response.content_type != "application/json") return;
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!body.is_discarded() && body.is_object(), "body is not a JSON object: {}",
             Describe(request, response));
  if (s != 200) {
    FUZZ_CHECK(body.contains("error") && body["error"].is_string() && body.contains("message") &&
                   body["message"].is_string(),
               "error body without error and message: {}", Describe(request, response));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Coordinator* coordinator = new Coordinator();  // lives until exit, like the server
  const HttpRequest request = ParseRequest(alluvium::fuzz::AsText(data, size));
  const HttpResponse response = coordinator->rest.Dispatch(request);
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;  // to see the answers
  if (verbose) std::fprintf(stderr, "%s\n", Describe(request, response).c_str());
  CheckResponse(request, response);

  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos && !request.query.empty()) {
    json params = json::object();
    for (const auto& [k, v] : request.query) params[k] = v;
    HttpRequest as_body = request;
    as_body.query.clear();
    try {
      as_body.body = params.dump();
    } catch (const json::type_error&) {
      return 0;  // not UTF-8: has no JSON spelling
    }
    const HttpResponse other = coordinator->rest.Dispatch(as_body);
    FUZZ_CHECK(other.status == response.status && other.body == response.body,
               "query and body disagree:\n  {}\n  {}", Describe(request, response),
               Describe(as_body, other));
  }
  return 0;
}
