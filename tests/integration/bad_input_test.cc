// The bad-input suite of issue 5: malformed, truncated, mistyped, oversized, slow and concurrent
// requests to the coordinator's REST API, and bad command lines. Bad input always gets a clear
// answer (HTTP 4xx with a JSON {"error", "message"} body; a CLI message on stderr and a non-zero
// exit code), never a crash, a hang or lost state. After each group the coordinator must be alive,
// list_job valid JSON and a normal load must still succeed. The suite ends with one summary line:
//   bad-input suite: N REST inputs, M CLI invocations, 0 crashes, 0 hangs
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <latch>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/process.h"
#include "integration/local_cluster.h"
#include "testing/eventually.h"

namespace alluvium::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The server's limits (src/coordinator/rest/rest_server.cc).
constexpr size_t kMaxBody = 1 << 20;
constexpr auto kServerRequestTimeout = 10s;
// An answer later than this counts as a hang.
constexpr auto kReplyTimeout = 15s;

const std::string kSubmit = "/api/v1/master/submit_job/load";
const std::string kProgress = "/api/v1/master/progress_job/load";
const std::string kStop = "/api/v1/master/stop_job/load";
const std::string kList = "/api/v1/master/list_job";

// What the suite tried and what went wrong, over every test of the binary.
struct Tally {
  std::atomic<int> rest{0};
  std::atomic<int> cli{0};
  std::atomic<int> crashes{0};
  std::atomic<int> hangs{0};
};

Tally& Counts() {
  static Tally tally;
  return tally;
}

class SummaryPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("bad-input suite: %d REST inputs, %d CLI invocations, %d crashes, %d hangs\n",
                Counts().rest.load(), Counts().cli.load(), Counts().crashes.load(),
                Counts().hangs.load());
  }
};

[[maybe_unused]] ::testing::Environment* const kSummary =
    ::testing::AddGlobalTestEnvironment(new SummaryPrinter);

// ---------------------------------------------------------------------------------------------
// A raw HTTP client: any bytes out, one response in, every wait bounded.

struct Answer {
  int status = 0;  // 0: no response (closed, or timed out)
  bool timed_out = false;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(Conn&& other) noexcept : fd_(std::exchange(other.fd_, -1)), pending_(other.pending_) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return fd_ >= 0; }

  // False once the peer has closed or the send would block past `timeout`.
  bool Send(std::string_view bytes, std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!WaitFor(POLLOUT, until)) return false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    return true;
  }

  // One response: status line, headers and a Content-Length body (none for a HEAD request).
  // Interim 1xx responses are skipped unless `interim`.
  Answer Receive(Clock::duration timeout = kReplyTimeout, bool head = false, bool interim = false) {
    const auto until = Clock::now() + timeout;
    Answer answer;
    while (true) {
      size_t end;
      while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill(until, answer)) return answer;
      }
      const std::string header = pending_.substr(0, end);
      pending_.erase(0, end + 4);
      if (!header.starts_with("HTTP/1.")) {
        answer.body = header;  // not HTTP at all
        return answer;
      }
      answer.status = std::atoi(header.c_str() + 9);
      answer.headers.clear();
      for (size_t pos = header.find("\r\n"); pos != std::string::npos;) {
        const size_t next = header.find("\r\n", pos + 2);
        const std::string line = header.substr(pos + 2, next - pos - 2);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          answer.headers[Lower(line.substr(0, colon))] = value;
        }
        pos = next;
      }
      if (answer.status >= 100 && answer.status < 200) {
        if (interim) return answer;
        continue;
      }
      if (head) return answer;
      const std::string length = answer.Header("content-length");
      if (length.empty()) {  // until the server closes
        while (Fill(until, answer)) {
        }
        answer.timed_out = false;
        answer.body = std::move(pending_);
        pending_.clear();
        return answer;
      }
      const size_t want = std::stoul(length);
      while (pending_.size() < want) {
        if (!Fill(until, answer)) {
          answer.status = 0;  // a cut-off body is no answer
          return answer;
        }
      }
      answer.body = pending_.substr(0, want);
      pending_.erase(0, want);
      return answer;
    }
  }

  // True when the server closes the connection within `timeout` (what it sends stays pending).
  bool ClosedWithin(Clock::duration timeout) {
    const auto until = Clock::now() + timeout;
    Answer ignored;
    while (Fill(until, ignored)) {
    }
    return !ignored.timed_out;
  }

  // Bytes received beyond the last response.
  const std::string& pending() const { return pending_; }

  // True if the server has sent something (or closed) that was not read yet.
  bool Readable() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  bool WaitFor(short events, Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  // Appends what arrives to pending_; false on close, error or timeout (then timed_out is set).
  bool Fill(Clock::time_point until, Answer& answer) {
    if (!WaitFor(POLLIN, until)) {
      answer.timed_out = true;
      return false;
    }
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      pending_.append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    return false;
  }

  int fd_ = -1;
  std::string pending_;
};

std::string Request(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view extra_headers = "", bool close = true) {
  return fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\n{}{}\r\n{}",
      method, target, body.size(), extra_headers, close ? "Connection: close\r\n" : "", body);
}

