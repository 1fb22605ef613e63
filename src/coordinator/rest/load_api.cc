#include "coordinator/rest/load_api.h"

#include <chrono>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/decimal.h"
#include "common/units.h"

namespace alluvium::coordinator {
namespace {

using nlohmann::json;

// Requests nest two levels ({"options": {...}}); anything much deeper is not a request, and
// parsing, printing and freeing deep values recurses.
constexpr size_t kMaxJsonDepth = 32;

// Every JSON this API sends: invalid UTF-8 (which cannot come in) is replaced, never thrown on.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Request text quoted in an error message, cut to a readable length.
std::string Clip(std::string_view text) {
  constexpr size_t kMax = 200;
  return text.size() <= kMax ? std::string(text)
                             : fmt::format("{}... ({} bytes)", text.substr(0, kMax), text.size());
}

// Checks a request body before it becomes a DOM: JSON syntax (with the position of the first
// error), nesting depth, and duplicate keys (parsers disagree on which one wins, so neither does).
class BodyChecker final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return Open(); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(); }
  bool end_array() override { return Close(); }
  bool key(string_t& key) override {
    if (keys_.back().insert(key).second) return true;
    error_ = InvalidArgument(fmt::format("request body has field '{}' twice", Clip(key)));
    return false;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error
    // while parsing object - unexpected end of input; expected '}'"
    std::string_view what = e.what();
    if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    error_ = InvalidArgument(
        fmt::format("request body is not valid JSON (byte {}): {}", position, Clip(what)));
    return false;
  }

  const Status& error() const { return error_; }

 private:
  bool Open() {
    if (keys_.size() >= kMaxJsonDepth) {
      error_ =
          InvalidArgument(fmt::format("request body nests deeper than {} levels", kMaxJsonDepth));
      return false;
    }
    keys_.emplace_back();
    return true;
  }
  bool Close() {
    keys_.pop_back();
    return true;
  }

  std::vector<std::set<std::string>> keys_;  // one per open object or array
  Status error_;
};

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The query string's parameters as a JSON object. Like a JSON body, they must be UTF-8.
Result<json> QueryParams(const HttpRequest& req) {
  json params = json::object();
  for (const auto& [k, v] : req.query) {
    if (!IsUtf8(k) || !IsUtf8(v)) {
      return InvalidArgument(fmt::format("query parameter {} is not valid UTF-8", Dump(k)));
    }
    params[k] = v;
  }
  return params;
}

bool HasBody(const HttpRequest& req) {
  return req.body.find_first_not_of(" \t\r\n") != std::string::npos;
}

// The request's parameters as one JSON object: the body if there is one, else the query.
Result<json> Params(const HttpRequest& req) {
  if (!HasBody(req)) return QueryParams(req);
  // The JSON parser stops at a NUL byte as at the end of input; JSON text never holds one raw.
  if (const size_t nul = req.body.find('\0'); nul != std::string::npos) {
    return InvalidArgument(
        fmt::format("request body is not valid JSON (byte {}): a NUL byte", nul));
  }
  BodyChecker checker;
  if (!json::sax_parse(req.body, &checker)) return checker.error();
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!body.is_object()) {
    return InvalidArgument(
        fmt::format("request body must be a JSON object, not {}", body.type_name()));
  }
  return body;
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

