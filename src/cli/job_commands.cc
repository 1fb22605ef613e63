// `alluvium job load …` and `alluvium job list`: Alluxio's job CLI over the coordinator's REST
// API. Messages and their meaning follow Alluxio. Exit codes: 0 success (also "already running"
// and "nothing to stop", as in Alluxio), 1 an error, 2 a usage error, 4 no such job, and with
// --wait: 1 when the job ends FAILED, 3 when it ends STOPPED.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/rest_client.h"
#include "cli/rest_error.h"
#include "common/status_mapping.h"
#include "common/units.h"

namespace alluvium::cli {
namespace {

using nlohmann::json;

constexpr int kExitFailed = 1;
constexpr int kExitStopped = 3;
constexpr int kExitNoSuchJob = 4;

struct JobArgs {
  std::string path;
  std::string path_flag;
  std::string index_file;
  bool submit = false, progress = false, stop = false;
  std::string format = "TEXT";
  bool verbose = false;
  bool watch = false;
  bool wait = false;
  std::optional<int> replicas;
  std::optional<int> batch_size;
  bool partial_listing = false, metadata_only = false, skip_if_exists = false, verify = false;
  bool dry_run = false, allow_eviction = false;
  std::string output;  // report --output
  std::string bandwidth;
  std::string file_filter;
  std::string state = "ALL";
};

// "path" or "indexFile" with its value, as the REST API takes it.
json Target(const JobArgs& a) {
  if (!a.index_file.empty()) return {{"indexFile", a.index_file}};
  return {{"path", a.path}};
}

std::string Shown(const JobArgs& a) { return a.index_file.empty() ? a.path : a.index_file; }

// A request body. JSON strings are UTF-8, so an argument that is not cannot be sent as one.
Result<std::string> Body(const json& body) {
  try {
    return body.dump();
  } catch (const json::type_error&) {
    return InvalidArgument(
        "the path, --index-file, --bandwidth and --file-filter must be valid UTF-8: the REST "
        "API carries them as JSON strings");
  }
}

// What the CLI reads from a progress report must have the types it expects; anything else did
// not come from a coordinator (e.g. the REST port points at another service).
Status CheckProgress(const json& p) {
  if (!p.is_object() || !p.contains("mJobState") || !p["mJobState"].is_string()) {
    return InternalError("malformed progress from the coordinator: no job state");
  }
  for (const char* key : {"mLoadedByteCount", "mProcessedInodesCount", "mThroughput",
                          "mTotalByteCount", "mSkippedByteCount"}) {
    if (p.contains(key) && !p[key].is_number_unsigned()) {
      return InternalError(
          fmt::format("malformed progress from the coordinator: {} is {}", key,
                      p[key].dump(-1, ' ', false, json::error_handler_t::replace)));
    }
  }
  return OkStatus();
}

std::string TextOf(const json& object, const char* key) {
  const json* v = object.is_object() && object.contains(key) ? &object[key] : nullptr;
  return v != nullptr && v->is_string() ? v->get<std::string>() : "?";
}

uint64_t CountOf(const json& object, const char* key) {
  const json* v = object.is_object() && object.contains(key) ? &object[key] : nullptr;
  return v != nullptr && v->is_number_unsigned() ? v->get<uint64_t>() : 0;
}

// A progress bar line: bytes, files, throughput and ETA.
std::string BarLine(const json& p) {
  const uint64_t loaded = p.value("mLoadedByteCount", uint64_t{0});
  const uint64_t files = p.value("mProcessedInodesCount", uint64_t{0});
  const uint64_t rate = p.value("mThroughput", uint64_t{0});
  const std::string state = p.value("mJobState", std::string("?"));
  std::string line;
  if (p.contains("mTotalByteCount") && p["mTotalByteCount"].get<uint64_t>() > 0) {
    const uint64_t total = p["mTotalByteCount"].get<uint64_t>();
    const double fraction =
        std::min(1.0, static_cast<double>(loaded + p.value("mSkippedByteCount", uint64_t{0})) /
                          static_cast<double>(total));
    const int filled = static_cast<int>(fraction * 30);
    line = fmt::format("[{}{}] {:5.1f}% {} / {}", std::string(filled, '#'),
                       std::string(30 - filled, '.'), fraction * 100, FormatSize(loaded),
                       FormatSize(total));
    if (rate > 0 && fraction < 1.0) {
      const uint64_t eta = static_cast<uint64_t>((1.0 - fraction) * total / rate);
      line += fmt::format("  ETA {:02}:{:02}:{:02}", eta / 3600, eta / 60 % 60, eta % 60);
    }
  } else {
    line = fmt::format("{} loaded", FormatSize(loaded));
  }
  // No rate until the job has run a second (the report's Throughput rule): "0B/s" would lie.
  line += fmt::format("  {} files  {}{}", files, rate > 0 ? FormatSize(rate) + "/s  " : "", state);
  return line;
}

bool Ended(const std::string& state) {
  return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED";
}

int ExitFor(const std::string& state) {
  if (state == "FAILED") return kExitFailed;
  if (state == "STOPPED") return kExitStopped;
  return 0;
}

// `wait_for_end`: the coordinator answers as soon as the job ends, or after this long.
Result<json> ProgressJson(const RestClient& rest, const JobArgs& a,
                          std::chrono::milliseconds wait_for_end) {
  json body = Target(a);
  body["format"] = "JSON";
  if (wait_for_end.count() > 0) body["waitMs"] = wait_for_end.count();
  ALLUVIUM_ASSIGN_OR_RETURN(std::string text, Body(body));
  ALLUVIUM_ASSIGN_OR_RETURN(RestReply reply, rest.Post("/api/v1/master/progress_job/load", text));
  if (reply.status != 200) return StatusOfErrorReply(reply.status, reply.body);
  json j = json::parse(reply.body, nullptr, false);
  if (j.is_discarded()) return InternalError("coordinator sent malformed progress");
  ALLUVIUM_RETURN_IF_ERROR(CheckProgress(j));
  return j;
}

int PrintReport(const RestClient& rest, const JobArgs& a) {
  json body = Target(a);
  body["format"] = a.format;
  body["verbose"] = a.verbose;
  auto text = Body(body);
  if (!text.ok()) return Fail(text.status());
  auto reply = rest.Post("/api/v1/master/progress_job/load", *text);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status == 404) {
    std::printf("Load for path '%s' cannot be found.\n", Shown(a).c_str());
    return kExitNoSuchJob;
  }
  if (reply->status != 200) {
    std::fprintf(stderr, "Failed to get progress for load job %s: %s\n", Shown(a).c_str(),
                 StatusOfErrorReply(reply->status, reply->body).ToString().c_str());
    return kExitFailed;
  }
  std::fputs(reply->body.c_str(), stdout);
  if (!reply->body.empty() && reply->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

// Polls until the job ends; shows a live bar when `bar`: redrawn in place on a terminal, a
// line a second otherwise (logs, CI). Returns the final state.
Result<std::string> Follow(const RestClient& rest, const JobArgs& a, bool bar) {
  const bool redraw = ::isatty(STDERR_FILENO);
  size_t last_width = 0;
  auto last_line = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  // Each poll waits on the coordinator for the job's end (within the answer timeout), so the
  // command returns the moment the job ends rather than at its next poll.
  const auto wait = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(redraw && bar ? 250 : 1000), rest.timeout() / 2);
  while (true) {
    ALLUVIUM_ASSIGN_OR_RETURN(json p, ProgressJson(rest, a, wait));
    const std::string state = p.value("mJobState", std::string());
    if (bar && !redraw) {
      if (Ended(state) || std::chrono::steady_clock::now() - last_line >= std::chrono::seconds(1)) {
        std::fprintf(stderr, "%s\n", BarLine(p).c_str());
        last_line = std::chrono::steady_clock::now();
      }
      if (Ended(state)) return state;
    } else if (bar) {
      std::string line = BarLine(p);
      const size_t width = line.size();
      if (width < last_width) line += std::string(last_width - width, ' ');
      last_width = width;
      std::fprintf(stderr, "\r%s", line.c_str());
      std::fflush(stderr);
    }
    if (Ended(state)) {
      if (bar) std::fputc('\n', stderr);
      return state;
    }
    // A coordinator that answers at once (one shutting down) must not be polled in a spin.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Each worker's share of a sized job (a dry run, or a submit refused for it) against its cache.
void PrintShares(const json& size) {
  std::vector<std::string> names;
  size_t width = std::string_view("Worker").size();
  for (const json& w : size.value("workers", json::array())) {
    names.push_back(fmt::format("{} ({})", TextOf(w, "id"), TextOf(w, "address")));
    width = std::max(width, names.back().size());
  }
  std::printf("  %-*s %12s %12s %12s  %s\n", static_cast<int>(width), "Worker", "Job's share",
              "Cache", "Free", "Fits");
  size_t i = 0;
  for (const json& w : size.value("workers", json::array())) {
    std::printf("  %-*s %12s %12s %12s  %s\n", static_cast<int>(width), names[i++].c_str(),
                FormatMiB(CountOf(w, "bytes")).c_str(),
                FormatMiB(CountOf(w, "capacityBytes")).c_str(),
                FormatMiB(CountOf(w, "freeBytes")).c_str(), w.value("fits", false) ? "yes" : "NO");
  }
}

int PrintDryRun(const std::string& shown, const json& j) {
  std::printf("Dry run of load '%s' (nothing was loaded):\n", shown.c_str());
  std::printf("  Files: %llu\n", static_cast<unsigned long long>(CountOf(j, "files")));
  std::printf("  Bytes: %s (with replicas: %s)%s\n", FormatSize(CountOf(j, "bytes")).c_str(),
              FormatSize(CountOf(j, "copyBytes")).c_str(),
              j.value("complete", true) ? "" : ", at least: the listing outgrew its bound");
  PrintShares(j);
  if (j.contains("estimatedSeconds")) {
    const uint64_t s = CountOf(j, "estimatedSeconds");
    std::printf(
        "  Estimated duration: %02llu:%02llu:%02llu at %s/s (the UFS throughput of recent jobs)\n",
        static_cast<unsigned long long>(s / 3600), static_cast<unsigned long long>(s / 60 % 60),
        static_cast<unsigned long long>(s % 60),
        FormatSize(CountOf(j, "throughputBytesPerSec")).c_str());
  } else {
    std::printf("  Estimated duration: unknown (no finished load has measured the UFS yet)\n");
  }
  const bool fits = j.value("fits", false);
  std::printf("  Fits: %s\n", fits ? "yes" : ("no: " + TextOf(j, "message")).c_str());
  return fits ? 0 : kExitFailed;
}

int Submit(const RestClient& rest, const JobArgs& a) {
  json options = json::object();
  if (a.replicas) options["replicas"] = *a.replicas;
  if (a.batch_size) options["batchSize"] = *a.batch_size;
  if (a.partial_listing) options["partialListing"] = true;
  if (a.metadata_only) options["loadMetadataOnly"] = true;
  if (a.skip_if_exists) options["skipIfExists"] = true;
  if (a.verify) options["verify"] = true;
  if (a.dry_run) options["dryRun"] = true;
  if (a.allow_eviction) options["allowEviction"] = true;
  if (!a.bandwidth.empty()) options["bandwidth"] = a.bandwidth;
  if (!a.file_filter.empty()) options["fileFilterRegx"] = a.file_filter;
  json body = Target(a);
  body["options"] = options;
  auto text = Body(body);
  if (!text.ok()) return Fail(text.status());
  auto reply = rest.Post("/api/v1/master/submit_job/load", *text);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status == 200 && a.dry_run) {
    return PrintDryRun(Shown(a), json::parse(reply->body, nullptr, false));
  }
  if (reply->status == 409) {
    std::printf("Load already running for path '%s' \n", Shown(a).c_str());
  } else if (reply->status != 200) {
    std::fprintf(stderr, "Failed to submit load job %s: %s\n", Shown(a).c_str(),
                 StatusOfErrorReply(reply->status, reply->body).ToString().c_str());
    const json j = json::parse(reply->body, nullptr, false);
    if (j.is_object() && j.contains("workers")) PrintShares(j);
    return kExitFailed;
  } else {
    json j = json::parse(reply->body, nullptr, false);
    std::printf("Load '%s' is successfully submitted. JobId: %s\n", Shown(a).c_str(),
                TextOf(j, "jobId").c_str());
  }
  std::fflush(stdout);
  const bool terminal = ::isatty(STDERR_FILENO) && ::isatty(STDOUT_FILENO);
  if (!a.wait && !a.watch && !terminal) return 0;
  auto state = Follow(rest, a, a.watch || terminal);
  if (!state.ok()) return Fail(state.status());
  PrintReport(rest, a);
  return a.wait ? ExitFor(*state) : 0;
}

int Stop(const RestClient& rest, const JobArgs& a) {
  auto text = Body(Target(a));
  if (!text.ok()) return Fail(text.status());
  auto reply = rest.Post("/api/v1/master/stop_job/load", *text);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status == 404) {
    std::printf(
        "Cannot find load job for path %s, it might have already been stopped or finished\n",
        Shown(a).c_str());
    return 0;
  }
  if (reply->status != 200) {
    std::fprintf(stderr, "Failed to stop load job %s: %s\n", Shown(a).c_str(),
                 StatusOfErrorReply(reply->status, reply->body).ToString().c_str());
    return kExitFailed;
  }
  std::printf("Load '%s' is successfully stopped.\n", Shown(a).c_str());
  return 0;
}

int Progress(const RestClient& rest, const JobArgs& a) {
  if (a.watch || a.wait) {
    auto state = Follow(rest, a, a.watch);
    if (!state.ok()) {
      if (state.status().code() == Code::kNotFound) {
        std::printf("Load for path '%s' cannot be found.\n", Shown(a).c_str());
        return kExitNoSuchJob;
      }
      return Fail(state.status());
    }
    const int code = PrintReport(rest, a);
    return a.wait && code == 0 ? ExitFor(*state) : code;
  }
  return PrintReport(rest, a);
}

int RunLoad(const Context& context, JobArgs a) {
  if (!a.path_flag.empty()) {
    if (!a.path.empty() && a.path != a.path_flag) {
      std::fprintf(stderr, "alluvium: give the path once, as an argument or with --path\n");
      return 2;
    }
    a.path = a.path_flag;
  }
  if (a.path.empty() == a.index_file.empty()) {
    std::fprintf(stderr, "alluvium: give a path to load, or --index-file (not both)\n");
    return 2;
  }
  if (a.path.find_first_of("*?") != std::string::npos) {
    std::fprintf(stderr, "alluvium: Load does not support wildcard path\n");
    return 2;
  }
  if (int ops = a.submit + a.progress + a.stop; ops > 1) {
    std::fprintf(stderr, "alluvium: --submit, --progress and --stop are mutually exclusive\n");
    return 2;
  }
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RestClient rest(*config);
  if (a.progress) return Progress(rest, a);
  if (a.stop) return Stop(rest, a);
  return Submit(rest, a);
}

// The job's report, one JSON line per file, to stdout or --output; a summary on stderr.
int RunReport(const Context& context, const JobArgs& a) {
  if (a.path.empty() == a.index_file.empty()) {
    std::fprintf(stderr, "alluvium: give the job's path, or --index-file (not both)\n");
    return 2;
  }
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RestClient rest(*config);
  auto text = Body(Target(a));
  if (!text.ok()) return Fail(text.status());
  auto reply = rest.Post("/api/v1/master/report_job/load", *text);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status == 404) {
    std::fprintf(stderr, "Load for path '%s' cannot be found.\n", Shown(a).c_str());
    return kExitNoSuchJob;
  }
  if (reply->status != 200) return Fail(StatusOfErrorReply(reply->status, reply->body));
  std::FILE* out = stdout;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (!a.output.empty()) {
    file.reset(std::fopen(a.output.c_str(), "w"));
    if (!file) return Fail(FromErrno(errno, a.output));
    out = file.get();
  }
  if (std::fwrite(reply->body.data(), 1, reply->body.size(), out) != reply->body.size() ||
      std::fflush(out) != 0) {
    return Fail(FromErrno(errno, a.output.empty() ? "stdout" : a.output));
  }
  uint64_t files = 0, cached = 0, failed = 0, resident = 0, copies = 0;
  for (size_t begin = 0; begin < reply->body.size();) {
    size_t end = reply->body.find('\n', begin);
    if (end == std::string::npos) end = reply->body.size();
    const json line = json::parse(reply->body.substr(begin, end - begin), nullptr, false);
    begin = end + 1;
    if (!line.is_object()) continue;
    ++files;
    cached += TextOf(line, "status") == "CACHED";
    failed += TextOf(line, "status") == "FAILED";
    resident += CountOf(line, "residentBytes");
    copies += CountOf(line, "copyBytes");
  }
  std::fprintf(stderr, "%llu files: %llu cached, %llu failed; %s of %s resident on their owners\n",
               static_cast<unsigned long long>(files), static_cast<unsigned long long>(cached),
               static_cast<unsigned long long>(failed), FormatSize(resident).c_str(),
               FormatSize(copies).c_str());
  return 0;
}

int RunList(const Context& context, const JobArgs& a) {
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RestClient rest(*config);
  auto reply = rest.Get("/api/v1/master/list_job?job-type=LOAD&job-state=" + a.state);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status != 200) return Fail(StatusOfErrorReply(reply->status, reply->body));
  json j = json::parse(reply->body, nullptr, false);
  if (!j.is_object() || !j.contains("jobs") || !j["jobs"].is_array()) {
    return Fail(InternalError("malformed job list from the coordinator"));
  }
  if (a.format == "JSON") {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-36s  %-9s  %12s  %10s  %s\n", "JOB ID", "STATE", "LOADED", "FILES", "PATH");
  for (const json& job : j["jobs"]) {
    std::printf("%-36s  %-9s  %12s  %10llu  %s\n", TextOf(job, "jobId").c_str(),
                TextOf(job, "state").c_str(), FormatSize(CountOf(job, "bytesLoaded")).c_str(),
                static_cast<unsigned long long>(CountOf(job, "filesProcessed")),
                TextOf(job, "path").c_str());
  }
  return 0;
}

}  // namespace