std::string Show(std::string_view bytes, size_t max = 100) {
  std::string out;
  for (char c : bytes.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (bytes.size() > max) out += fmt::format("... ({} bytes)", bytes.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running the CLI with a time bound.

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal or by the time bound
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
};

CliRun RunCli(const std::vector<std::string>& args, const fs::path& cwd,
              Clock::duration limit = 30s) {
  std::vector<std::string> argv = {ALLUVIUM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return {};
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  CliRun run;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(start + limit - Clock::now());
    if (left.count() <= 0) {
      run.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

std::string Describe(const std::vector<std::string>& args) {
  std::string out = "alluvium";
  for (const std::string& a : args) out += " '" + Show(a, 60) + "'";
  return out;
}

// Counts one CLI invocation with bad input and checks its answer: a short message on stderr, no
// crash or stack trace, and a non-zero exit code (`want` if given), within the time bound.
void ExpectCliRefused(const std::vector<std::string>& args, const CliRun& run, int want = 0) {
  ++Counts().cli;
  const std::string what = Describe(args);
  if (run.timed_out) {
    ++Counts().hangs;
    ADD_FAILURE() << what << ": no exit within the time bound";
    return;
  }
  if (run.signal != 0) {
    ++Counts().crashes;
    ADD_FAILURE() << what << ": killed by signal " << run.signal << "; stderr:\n" << run.err;
    return;
  }
  if (want != 0) {
    EXPECT_EQ(run.exit_code, want) << what << "\nstderr: " << run.err << "\nstdout: " << run.out;
  } else {
    EXPECT_NE(run.exit_code, 0) << what << "\nstdout: " << run.out;
  }
  EXPECT_FALSE(run.err.empty()) << what << ": no message on stderr; stdout: " << run.out;
  for (const char* bad : {"terminate called", "what():", "Aborted", "Segmentation", "core dumped",
                          "Sanitizer", "runtime error", "#0 ", "#1 "}) {
    EXPECT_EQ(run.err.find(bad), std::string::npos) << what << ": stderr has '" << bad << "':\n"
                                                    << run.err;
  }
  const auto lines = std::count(run.err.begin(), run.err.end(), '\n');
  EXPECT_LE(lines, 4) << what << ": a long message is no clear message:\n" << run.err;
}

// ---------------------------------------------------------------------------------------------

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 2,
                            .conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"}});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    for (int i = 0; i < 3; ++i) {
      WriteRandomFile(cluster_->ufs_root() / fmt::format("healthy/f{}", i), 10'000 * (i + 1), i);
    }
    // A directory whose name is not UTF-8: the bytes are a valid file name, not valid JSON.
    WriteRandomFile(cluster_->ufs_root() / "utf8\xff" / "f", 100, 7);
    std::ofstream(cluster_->ufs_root() / "index.txt") << "/healthy/f0\n";
    // A finished job, so that progress_job has something to report from the start.
    ASSERT_EQ(Call("POST", kSubmit, R"({"path": "/healthy"})").status, 200);
    ASSERT_EQ(WaitEnded({{"path", "/healthy"}}), "SUCCEEDED");
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(cluster_ != nullptr);
    if (!cli::IsAlive(cluster_->coordinator_pid())) {  // an earlier group killed it
      ASSERT_TRUE(cluster_->StartCoordinator().ok());
      ASSERT_TRUE(cluster_->WaitForLiveWorkers(2, 30s).ok());
    }
  }
  void TearDown() override { ExpectHealthy(); }

  static int port() { return cluster_->web_port(); }

  // One request on a fresh connection.
  static Answer Call(std::string_view method, std::string_view target, std::string_view body,
                     std::string_view extra_headers = "") {
    Conn conn(port());
    if (!conn.connected()) return {};
    // A failed send still gets its answer read: the server may answer and close before it read
    // everything (a body over the limit).
    conn.Send(Request(method, target, body, extra_headers));
    return conn.Receive();
  }

  // Checks the answer to one bad input: 4xx (`want` if given) with a JSON error body.
  static void ExpectRefused(const Answer& a, const std::string& what, int want = 0,
                            bool head = false) {
    ++Counts().rest;
    if (a.timed_out) {
      ++Counts().hangs;
      ADD_FAILURE() << what << ": no answer within " << kReplyTimeout.count() << " s";
      return;
    }
    if (want != 0) {
      EXPECT_EQ(a.status, want) << what << " -> " << Show(a.body, 300);
    } else {
      EXPECT_TRUE(a.status >= 400 && a.status < 500)
          << what << " -> " << a.status << " " << Show(a.body, 300);
    }
    if (head) {
      EXPECT_EQ(a.body, "");
      return;
    }
    EXPECT_EQ(a.Header("content-type"), "application/json") << what;
    json j = json::parse(a.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << what << " -> " << a.status << " " << Show(a.body, 300);
    EXPECT_TRUE(j.contains("error") && j["error"].is_string()) << what << " -> " << a.body;
    EXPECT_TRUE(j.contains("message") && j["message"].is_string() &&
                !j["message"].get<std::string>().empty())
        << what << " -> " << a.body;
  }

  static void Bad(std::string_view method, std::string_view target, std::string_view body,
                  int want = 0) {
    ExpectRefused(Call(method, target, body),
                  fmt::format("{} {} {}", method, Show(target, 120), Show(body)), want);
  }

  // The same body to submit, progress and stop.
  static void BadEverywhere(const std::string& body, int want = 0) {
    Bad("POST", kSubmit, body, want);
    Bad("GET", kProgress, body, want);
    Bad("POST", kStop, body, want);
  }

  static json Progress(const json& target) {
    json body = target;
    body["format"] = "JSON";
    auto a = Call("GET", kProgress, body.dump());
    json j = json::parse(a.body, nullptr, false);
    return a.status == 200 && j.is_object() ? j : json{{"status", a.status}};
  }

  static std::string WaitEnded(const json& target, std::chrono::milliseconds deadline = 60s) {
    std::string state;
    EXPECT_TRUE(Eventually(
        [&] {
          state = Progress(target).value("mJobState", "");
          return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED";
        },
        deadline))
        << state;
    return state;
  }

  static std::vector<json> JobsFor(const std::string& path) {
    auto a = Call("GET", kList, "");
    json j = json::parse(a.body, nullptr, false);
    std::vector<json> out;
    if (!j.is_object() || !j.contains("jobs")) return out;
    for (const json& job : j["jobs"]) {
      if (job.value("path", "") == path) out.push_back(job);
    }
    return out;
  }

  // The coordinator is alive, list_job is valid JSON, and a normal load still succeeds.
  static void ExpectHealthy() {
    if (!cli::IsAlive(cluster_->coordinator_pid())) {
      ++Counts().crashes;
      FAIL() << "the coordinator died; see its log";
    }
    auto list = Call("GET", kList, "");
    ASSERT_EQ(list.status, 200) << list.body;
    json j = json::parse(list.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("jobs") && j["jobs"].is_array()) << list.body;
    ASSERT_TRUE(Eventually(
        [] {
          auto a = Call("POST", kSubmit, R"({"path": "/healthy"})");
          return a.status == 200;  // 409 while an earlier check's run is still going
        },
        30s));
    EXPECT_EQ(WaitEnded({{"path", "/healthy"}}), "SUCCEEDED");
  }

  static std::unique_ptr<LocalCluster> cluster_;
};

std::unique_ptr<LocalCluster> BadInputTest::cluster_;

// A valid submit body touching every option; its prefixes are the truncated inputs.
const std::string kFullSubmit =
    R"({"path": "/healthy", "options": {"replicas": "1", "batchSize": 10, )"
    R"("partialListing": "true", "loadMetadataOnly": false, "skipIfExists": "false", )"
    R"("bandwidth": "10MB", "verify": false, "fileFilterRegx": "f[0-9]"}})";

TEST_F(BadInputTest, MalformedJsonIsRefused) {
  for (const std::string& body : std::vector<std::string>{
           "{",
           "}",
           "[",
           "]",
           "{{}}",
           "{\"path\"",
           "{\"path\":}",
           "{\"path\" \"/healthy\"}",
           "{\"path\": \"/healthy\",}",
           "{\"path\": \"/healthy\" \"options\": {}}",
           "{'path': '/healthy'}",
           "{path: \"/healthy\"}",
           "{\"path\": /healthy}",
           "{\"path\": \"/healthy\"} {}",
           "{\"path\": \"/healthy\"}]",
           "{\"path\": \"/healthy\"}garbage",
           "{\"path\": \"/healthy\" /* comment */}",
           "// comment\n{\"path\": \"/healthy\"}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": NaN}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": Infinity}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": 0x1}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": 01}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": +1}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": 1.}}",
           "{\"path\": \"/healthy\", \"options\": {\"replicas\": 1e999}}",
           "{\"path\": \"/heal\\xthy\"}",
           "{\"path\": \"/heal\\u12\"}",
           "{\"path\": \"/heal\\u12zz\"}",
           "{\"path\": \"/healthy}",
           "{\"path\": \"/heal\nthy\"}",
           "{\"path\": \"/heal\tthy\"}",
           "{\"path\": \"/healthy\"\x01}",
           "{\"path\": tru}",
           "{\"path\": nul}",
           "{\"path\": \"/healthy\", \"options\": {\"verify\": True}}",
           "[\"/healthy\"]",
           "\"/healthy\"",
           "null",
           "true",
           "0",
           "-1",
           "1e5",
           "[]",
           "[{\"path\": \"/healthy\"}]",
           "path=/healthy",
           "<path>/healthy</path>",
           "\xef\xbb\xbf\xef\xbb\xbf{\"path\": \"/healthy\"}",
       }) {
    BadEverywhere(body, 400);
  }
  for (const std::string& body : {std::string("{bad"), std::string("[]"), std::string("7")}) {
    Bad("GET", kList, body, 400);
    Bad("POST", kList, body, 400);
  }
}

TEST_F(BadInputTest, EveryTruncationOfAValidBodyIsRefused) {
  ASSERT_EQ(json::parse(kFullSubmit, nullptr, false).is_discarded(), false);
  for (size_t n = 0; n < kFullSubmit.size(); ++n) {
    Bad("POST", kSubmit, kFullSubmit.substr(0, n), 400);
  }
  const std::string progress = R"({"path": "/healthy", "format": "JSON", "verbose": "true"})";
  for (size_t n = 0; n < progress.size(); ++n) Bad("GET", kProgress, progress.substr(0, n), 400);
  const std::string stop = R"({"indexFile": "/index.txt"})";
  for (size_t n = 0; n < stop.size(); ++n) Bad("POST", kStop, stop.substr(0, n), 400);
}

TEST_F(BadInputTest, WrongTypesForEveryFieldAndOptionAreRefused) {
  const std::vector<std::string> not_a_path = {
      "7",   "-1", "1.5", "true", "false", "[]", "[\"/healthy\"]", "{}", "{\"path\": \"/healthy\"}",
      "\"\""};
  for (const char* field : {"path", "indexFile"}) {
    for (const std::string& v : not_a_path) BadEverywhere(fmt::format(R"({{"{}": {}}})", field, v));
  }
  BadEverywhere(R"({"path": null})");
  BadEverywhere(R"({"path": null, "indexFile": null})");
  BadEverywhere(R"({"path": "/healthy", "indexFile": "/index.txt"})");
  for (const char* v : {"7", "\"replicas\"", "[]", "true", "[{\"replicas\": 1}]", "\"{}\""}) {
    Bad("POST", kSubmit, fmt::format(R"({{"path": "/healthy", "options": {}}})", v), 400);
  }

  const std::vector<std::string> bad_bools = {"1",     "0",       "2",      "-1",    "0.0",
                                              "\"1\"", "\"yes\"", "\"no\"", "\"\"",  "\"truee\"",
                                              "[]",    "[true]",  "{}",     "\"on\""};
  const std::map<std::string, std::vector<std::string>> bad_options = {
      {"replicas",
       {"0",
        "\"0\"",
        "-1",
        "\"-1\"",
        "1.5",
        "\"1.5\"",
        "2.0",
        "1e0",
        "true",
        "\"true\"",
        "[]",
        "[1]",
        "{}",
        "\"\"",
        "\"  \"",
        "\"one\"",
        "3",
        "\"3\"",
        "17",
        "4294967297",
        "18446744073709551616",
        "\"99999999999999999999\"",
        "\"0x1\"",
        "\"+1\"",
        "\"1x\""}},
      {"batchSize",
       {"0", "\"0\"", "-5", "100001", "\"100001\"", "1.5", "true", "[]", "{}", "\"\"", "\"ten\"",
        "1e3", "\"1e3\"", "4294967297", "\"-1\""}},
      {"partialListing", bad_bools},
      {"loadMetadataOnly", bad_bools},
      {"skipIfExists", bad_bools},
      {"verify", bad_bools},
      {"bandwidth",
       {"0", "\"0\"", "\"0MB\"", "-1", "\"-1MB\"", "1.5", "true", "\"fast\"", "[]", "{}", "\"\"",
        "\"10XB\"", "\"MB\"", "\"1 2MB\""}},
      {"fileFilterRegx",
       {"5", "true", "[]", "{}", "[\".*\"]", "\"(\"", "\"[\"", "\"*\"", "\"a{2,1}\"", "\"\\\\\"",
        "\"(?<x\"", "\"(?=\""}},
  };
  for (const auto& [name, values] : bad_options) {
    for (const std::string& v : values) {
      Bad("POST", kSubmit,
          fmt::format(R"({{"path": "/healthy", "options": {{"{}": {}}}}})", name, v), 400);
    }
  }
  for (const char* name : {"replica", "Replicas", "", "batch_size", "speed", "path", " verify"}) {
    Bad("POST", kSubmit, fmt::format(R"({{"path": "/healthy", "options": {{"{}": "1"}}}})", name),
        400);
  }
  for (const char* extra : {"extra", "Path", "", "options "}) {
    Bad("POST", kSubmit, fmt::format(R"({{"path": "/healthy", "{}": 1}})", extra), 400);
  }

  for (const char* v : {"1", "[]", "{}", "true", "\"XML\"", "\"\"", "\"JSONX\"", "\"json \""}) {
    Bad("GET", kProgress, fmt::format(R"({{"path": "/healthy", "format": {}}})", v), 400);
  }
  for (const char* v : {"2", "\"maybe\"", "[]", "{}", "\"\"", "1.5"}) {
    Bad("GET", kProgress, fmt::format(R"({{"path": "/healthy", "verbose": {}}})", v), 400);
  }
  Bad("GET", kProgress, R"({"path": "/healthy", "options": {}})", 400);
  Bad("POST", kStop, R"({"path": "/healthy", "format": "JSON"})", 400);

  for (const char* body :
       {R"({"job-type": 5})", R"({"job-state": []})", R"({"job-state": "NOPE"})",
        R"({"job-type": "COPY"})", R"({"extra": 1})", R"({"job-state": null})"}) {
    Bad("GET", kList, body, 400);
  }
  for (const char* query :
       {"?job-state=", "?job-type=", "?job-state=DANCING", "?job-type=COPY", "?foo=bar",
        "?job-state=%FF", "?job-state=RUNNING%00", "?job-state=RUNNING&job-state=BOGUS"}) {
    Bad("GET", kList + query, "", 400);
  }
}

TEST_F(BadInputTest, DuplicateKeysAreRefused) {
  for (const char* body : {
           R"({"path": "/healthy", "path": "/healthy"})",
           R"({"path": "/healthy", "path": "/elsewhere"})",
           R"({"path": "/healthy", "options": {}, "options": {}})",
           R"({"path": "/healthy", "options": {"replicas": 1, "replicas": 1}})",
           R"({"path": "/healthy", "options": {"verify": true, "verify": false}})",
           R"({"indexFile": "/index.txt", "indexFile": "/index.txt"})",
       }) {
    Bad("POST", kSubmit, body, 400);
  }
  Bad("GET", kProgress, R"({"path": "/healthy", "format": "JSON", "format": "TEXT"})", 400);
  Bad("POST", kStop, R"({"path": "/healthy", "path": "/healthy"})", 400);
  Bad("GET", kList, R"({"job-state": "ALL", "job-state": "ALL"})", 400);
}

TEST_F(BadInputTest, DeeplyNestedJsonIsRefused) {
  auto nest = [](size_t depth, std::string_view inner = "") {
    return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
  };
  const size_t deep = 100'000;
  BadEverywhere(std::string(deep, '['), 400);
  BadEverywhere(std::string(deep, '{'), 400);
  BadEverywhere(nest(deep), 400);
  BadEverywhere(nest(400'000), 400);  // close to the body limit
  std::string objects;
  for (size_t i = 0; i < deep; ++i) objects += "{\"a\":";
  objects += "1" + std::string(deep, '}');
  BadEverywhere(objects, 400);
  BadEverywhere(R"({"path": )" + nest(deep) + "}", 400);
  for (const char* option : {"replicas", "batchSize", "verify", "bandwidth", "fileFilterRegx"}) {
    Bad("POST", kSubmit,
        fmt::format(R"({{"path": "/healthy", "options": {{"{}": {}}}}})", option, nest(deep)), 400);
  }
  Bad("POST", kSubmit, R"({"path": "/healthy", "options": )" + nest(deep) + "}", 400);
  Bad("POST", kSubmit, R"({"path": "/healthy", "options": {"replicas": )" + objects + "}}", 400);
  Bad("GET", kProgress, R"({"path": "/healthy", "format": )" + nest(deep) + "}", 400);
  Bad("GET", kProgress, R"({"path": "/healthy", "verbose": )" + nest(deep) + "}", 400);
  Bad("GET", kList, R"({"job-state": )" + nest(deep) + "}", 400);
  // Regular expressions nest too.
  for (const std::string& regex :
       {std::string(50'000, '(') + std::string(50'000, ')'),
        std::string(5'000, '(') + "a" + std::string(5'000, ')'),
        [] {
          std::string r;
          for (int i = 0; i < 20'000; ++i) r += "(?:";
          return r + std::string(20'000, ')');
        }(),
        std::string("((a{1000}){1000}){1000}"), std::string(100'000, 'a') + "{99999}",
        std::string(200'000, '[')}) {
    Bad("POST", kSubmit,
        json{{"path", "/healthy"}, {"options", {{"fileFilterRegx", regex}}}}.dump(), 400);
  }
}

TEST_F(BadInputTest, InvalidUtf8AndNulBytesAreRefused) {
  for (const std::string& bytes :
       {std::string("\xff"), std::string("\xc3\x28"), std::string("\xc0\xaf"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82"),
        std::string("\xfe\xfe\xff\xff"), std::string("\x80")}) {
    BadEverywhere(R"({"path": "/healthy/)" + bytes + R"("})", 400);
    BadEverywhere(R"({"pa)" + bytes + R"(th": "/healthy"})", 400);
    Bad("POST", kSubmit,
        R"({"path": "/healthy", "options": {"fileFilterRegx": ")" + bytes + R"("}})", 400);
    Bad("POST", kSubmit, R"({"path": "/healthy", "options": {"bandwidth": ")" + bytes + R"("}})",
        400);
  }
  for (const char* escaped : {"\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041", "\\uDFFF"}) {
    BadEverywhere(fmt::format(R"({{"path": "/healthy/{}"}})", escaped), 400);
  }
  // The query string decodes to bytes: they must be UTF-8 too.
  for (const std::string& endpoint : {kSubmit, kProgress, kStop}) {
    const std::string method = endpoint == kProgress ? "GET" : "POST";
    Bad(method, endpoint + "?path=/utf8%FF", "");
    Bad(method, endpoint + "?path=/healthy%C3%28", "");
    Bad(method, endpoint + "?indexFile=/index.txt%ED%A0%80", "");
    Bad(method, endpoint + "?path=/healthy%00", "");
    Bad(method, endpoint + "?path=%00", "");
    Bad(method, endpoint + "?path=/healthy&verbose=%FF", "");
  }

  // NUL bytes inside strings and raw in the body.
  for (const std::string& body :
       {std::string(R"({"path": "/healthy\u0000"})"), std::string(R"({"path": "\u0000"})"),
        std::string(R"({"path": "/heal\u0000thy/../../etc"})"),
        std::string(R"({"indexFile": "/index.txt\u0000"})"),
        std::string(R"({"path": "/healthy"})") + std::string(1, '\0'),
        std::string(1, '\0') + R"({"path": "/healthy"})",
        std::string(R"({"path": "/heal)") + std::string(1, '\0') + R"(thy"})",
        std::string(R"({)") + std::string(1, '\0') + R"("path": "/healthy"})",
        std::string(1000, '\0')}) {
    BadEverywhere(body);
  }
  Bad("POST", kSubmit, R"({"path": "/healthy", "options": {"bandwidth": "10MB\u0000"}})", 400);
  Bad("POST", kSubmit, R"({"path": "/healthy", "options": {"replicas": "1\u0000"}})", 400);

  // Empty bodies (then the query string is empty too) and whitespace.
  for (const std::string& body : {std::string(""), std::string("   "), std::string("\r\n\t ")}) {
    BadEverywhere(body, 400);
  }
}

TEST_F(BadInputTest, BadPathsAreRefused) {
  const std::string root = cluster_->ufs_root().string();
  const std::vector<std::string> paths = {
      "/../../etc",
      "/a/../../b",
      "/healthy/../../../etc/passwd",
      "..",
      "../etc",
      "etc/passwd",
      ".",
      " ",
      "/%2e%2e/%2e%2e/etc",
      "%2e%2e%2f%2e%2e%2fetc",
      "/healthy/%2e%2e/%2e%2e",
      "/..%2f..%2fetc",
      "/a\nb",
      "/healthy\n",
      "\n",
      "/x\r\nSet-Cookie: a=b",
      "/healthy\t",
      "/" + std::string(65535, 'a'),
      "/" + std::string(5000, 'a'),
      [] {
        std::string p;
        for (int i = 0; i < 20'000; ++i) p += "/a";
        return p;
      }(),
      "/" + std::string(300, 'a') + "/" + std::string(300, 'b'),
      "file:///etc",
      "file:///etc/passwd",
      "file:///",
      "file://",
      "file:",
      "file://host/etc",
      "file://" + root + "/../../../etc",
      "file://" + root + "/../..",
      "file://" + root + "/healthy/../../..",
      "FILE:///etc",
      "s3://no-such-bucket/dir/",
      "s3://no-such-bucket",
      "s3://",
      "s3:///key",
      "s3://bad bucket/x",
      "s3://user@bucket/x",
      "hdfs://namenode:8020/x",
      "gs://bucket/x",
      "http://example.com/x",
      "://x",
      "1://x",
      "C:\\Windows",
      "~/x",
      "\\\\server\\share",
      "/healthy/f0/../../../../../../../../../etc/passwd",
  };
  for (const std::string& p : paths) {
    BadEverywhere(json{{"path", p}}.dump());
    if (p.size() < 1000) Bad("POST", kSubmit, json{{"indexFile", p}}.dump());
  }
  Bad("POST", kSubmit, R"({"indexFile": "/healthy"})", 400);  // a directory
  Bad("POST", kSubmit, R"({"indexFile": "/no/such/index.txt"})", 404);
  Bad("POST", kSubmit, R"({"path": "/no/such/dir"})", 404);
  // Traversal in the query string, percent-encoded.
  for (const char* query : {"?path=%2e%2e%2f%2e%2e%2fetc", "?path=/..%2F..%2Fetc",
                            "?path=/healthy/%2E%2E/%2E%2E/%2E%2E", "?path=file:///etc",
                            "?path=s3://no-such-bucket/x", "?indexFile=/../x", "?path=", "?path",
                            "?path=/healthy&indexFile=/index.txt", "?path=/%0a"}) {
    Bad("GET", kProgress + query, "");
    Bad("POST", kSubmit + query, "");
    Bad("POST", kStop + query, "");
  }
  EXPECT_TRUE(JobsFor("/../../etc").empty());
}

TEST_F(BadInputTest, UnknownEndpointsAndMethodsAreRefused) {
  const std::vector<std::string> unknown = {
      "/",
      "/api",
      "/api/v1",
      "/api/v1/master",
      "/api/v1/master/",
      "/api/v1/master/submit_job",
      "/api/v1/master/submit_job/load/",
      "/api/v1/master/submit_job/LOAD",
      "/api/v1/master/submit_job/copy",
      "/API/v1/master/list_job",
      "//api/v1/master/list_job",
      "/api/v1/master/list_job/",
      "/api/v1/master/list_job/extra",
      "/api/v1/master/../master/list_job",
      "/api/v1/master/./list_job",
      "/api/v1/master/list%5Fjob",
      "/api/v2/master/list_job",
      "/api/v1/worker/list_job",
      "/..%2f..%2fetc/passwd",
      "/../../../../etc/passwd",
      "*",
      "list_job",
      "/" + std::string(8000, 'x'),
  };
  const std::vector<std::string> methods = {"GET",     "POST", "PUT",     "DELETE",
                                            "PATCH",   "HEAD", "OPTIONS", "TRACE",
                                            "CONNECT", "FOO",  "get",     "PROPFIND"};
  for (const std::string& target : unknown) {
    for (const std::string& method : methods) {
      Conn conn(port());
      conn.Send(Request(method, target, method == "GET" || method == "HEAD" ? "" : "{}"));
      ExpectRefused(conn.Receive(kReplyTimeout, method == "HEAD"),
                    fmt::format("{} {}", method, Show(target)), 404, method == "HEAD");
    }
  }
  const std::map<std::string, std::set<std::string>> known = {
      {kSubmit, {"POST"}},      {kProgress, {"GET", "POST"}},     {kStop, {"POST"}},
      {kList, {"GET", "POST"}}, {"/api/v1/master/info", {"GET"}}, {"/metrics", {"GET"}},
  };
  for (const auto& [target, allowed] : known) {
    for (const std::string& method : methods) {
      if (allowed.contains(method)) continue;
      Conn conn(port());
      conn.Send(Request(method, target, R"({"path": "/healthy"})"));
      const bool head = method == "HEAD";
      Answer a = conn.Receive(kReplyTimeout, head);
      ExpectRefused(a, fmt::format("{} {}", method, target), 405, head);
      std::string allow;
      for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      EXPECT_EQ(a.Header("allow"), allow) << method << " " << target;
      if (head) {
        EXPECT_TRUE(conn.ClosedWithin(5s));
        EXPECT_EQ(conn.pending(), "") << "a HEAD answer has no body";
      }
    }
  }
}

TEST_F(BadInputTest, GarbageRequestsGetA400) {
  std::vector<std::string> garbage = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/1.1 extra\r\n\r\n",
      "GET / HTTP/1.1\r\nHost\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
      "GET / XTTP/1.1\r\n\r\n",
      "GET / HTTP/1\r\n\r\n",
      "GET / HTTP/1.1.1\r\n\r\n",
      "G<T / HTTP/1.1\r\n\r\n",
      " GET / HTTP/1.1\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST " + kSubmit + " HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST " + kSubmit +
          " HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      "POST " + kSubmit + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX\r\n0\r\n\r\n",
      "POST " + kSubmit +
          " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
      "GET " + kList + std::string(" HTTP/1.1\r\nX: a\0b\r\n\r\n", 21),
      std::string("GET /api\0/v1 HTTP/1.1\r\n\r\n", 25),
      "GET " + kList + "\r HTTP/1.1\r\n\r\n",
  };
  // Refused as soon as the request line is wrong, without waiting for the end of the header.
  garbage.push_back(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) +
                    std::string(40, 'z'));  // a TLS client hello: https:// to an http port
  garbage.push_back("GET " + kList + " HTTP/1.1\nHost: x\n\n");  // bare LF line endings
  std::mt19937 random(5);
  for (int i = 0; i < 20; ++i) {
    std::string junk(200, '\0');
    for (char& c : junk) c = static_cast<char>(random() % 256);
    garbage.push_back(junk + "\r\n\r\n");
  }
  for (const std::string& bytes : garbage) {
    Conn conn(port());
    conn.Send(bytes);
    ExpectRefused(conn.Receive(), "raw " + Show(bytes));
  }
  // The same connection keeps working after well-formed requests; pipelined requests each get
  // their answer in order.
  Conn conn(port());
  conn.Send(Request("GET", kList, "", "", false) + Request("GET", kProgress, "{bad", "", false) +
            Request("GET", kList, "", "", true));
  EXPECT_EQ(conn.Receive().status, 200);
  ExpectRefused(conn.Receive(), "pipelined bad body", 400);
  EXPECT_EQ(conn.Receive().status, 200);

  // Valid chunked bodies are read; bad JSON in them is refused as any body would be.
  auto chunked = [](std::string_view body) {
    std::string out;
    for (size_t i = 0; i < body.size(); i += 7) {
      const auto piece = body.substr(i, 7);
      out += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
    }
    return out + "0\r\n\r\n";
  };
  for (const std::string& body : {std::string("{bad json"), std::string(R"({"path": 7})")}) {
    Conn c(port());
    c.Send("POST " + kSubmit +
           " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
           chunked(body));
    ExpectRefused(c.Receive(), "chunked " + body, 400);
  }
  Conn c(port());
  c.Send("GET " + kProgress +
         " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
         chunked(R"({"path": "/healthy", "format": "JSON"})"));
  EXPECT_EQ(c.Receive().status, 200);
}

TEST_F(BadInputTest, LongUrlsAndHeadersAreRefused) {
  Bad("GET", kList + "?job-state=" + std::string(20'000, 'A'), "", 414);
  Bad("GET", "/" + std::string(64 << 10, 'a'), "", 414);
  Bad("GET", kProgress + "?path=/" + std::string(1 << 20, 'a'), "", 414);
  Bad("GET", kList + "?job-state=" + std::string(12'000, 'A'), "", 400);  // long but allowed
  std::string many_params = kList + "?";
  for (int i = 0; i < 1500; ++i) many_params += fmt::format("p{}=1&", i);
  Bad("GET", many_params, "", 400);
  for (const std::string& headers : {"X-Long: " + std::string(20'000, 'x') + "\r\n",
                                     [] {
                                       std::string h;
                                       for (int i = 0; i < 2000; ++i)
                                         h += fmt::format("X-H{}: v\r\n", i);
                                       return h;
                                     }(),
                                     "Cookie: " + std::string(1 << 20, 'c') + "\r\n"}) {
    ExpectRefused(Call("GET", kList, "", headers), "long headers " + Show(headers, 40), 431);
  }
}

TEST_F(BadInputTest, HugeBodiesGet413AndTheServerStaysUsable) {
  // Just over the limit: refused, drained, and the same connection serves the next request.
  {
    Conn conn(port());
    const std::string body(kMaxBody + 1, ' ');
    std::jthread sender([&] { conn.Send(Request("POST", kSubmit, body, "", false), 30s); });
    ExpectRefused(conn.Receive(), "body of limit+1 bytes", 413);
    sender.join();
    conn.Send(Request("GET", kList, "", "", true));
    Answer next = conn.Receive();
    EXPECT_EQ(next.status, 200) << "the connection should survive a drained 413: " << next.body;
  }
  for (size_t size : {size_t{2} << 20, size_t{8} << 20}) {
    Conn conn(port());
    std::jthread sender(
        [&] { conn.Send(Request("POST", kSubmit, std::string(size, 'x'), "", false), 30s); });
    ExpectRefused(conn.Receive(), fmt::format("body of {} bytes", size), 413);
  }
  // Far over the limit: refused at once; the server closes, and serves others meanwhile.
  for (size_t size : {size_t{64} << 20, size_t{1} << 40}) {
    Conn conn(port());
    std::atomic<bool> stop{false};
    std::jthread sender([&] {
      conn.Send(
          fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", kSubmit, size));
      const std::string chunk(1 << 20, 'x');
      for (size_t sent = 0; sent < size && !stop; sent += chunk.size()) {
        if (!conn.Send(chunk, 5s)) break;
      }
    });
    ExpectRefused(conn.Receive(), fmt::format("declared body of {} bytes", size), 413);
    EXPECT_EQ(Call("GET", kList, "").status, 200);
    EXPECT_TRUE(conn.ClosedWithin(15s)) << "the server should close after a huge body";
    stop = true;
  }
  // Chunked bodies over the limit, and Expect: 100-continue over the limit (no body sent).
  {
    Conn conn(port());
    std::jthread sender([&] {
      conn.Send("POST " + kSubmit + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      const std::string chunk = fmt::format("{:x}\r\n{}\r\n", 65536, std::string(65536, ' '));
      for (int i = 0; i < 40; ++i) {
        if (!conn.Send(chunk, 5s)) break;
      }
    });
    ExpectRefused(conn.Receive(), "chunked body over the limit", 413);
  }
  {
    Conn conn(port());
    conn.Send(fmt::format(
        "POST {} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        kSubmit, 2 << 20));
    ExpectRefused(conn.Receive(5s), "Expect: 100-continue over the limit", 413);
  }
  {  // Expect: 100-continue within the limit gets its 100 Continue, then the answer.
    Conn conn(port());
    const std::string body = R"({"path": "/healthy", "format": "JSON"})";
    conn.Send(
        fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    kProgress, body.size()));
    EXPECT_EQ(conn.Receive(5s, /*head=*/true, /*interim=*/true).status, 100);
    conn.Send(body);
    EXPECT_EQ(conn.Receive().status, 200);
  }
}

TEST_F(BadInputTest, PartialAndSlowRequestsTimeOutWhileOthersAreServed) {
  struct Held {
    std::string kind;
    Conn conn;
    bool expect_408;
  };
  std::vector<Held> held;
  const auto start = Clock::now();
  for (int i = 0; i < 12; ++i) {
    Held h{"header never finished", Conn(port()), true};
    h.conn.Send("POST " + kSubmit + " HTTP/1.1\r\nHost: x\r\nContent-Type: app");
    held.push_back(std::move(h));
    Held cl{"Content-Length larger than the body", Conn(port()), true};
    cl.conn.Send("POST " + kSubmit + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"pa");
    held.push_back(std::move(cl));
    Held ch{"chunked body never ended", Conn(port()), true};
    ch.conn.Send("POST " + kSubmit +
                 " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"pat\r\n");
    held.push_back(std::move(ch));
    Held line{"request line never finished", Conn(port()), true};
    line.conn.Send("GET /api/v1/mas");
    held.push_back(std::move(line));
    held.push_back(Held{"silent connection", Conn(port()), false});
  }
  // Slowloris: a header byte every 250 ms, forever; the whole request has a deadline.
  std::vector<Conn> slow;
  for (int i = 0; i < 8; ++i) slow.emplace_back(port());
  std::atomic<bool> stop{false};
  std::vector<std::jthread> tricklers;
  for (Conn& c : slow) {
    tricklers.emplace_back([&c, &stop] {
      c.Send("GET " + kList + " HTTP/1.1\r\nX-Slow: ");
      while (!stop && c.Send("a", 1s)) std::this_thread::sleep_for(250ms);
    });
  }
  // Meanwhile everyone else is served: before any of the slow clients is answered.
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(Call("GET", kList, "").status, 200);
    Bad("POST", kSubmit, "{bad", 400);
  }
  for (Held& h : held) EXPECT_FALSE(h.conn.Readable()) << h.kind << " was answered early";
  // Every partial request is answered 408 (or closed, if it never sent a byte) by the deadline.
  const auto bound = start + kServerRequestTimeout + 5s;
  for (Held& h : held) {
    if (h.expect_408) {
      Answer a = h.conn.Receive(bound - Clock::now());
      ExpectRefused(a, h.kind, 408);
    } else {
      ++Counts().rest;
      const bool closed = h.conn.ClosedWithin(bound - Clock::now());
      if (!closed) ++Counts().hangs;
      EXPECT_TRUE(closed) << h.kind << " was never closed";
    }
  }
  for (Conn& c : slow) ExpectRefused(c.Receive(bound - Clock::now()), "slowloris", 408);
  stop = true;
  tricklers.clear();
}

TEST_F(BadInputTest, ThousandsOfConcurrentSubmitsCreateOneJob) {
  // 12 MiB at 512 KB/s: the job outlives the storm by far. One file per batch, so that a stop
  // (which lets in-flight batches finish) does not wait long.
  constexpr int kFiles = 96;
  for (int i = 0; i < kFiles; ++i) {
    WriteRandomFile(cluster_->ufs_root() / fmt::format("storm/f{}", i), 128 << 10, 300 + i);
  }
  const std::string body =
      R"({"path": "/storm", "options": {"bandwidth": "512KB", "batchSize": 1}})";
  constexpr int kThreads = 32, kPerThread = 63;  // 2016 submits
  std::mutex mu;
  std::map<int, int> statuses;
  std::set<std::string> ids;
  int bad_bodies = 0;
  std::latch go(kThreads);
  const auto storm_start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          Answer a = Call("POST", kSubmit, body);
          json j = json::parse(a.body, nullptr, false);
          std::lock_guard lock(mu);
          ++statuses[a.timed_out ? -1 : a.status];
          if (j.is_object() && j.contains("jobId") && j["jobId"].is_string()) {
            ids.insert(j["jobId"].get<std::string>());
          } else {
            ++bad_bodies;
          }
        }
      });
    }
  }
  std::printf("%d concurrent submits in %.1f s\n", kThreads * kPerThread,
              std::chrono::duration<double>(Clock::now() - storm_start).count());
  Counts().rest += kThreads * kPerThread;
  Counts().hangs += statuses[-1];
  std::string summary;
  for (const auto& [status, n] : statuses) summary += fmt::format(" {}x{}", n, status);
  EXPECT_EQ(statuses[200], 1) << summary;
  EXPECT_EQ(statuses[409], kThreads * kPerThread - 1) << summary;
  EXPECT_EQ(bad_bodies, 0);
  EXPECT_EQ(ids.size(), 1u) << "every answer names the one job";
  auto jobs = JobsFor("/storm");
  ASSERT_EQ(jobs.size(), 1u) << "list_job shows exactly one job for the path";
  EXPECT_EQ(jobs[0]["state"], "RUNNING");
  if (!ids.empty()) {
    EXPECT_EQ(jobs[0]["jobId"], *ids.begin());
  }

  // Stop it and resume it without the limit: the same job then succeeds.
  const auto stop_start = Clock::now();
  ASSERT_EQ(Call("POST", kStop, R"({"path": "/storm"})").status, 200);
  EXPECT_EQ(WaitEnded({{"path", "/storm"}}), "STOPPED");
  std::printf("stopped in %.1f s\n",
              std::chrono::duration<double>(Clock::now() - stop_start).count());
  Answer resumed = Call("POST", kSubmit, R"({"path": "/storm"})");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(json::parse(resumed.body)["jobId"], jobs[0]["jobId"]);
  EXPECT_EQ(WaitEnded({{"path", "/storm"}}), "SUCCEEDED");
  json done = Progress({{"path", "/storm"}});
  EXPECT_EQ(done["mProcessedInodesCount"], kFiles) << done.dump();
  EXPECT_EQ(JobsFor("/storm").size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// The CLI.

// Runs every command line at once (a few at a time), each bounded; results in order.
std::vector<CliRun> RunMany(const std::vector<std::vector<std::string>>& commands,
                            const fs::path& cwd, int parallel = 4) {
  std::vector<CliRun> runs(commands.size());
  std::atomic<size_t> next{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < parallel; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < commands.size();) runs[i] = RunCli(commands[i], cwd);
    });
  }
  threads.clear();
  return runs;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

class BadInputCliTest : public BadInputTest {
 protected:
  // Each `alluvium --config <cluster conf> args...`, run from a scratch directory, must fail
  // clearly with `want` (0: any non-zero code).
  void Refused(const std::vector<std::vector<std::string>>& cases, int want) {
    std::vector<std::vector<std::string>> commands;
    for (const auto& args : cases) {
      commands.push_back({"--config", cluster_->conf_file().string()});
      commands.back().insert(commands.back().end(), args.begin(), args.end());
    }
    std::vector<CliRun> runs = RunMany(commands, scratch_.path());
    for (size_t i = 0; i < cases.size(); ++i) ExpectCliRefused(cases[i], runs[i], want);
  }
  ScopedTempDir scratch_;
};

TEST_F(BadInputCliTest, UsageErrorsExitWithTwoAndAMessage) {
  Refused(
      {
          {"--bogus"},
          {"-x"},
          {"frobnicate"},
          {"job"},
          {"job", "frob"},
          {"job", "--bogus"},
          {"job", "load"},
          {"job", "load", "/healthy", "--bogus"},
          {"job", "load", "/healthy", "--replicas"},
          {"job", "load", "/healthy", "--replicas", "abc"},
          {"job", "load", "/healthy", "--replicas", "1.5"},
          {"job", "load", "/healthy", "--replicas", "99999999999"},
          {"job", "load", "/healthy", "--batch-size", "x"},
          {"job", "load", "/healthy", "--format", "XML", "--progress"},
          {"job", "load", "/healthy", "--submit", "--stop"},
          {"job", "load", "/healthy", "--progress", "--stop"},
          {"job", "load", "/healthy", "--submit", "--progress", "--stop"},
          {"job", "load", "--path", "/a", "/b"},
          {"job", "load", "/healthy", "--index-file", "/index.txt"},
          {"job", "load", "/a", "/b"},
          {"job", "load", "/healthy/*"},
          {"job", "load", "/healthy/f?"},
          {"job", "load", "--index-file"},
          {"job", "list", "--state", "DANCING"},
          {"job", "list", "--state"},
          {"job", "list", "--format", "YAML"},
          {"job", "list", "extra"},
          {"fs"},
          {"fs", "frob"},
          {"fs", "ls", "/", "--bogus"},
          {"fs", "cat"},
          {"fs", "stat"},
          {"fs", "head"},
          {"fs", "cp", "/healthy/f0"},
          {"fs", "mount", "/m"},
          {"fs", "unmount"},
          {"cluster"},
          {"cluster", "frob"},
          {"cluster", "start", "--workers", "abc"},
          {"conf"},
          {"conf", "frob"},
          {"conf", "show", "--bogus"},
      },
      2);
  ExpectCliRefused({"(no arguments)"}, RunCli({}, scratch_.path()), 2);
  ExpectCliRefused({"--config"}, RunCli({"--config"}, scratch_.path()), 2);
}

TEST_F(BadInputCliTest, BadValuesExitWithOneAndAMessage) {
  const std::string root = cluster_->ufs_root().string();
  Refused(
      {
          {"job", "load", "/healthy", "--replicas", "0"},
          {"job", "load", "/healthy", "--replicas", "-1"},
          {"job", "load", "/healthy", "--replicas", "3"},
          {"job", "load", "/healthy", "--batch-size", "0"},
          {"job", "load", "/healthy", "--bandwidth", "fast"},
          {"job", "load", "/healthy", "--bandwidth", "0"},
          {"job", "load", "/healthy", "--bandwidth", "-1MB"},
          {"job", "load", "/healthy", "--file-filter", "("},
          {"job", "load", "/../../etc"},
          {"job", "load", "relative/path"},
          {"job", "load", "s3://no-such-bucket/x"},
          {"job", "load", "file:///etc"},
          {"job", "load", "/no/such/dir"},
          {"job", "load", "/" + std::string(65535, 'a')},
          {"job", "load", "/a\nb"},
          {"job", "load", std::string("/utf8\xff")},
          {"job", "load", std::string("/healthy/\xc3\x28"), "--progress"},
          {"job", "load", std::string("/healthy/\xed\xa0\x80"), "--stop"},
          {"job", "load", "--index-file", std::string("/index\xff.txt")},
          {"job", "load", "--index-file", "/healthy"},
          {"job", "load", "--index-file", "/no/such/index.txt"},
          {"job", "load", "/healthy", "--file-filter", std::string("\xff")},
          {"job", "load", "/healthy", "--bandwidth", std::string("1\xffMB")},
          {"fs", "stat", "/no/such/file"},
          {"fs", "cat", "/../../etc/passwd"},
          {"fs", "ls", "s3://no-such-bucket/"},
          {"fs", "head", "-c", "abc", "/healthy/f0"},
          {"fs", "head", "--bytes=-1", "/healthy/f0"},
          {"fs", "cp", "/healthy/f0", "/dev/null/x"},
          {"fs", "cp", "/healthy/f0", ""},
          {"fs", "cp", "/no/such/file", "out.bin"},
          {"fs", "mount", "/m", "notauri"},
          {"fs", "mount", "/m", "file://" + root},
          {"fs", "mount", "relative", "file:///tmp"},
          {"fs", "mount", "/m", "file:///tmp", "--option", "novalue"},
          {"fs", "unmount", "/never/mounted"},
          {"-D", "nokey", "fs", "ls", "/"},
          {"-D", "alluvium.no.such.key=1", "fs", "ls", "/"},
          {"-D", "alluvium.coordinator.web.port=abc", "job", "list"},
          {"-D", "alluvium.user.rpc.timeout=forever", "fs", "ls", "/"},
          {"cluster", "start", "--workers", "0", "--run-dir", scratch_.path().string() + "/run"},
          {"cluster", "start", "--workers", "1", "--run-dir", "/dev/null/run"},
      },
      1);
  EXPECT_FALSE(fs::exists(scratch_.path() / ".alluvium-part")) << "fs cp left a partial file";
  EXPECT_FALSE(fs::exists(scratch_.path() / "out.bin"));
  ExpectCliRefused(
      {"--config /no/such/file"},
      RunCli({"--config", "/no/such/file.properties", "fs", "ls", "/"}, scratch_.path()), 1);
  EXPECT_TRUE(JobsFor("/../../etc").empty());
}

// A coordinator that is gone, frozen, never there, or not a coordinator at all.
class CoordinatorDownTest : public ::testing::Test {
 protected:
  // Runs each command (all at once) after `prefix`: each must fail clearly, with exit code 1,
  // a message holding `needle`, and soon (the RPC timeout is 2 s).
  void RunAll(const std::vector<std::string>& prefix, const std::string& needle,
              const std::vector<std::string>& commands) {
    std::vector<std::vector<std::string>> all;
    for (const std::string& command : commands) {
      all.push_back(prefix);
      for (std::string& w : Words(command)) all.back().push_back(std::move(w));
    }
    std::vector<CliRun> runs = RunMany(all, scratch_.path(), static_cast<int>(all.size()));
    for (size_t i = 0; i < all.size(); ++i) {
      ExpectCliRefused(all[i], runs[i], 1);
      EXPECT_NE(runs[i].err.find(needle), std::string::npos)
          << Describe(all[i]) << ": " << runs[i].err;
    }
  }
  ScopedTempDir scratch_;
};

const std::vector<std::string> kEveryClientCommand = {
    "job load /x",        "job load /x --progress",
    "job load /x --stop", "job load /x --wait",
    "job list",           "fs ls /",
    "fs stat /x",         "fs cat /x",
    "fs mounts",          "fs mount /m file:///tmp",
    "fs unmount /m",      "cluster metrics"};

TEST_F(CoordinatorDownTest, StoppedFrozenOrAbsentCoordinatorIsAClearError) {
  LocalCluster cluster(LocalClusterOptions{.workers = 0});
  ASSERT_TRUE(cluster.Start().ok());
  const std::vector<std::string> conf = {"--config", cluster.conf_file().string(), "-D",
                                         "alluvium.user.rpc.timeout=2s"};
  // Frozen (SIGSTOP): the kernel accepts connections, nothing answers.
  ::kill(cluster.coordinator_pid(), SIGSTOP);
  RunAll(conf, "coordinator",
         {"job load /x", "job load /x --progress", "job load /x --stop", "job list", "fs ls /",
          "fs mounts", "cluster metrics"});
  ::kill(cluster.coordinator_pid(), SIGCONT);
  // Stopped by PID.
  cluster.KillCoordinator();
  RunAll(conf, "cannot reach the coordinator", kEveryClientCommand);
  // Ports nobody listens on.
  RunAll({"-D", fmt::format("alluvium.coordinator.web.port={}", FreePort()), "-D",
          fmt::format("alluvium.coordinator.rpc.port={}", FreePort()), "-D",
          "alluvium.user.rpc.timeout=2s"},
         "cannot reach the coordinator", kEveryClientCommand);
}

// An HTTP server on 127.0.0.1 that gives every request the same canned answer.
class CannedServer {
 public:
  explicit CannedServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { Serve(stop); });
  }
  ~CannedServer() {
    thread_.request_stop();
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void Serve(std::stop_token stop) {
    while (!stop.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buffer[4096];
      pollfd q{c, POLLIN, 0};
      while (request.find("\r\n\r\n") == std::string::npos && ::poll(&q, 1, 1000) > 0) {
        const ssize_t n = ::recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      while (::poll(&q, 1, 200) > 0 && ::recv(c, buffer, sizeof buffer, 0) > 0) {
      }
      ::close(c);
    }
  }

  std::string answer_;
  int fd_ = -1;
  int port_ = 0;
  std::jthread thread_;
};

TEST_F(CoordinatorDownTest, SomethingElseOnTheRestPortNeverCrashesOrHangsTheCli) {
  auto ok = [](std::string_view body) {
    return fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.size(), body);
  };
  for (const std::string& answer :
       {ok("[]"), ok("7"), ok("not json"), ok(R"({"jobs": 5})"), ok(R"({"jobs": [1, "x", null]})"),
        ok(R"({"jobs": [{"jobId": 5, "state": [], "bytesLoaded": "many"}]})"),
        ok(R"({"mJobState": 7})"), ok(R"({"mJobState": "RUNNING", "mTotalByteCount": "x"})"),
        ok(R"({"mJobState": "RUNNING", "mLoadedByteCount": -1, "mThroughput": []})"),
        ok(R"({"jobId": ["a"], "mJobState": "SUCCEEDED", "mTotalByteCount": 1e300})"),
        std::string("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\n<html>"),
        std::string("SSH-2.0-OpenSSH_9.2\r\n"),
        std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"jobs\": ")}) {
    CannedServer server(answer);
    std::vector<std::vector<std::string>> commands;
    for (const char* command :
         {"job load /x --wait", "job load /x --watch", "job load /x --progress --wait", "job list",
          "job list --format JSON", "job load /x --stop"}) {
      commands.push_back({"-D", fmt::format("alluvium.coordinator.web.port={}", server.port()),
                          "-D", "alluvium.user.rpc.timeout=2s"});
      for (std::string& w : Words(command)) commands.back().push_back(std::move(w));
    }
    std::vector<CliRun> runs = RunMany(commands, scratch_.path(), 6);
    for (size_t i = 0; i < runs.size(); ++i) {
      // A made-up answer may even look like success; what matters is no crash and no hang.
      const CliRun& run = runs[i];
      ++Counts().cli;
      const std::string what = Describe(commands[i]) + " answered " + Show(answer);
      if (run.timed_out) ++Counts().hangs;
      if (run.signal != 0) ++Counts().crashes;
      EXPECT_FALSE(run.timed_out) << what;
      EXPECT_EQ(run.signal, 0) << what << "\n" << run.err;
      EXPECT_EQ(run.err.find("terminate called"), std::string::npos) << what << "\n" << run.err;
    }
  }
  // A listener that accepts (in the kernel) and never answers.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 64), 0);
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  RunAll({"-D", fmt::format("alluvium.coordinator.web.port={}", ntohs(addr.sin_port)), "-D",
          "alluvium.user.rpc.timeout=2s"},
         "coordinator",
         {"job load /x", "job load /x --progress", "job load /x --stop", "job list"});
  ::close(silent);
}

}  // namespace
}  // namespace alluvium::testing