// How long a progress request may wait for the job's end ("waitMs", an Alluvium extension that
// `job load --wait` uses): bounded, since each waiting request holds a connection thread.
Result<std::chrono::milliseconds> WaitParam(const json& params) {
  constexpr int64_t kMaxWaitMs = 10'000;
  if (!params.contains("waitMs") || params["waitMs"].is_null()) return std::chrono::milliseconds(0);
  const json& v = params["waitMs"];
  std::optional<int64_t> ms;
  if (v.is_number_integer()) {
    ms = v.get<int64_t>();
  } else if (v.is_string()) {
    ms = ParseDecimal<int64_t>(v.get_ref<const std::string&>());
  }
  if (!ms || *ms < 0 || *ms > kMaxWaitMs) {
    return InvalidArgument(
        fmt::format("'waitMs' must be an integer number of milliseconds from 0 to {}", kMaxWaitMs));
  }
  return std::chrono::milliseconds(*ms);
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
    // ParseLoadOptions refuses over-long filters before compiling them.
    ALLUVIUM_ASSIGN_OR_RETURN(options, ParseLoadOptions(params["options"]));
  }
  if (options.dry_run) {
    ALLUVIUM_ASSIGN_OR_RETURN(LoadSize size, jobs.Size(target.path, target.index_file, options));
    json reply = size.ToJson();
    reply["success"] = true;
    reply["dryRun"] = true;
    reply["path"] = target.path;
    reply["message"] =
        size.fits() ? fmt::format("Load '{}' fits the workers' caches", target.path)
                    : fmt::format("Load '{}' does not fit: {}", target.path, size.Overflow());
    return HttpResponse{200, "application/json", Dump(reply)};
  }
  ALLUVIUM_ASSIGN_OR_RETURN(SubmitOutcome outcome,
                            jobs.Submit(target.path, target.index_file, options));
  if (outcome.kind == SubmitOutcome::Kind::kRefused) {
    json reply = outcome.size->ToJson();
    reply["success"] = false;
    reply["error"] = "FAILED_PRECONDITION";
    reply["path"] = target.path;
    reply["message"] = fmt::format(
        "Load '{}' does not fit the workers' caches: {}. Add workers or cache space, load less, "
        "or submit with allowEviction to let the job evict its own pages",
        target.path, outcome.size->Overflow());
    return HttpResponse{400, "application/json", Dump(reply)};
  }
  if (outcome.kind == SubmitOutcome::Kind::kAlreadyRunning) {
    return HttpResponse{
        409, "application/json",
        Dump(json{{"success", false},
                  {"error", "ALREADY_EXISTS"},
                  {"jobId", outcome.job_id},
                  {"path", target.path},
                  {"message", fmt::format("Load already running for path '{}' ", target.path)}})};
  }
  return HttpResponse{
      200, "application/json",
      Dump({{"success", true},
            {"jobId", outcome.job_id},
            {"path", target.path},
            {"resumed", outcome.kind == SubmitOutcome::Kind::kResumed},
            {"message", fmt::format("Load '{}' is successfully submitted. JobId: {}", target.path,
                                    outcome.job_id)}})};
}

Result<HttpResponse> Progress(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile", "format", "verbose", "waitMs"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  ALLUVIUM_ASSIGN_OR_RETURN(bool verbose, BoolParam(params, "verbose"));
  ALLUVIUM_ASSIGN_OR_RETURN(std::chrono::milliseconds wait, WaitParam(params));
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
  ALLUVIUM_ASSIGN_OR_RETURN(LoadProgress progress,
                            jobs.Progress(target.path, target.index_file, wait));
  if (format == "JSON") {
    return HttpResponse{200, "application/json",
                        FormatProgressJson(progress, verbose, UnixMillis())};
  }
  return HttpResponse{200, "text/plain; charset=utf-8",
                      FormatProgressText(progress, verbose, UnixMillis())};
}

// The job's report as JSON lines (application/x-ndjson), one per file.
Result<HttpResponse> Report(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  std::string body;
  ALLUVIUM_RETURN_IF_ERROR(jobs.Report(target.path, target.index_file, [&body](const json& line) {
    body += Dump(line);
    body += '\n';
  }));
  return HttpResponse{200, "application/x-ndjson", std::move(body)};
}

Result<HttpResponse> StopJob(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, Params(req));
  ALLUVIUM_RETURN_IF_ERROR(CheckKeys(params, {"path", "indexFile"}));
  ALLUVIUM_ASSIGN_OR_RETURN(Target target, TargetOf(params));
  ALLUVIUM_RETURN_IF_ERROR(jobs.Stop(target.path, target.index_file));
  return HttpResponse{
      200, "application/json",
      Dump({{"success", true},
            {"path", target.path},
            {"message", fmt::format("Load '{}' is successfully stopped.", target.path)}})};
}

Result<HttpResponse> ListJobs(JobManager& jobs, const HttpRequest& req) {
  ALLUVIUM_ASSIGN_OR_RETURN(json params, QueryParams(req));
  if (HasBody(req)) {
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
  return HttpResponse{200, "application/json", Dump({{"jobs", list}})};
}

}  // namespace

void AddLoadRoutes(RestServer& server, JobManager& jobs) {
  server.Route("POST", "/api/v1/master/submit_job/load",
               [&jobs](const HttpRequest& r) { return Submit(jobs, r); });
  server.Route("GET", "/api/v1/master/progress_job/load",
               [&jobs](const HttpRequest& r) { return Progress(jobs, r); });
  server.Route("POST", "/api/v1/master/progress_job/load",
               [&jobs](const HttpRequest& r) { return Progress(jobs, r); });
  for (const char* method : {"GET", "POST"}) {
    server.Route(method, "/api/v1/master/report_job/load",
                 [&jobs](const HttpRequest& r) { return Report(jobs, r); });
  }
  server.Route("POST", "/api/v1/master/stop_job/load",
               [&jobs](const HttpRequest& r) { return StopJob(jobs, r); });
  for (const char* method : {"GET", "POST"}) {
    server.Route(method, "/api/v1/master/list_job",
                 [&jobs](const HttpRequest& r) { return ListJobs(jobs, r); });
  }
}

}  // namespace alluvium::coordinator