void AddJobCommands(CLI::App& app, Context& context) {
  CLI::App* job =
      app.add_subcommand("job", "Distributed load jobs (cache preloading)")->require_subcommand(1);
  auto a = std::make_shared<JobArgs>();
  CLI::App* load = job->add_subcommand("load", "Submit, watch or stop a load job");
  load->add_option("path", a->path, "Cache path or UFS URI to load (s3://bucket/dir/, /data)");
  load->add_option("--path", a->path_flag, "[all] Source path of load operation");
  load->add_option("--index-file", a->index_file, "A file listing the paths to load, one per line");
  load->add_flag("--submit", a->submit, "Submit the job (the default)");
  load->add_flag("--progress", a->progress, "Show the job's progress");
  load->add_flag("--stop", a->stop, "Stop the job (resubmitting resumes it)");
  load->add_option("--format", a->format, "[progress] TEXT or JSON")
      ->transform(CLI::IsMember({"TEXT", "JSON"}, CLI::ignore_case));
  load->add_flag("--verbose", a->verbose, "[progress] Failed files and more counters");
  load->add_flag("--watch", a->watch, "[submit, progress] Show a live progress bar until done");
  load->add_flag(
      "--wait", a->wait,
      "[submit, progress] Wait until the job ends; exit 0 SUCCEEDED, 1 FAILED, 3 STOPPED");
  load->add_option("--replicas", a->replicas, "[submit] Copies of each file on distinct workers");
  load->add_option("--batch-size", a->batch_size, "[submit] Files per worker task");
  load->add_flag("--partial-listing", a->partial_listing,
                 "[submit] Load while listing; no up-front count of the total");
  load->add_flag("--metadata-only", a->metadata_only, "[submit] Cache file metadata only");
  load->add_flag("--skip-if-exists", a->skip_if_exists, "[submit] Skip fully cached files");
  load->add_option("--bandwidth", a->bandwidth, "[submit] UFS read limit of the job, e.g. 10MB");
  load->add_flag("--verify", a->verify,
                 "[submit] Afterwards, check every segment is cached where the ring places it");
  load->add_flag("--dry-run", a->dry_run,
                 "[submit] List and size the job against the workers' caches; load nothing "
                 "(exit 1 when it does not fit)");
  load->add_flag("--allow-eviction", a->allow_eviction,
                 "[submit] Load even if it does not fit, letting the job evict its own pages");
  load->add_option("--file-filter-regx,--file-filter", a->file_filter,
                   "[submit] Only load paths matching this regex");
  load->callback(
      [&context, a] { context.action = [&context, a] { return RunLoad(context, *a); }; });

  CLI::App* report = job->add_subcommand(
      "report", "Write a load job's report: one JSON line per file, with where it is cached");
  report->add_option("path", a->path, "The job's path (as submitted)");
  report->add_option("--index-file", a->index_file, "The job's index file");
  report->add_option("-o,--output", a->output, "Write the lines to this file, not stdout");
  report->callback(
      [&context, a] { context.action = [&context, a] { return RunReport(context, *a); }; });

  CLI::App* list = job->add_subcommand("list", "List load jobs");
  list->add_option("--state", a->state, "RUNNING, VERIFYING, STOPPED, SUCCEEDED, FAILED or ALL")
      ->check(CLI::IsMember({"RUNNING", "VERIFYING", "STOPPED", "SUCCEEDED", "FAILED", "ALL"},
                            CLI::ignore_case));
  list->add_option("--format", a->format, "TEXT or JSON")
      ->transform(CLI::IsMember({"TEXT", "JSON"}, CLI::ignore_case));
  list->callback(
      [&context, a] { context.action = [&context, a] { return RunList(context, *a); }; });
}

}  // namespace alluvium::cli
