#include "coordinator/rest/load_api.h"
#include "common/clock.h"

#include <nlohmann/json.hpp>

#include "common/units.h"

namespace alluvium::coordinator {
namespace {

using nlohmann::json;

// The request's parameters as one JSON object: the body if there is one, else the query.
Result<json> Params(const HttpRequest& req) {
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
    if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
    return body;
  }
  json params = json::object();
  for (const auto& [k, v] : req.query) params[k] = v;
  return params;
}

Status CheckKeys(const json& params, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : params.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return InvalidArgument(fmt::format("unknown field '{}'", key));
    }
  }
  return OkStatus();
}

struct Target {
  std::string path;
  bool index_file = false;
};

// Exactly one of "path" and "indexFile", a non-empty string.
Result<Target> TargetOf(const json& params) {
  const bool has_path = params.contains("path") && !params["path"].is_null();
  const bool has_index = params.contains("indexFile") && !params["indexFile"].is_null();
  if (has_path == has_index) return InvalidArgument("give exactly one of 'path' and 'indexFile'");
  const json& value = has_path ? params["path"] : params["indexFile"];
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    return InvalidArgument(
        fmt::format("'{}' must be a non-empty string", has_path ? "path" : "indexFile"));
  }
  return Target{value.get<std::string>(), has_index};
}

Result<bool> BoolParam(const json& params, const char* key) {
  if (!params.contains(key) || params[key].is_null()) return false;
  const json& v = params[key];
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    auto parsed = ParseBool(v.get<std::string>());
    if (parsed.ok()) return *parsed;
  }
  return InvalidArgument(fmt::format("'{}' must be true or false", key));
}

json Summary(const LoadProgress& p) {
  json j = {{"jobId", p.job_id},
            {"jobType", "LOAD"},
            {"path", p.path},
            {"state", JobStateName(p.state)},
            {"startTime", p.start_ms},
            {"filesProcessed", p.files_processed},
            {"filesFailed", p.files_failed},
            {"bytesLoaded", p.bytes_loaded}};
  if (p.end_ms > 0) j["endTime"] = p.end_ms;
  if (!p.failure_reason.empty()) j["failureReason"] = p.failure_reason;
  return j;
}

Result<HttpResponse> Submit(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile", "options"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  LoadOptions options;
  if (params.contains("options") && !params["options"].is_null()) {
    ALLUVIUM_ASSIGN_OR_RETURN(options, ParseLoadOptions(params["options"]));
  }
  ALLUVIUM_ASSIGN_OR_RETURN(SubmitOutcome outcome,
                            jobs.Submit(target.path, target.index_file, options));
  if (outcome.kind == SubmitOutcome::Kind::kAlreadyRunning) {
    return HttpResponse{
        409, "application/json",
        json{{"success", false},
             {"error", "ALREADY_EXISTS"},
             {"jobId", outcome.job_id},
             {"path", target.path},
             {"message", fmt::format("Load already running for path '{}' ", target.path)}}
            .dump()};
  }
  return HttpResponse{200, "application/json",
                      json{{"success", true},
                           {"jobId", outcome.job_id},
                           {"path", target.path},
                           {"resumed", outcome.kind == SubmitOutcome::Kind::kResumed},
                           {"message", fmt::format("Load '{}' is successfully submitted. JobId: {}",
                                                   target.path, outcome.job_id)}}
                          .dump()};
}

Result<HttpResponse> Progress(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile", "format", "verbose"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  ALLUVIUM_ASSIGN_OR_RETURN(bool verbose, BoolParam(params, "verbose"));
  std::string format = "TEXT";
  if (params.contains("format") && !params["format"].is_null()) {
    if (!params["format"].is_string()) return InvalidArgument("'format' must be TEXT or JSON");
    format = params["format"].get<std::string>();
    for (char& c : format) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (format != "TEXT" && format != "JSON") {
      return InvalidArgument(fmt::format("'format' must be TEXT or JSON, not '{}'",
                                         params["format"].get<std::string>()));
    }
  }
  ALLUVIUM_ASSIGN_OR_RETURN(LoadProgress progress, jobs.Progress(target.path, target.index_file));
  if (format == "JSON") {
    return HttpResponse{200, "application/json",
                        FormatProgressJson(progress, verbose, UnixMillis())};
  }
  return HttpResponse{200, "text/plain; charset=utf-8",
                      FormatProgressText(progress, verbose, UnixMillis())};
}

Result<HttpResponse> StopJob(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  ALLUVIUM_RETURN_IF_ERROR(jobs.Stop(target.path, target.index_file));
  return HttpResponse{
      200, "application/json",
      json{{"success", true},
           {"path", target.path},
           {"message", fmt::format("Load '{}' is successfully stopped.", target.path)}}
          .dump()};
}

Result<HttpResponse> ListJobs(JobManager& jobs, const HttpRequest& req) {
  json params = json::object();
  for (const auto& [k, v] : req.query) params[k] = v;
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    ALLUVIUM_ASSIGN_OR_RETURN(json body, Params(req));
    for (const auto& [k, v] : body.items()) params[k] = v;
  }
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"job-type", "job-state"}));
  auto text = [&](const char* key, const char* fallback) -> Result<std::string> {
    if (!params.contains(key)) return std::string(fallback);
    if (!params[key].is_string()) return InvalidArgument(fmt::format("'{}' must be a string", key));
    std::string v = params[key].get<std::string>();
    for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return v;
  };
  ALLUVIUM_ASSIGN_OR_RETURN(std::string type, text("job-type", "LOAD"));
  if (type != "LOAD") {
    return InvalidArgument(fmt::format("job-type '{}' is not supported (LOAD is)", type));
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::string state_name, text("job-state", "ALL"));
  std::optional<JobState> state;
  if (state_name != "ALL") {
    auto parsed = ParseJobState(state_name);
    if (!parsed.ok()) {
      return InvalidArgument(fmt::format(
          "job-state '{}' is not one of RUNNING, VERIFYING, STOPPED, SUCCEEDED, FAILED, ALL",
          state_name));
    }
    state = *parsed;
  }
  json list = json::array();
  for (const LoadProgress& p : jobs.List(state)) list.push_back(Summary(p));
  return HttpResponse{200, "application/json", json{{"jobs", list}}.dump()};
}

}  // namespace

void AddLoadRoutes(RestServer& server, JobManager& jobs) {
  server.Route("POST", "/api/v1/master/submit_job/load",
               [&jobs](const HttpRequest& r) { return Submit(jobs, r); });
  server.Route("GET", "/api/v1/master/progress_job/load",
               [&jobs](const HttpRequest& r) { return Progress(jobs, r); });
  server.Route("POST", "/api/v1/master/progress_job/load",
               [&jobs](const HttpRequest& r) { return Progress(jobs, r); });
  server.Route("POST", "/api/v1/master/stop_job/load",
               [&jobs](const HttpRequest& r) { return StopJob(jobs, r); });
  for (const char* method : {"GET", "POST"}) {
    server.Route(method, "/api/v1/master/list_job",
                 [&jobs](const HttpRequest& r) { return ListJobs(jobs, r); });
  }
}

}  // namespace alluvium::coordinator
