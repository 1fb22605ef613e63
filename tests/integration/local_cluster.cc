#include "integration/local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testing/eventually.h"

#include "cli/process.h"
#include "cli/rest_client.h"
#include "common/security.h"

namespace alluvium::testing {

namespace fs = std::filesystem;

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

Result<std::string> ReadToString(client::Client& client, const std::string& path, uint64_t offset,
                                 uint64_t length, client::ReadStats* stats) {
  std::string out;
  auto result = client.Read(path, offset, length, [&](std::span<const std::byte> data) {
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    return OkStatus();
  });
  if (!result.ok()) return result.status();
  if (stats != nullptr) *stats = *result;
  return out;
}

std::string WriteRandomFile(const fs::path& path, size_t size, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = random();
    std::memcpy(bytes.data() + i, &v, std::min<size_t>(8, size - i));
  }
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
  return bytes;
}

LocalCluster::LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {
  ufs_root_ = dir_.path() / "ufs";
  conf_file_ = dir_.path() / "alluvium-site.properties";
  fs::create_directories(ufs_root_);
  rpc_port_ = FreePort();
  web_port_ = FreePort();
  std::ofstream conf(conf_file_);
  conf << "alluvium.coordinator.rpc.port=" << rpc_port_ << "\n"
       << "alluvium.coordinator.web.port=" << web_port_ << "\n"
       << "alluvium.coordinator.data.dir=" << (dir_.path() / "coordinator").string() << "\n"
       << "alluvium.ufs.root=file://" << ufs_root_.string() << "\n"
       << "alluvium.worker.rpc.port=0\n"
       << "alluvium.worker.heartbeat.interval=200ms\n"
       << "alluvium.coordinator.worker.timeout=3s\n"
       << "alluvium.worker.page.store.size=1GB\n"
       << "alluvium.log.level=info\n";
  if (!options_.cache_filter.empty()) {
    cache_filter_file_ = dir_.path() / "cache_filter.json";
    std::ofstream(cache_filter_file_) << options_.cache_filter;
    conf << "alluvium.user.client.cache.filter.config.file=" << cache_filter_file_.string() << "\n";
  }
  for (const std::string& line : options_.conf) conf << line << "\n";
  worker_pids_.assign(options_.workers, -1);
}

LocalCluster::~LocalCluster() {
  for (pid_t pid : worker_pids_) {
    if (pid > 0) {
      ::kill(pid, SIGCONT);  // a stopped process cannot act on SIGTERM
      (void)cli::Terminate(pid, std::chrono::seconds(5));
    }
  }
  if (coordinator_pid_ > 0) (void)cli::Terminate(coordinator_pid_, std::chrono::seconds(5));
  ExpectNoSanitizerReports();
  KeepLogsOfAFailedTest();
}

// The processes' logs die with the temp dir; $ALLUVIUM_TEST_LOGS keeps a failed test's.
void LocalCluster::KeepLogsOfAFailedTest() const {
  const char* keep = std::getenv("ALLUVIUM_TEST_LOGS");
  if (keep == nullptr || *keep == '\0' || !::testing::Test::HasFailure()) return;
  const fs::path to = fs::path(keep) / dir_.path().filename();
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const auto& entry : fs::directory_iterator(dir_.path(), ec)) {
    if (entry.path().extension() == ".log")
      fs::copy_file(entry.path(), to / entry.path().filename(), ec);
  }
  std::fprintf(stderr, "cluster logs kept in %s\n", to.c_str());
}

// The cluster's processes are built like the test: a sanitizer report in one of them (it halts
// that process) fails the test that ran it, even if the test coped with the process dying. The
// failure quotes the report (its stacks), since the log dies with the temp dir.
void LocalCluster::ExpectNoSanitizerReports() const {
  static constexpr std::string_view kReports[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                                  "WARNING: ThreadSanitizer", "runtime error:"};
  constexpr int kQuotedLines = 80;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_.path(), ec)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 0; std::getline(in, line); ++n) {
      const bool report =
          std::any_of(std::begin(kReports), std::end(kReports),
                      [&](std::string_view r) { return line.find(r) != std::string::npos; });
      if (!report) continue;
      std::string quoted = line;
      for (int i = 0; i < kQuotedLines && std::getline(in, line); ++i) quoted += "\n" + line;
      ADD_FAILURE() << entry.path().filename().string() << ":" << n + 1 << ": " << quoted;
      return;
    }
  }
}

Status LocalCluster::StartCoordinator() {
  ALLUVIUM_ASSIGN_OR_RETURN(
      coordinator_pid_,
      cli::SpawnDaemon({ALLUVIUM_BINARY, "--config", conf_file_.string(), "coordinator"},
                       dir_.path() / "coordinator.log", /*die_with_parent=*/true));
  return OkStatus();
}

void LocalCluster::KillCoordinator() {
  if (coordinator_pid_ <= 0) return;
  ::kill(coordinator_pid_, SIGKILL);
  while (cli::IsAlive(coordinator_pid_)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  coordinator_pid_ = -1;
}

Status LocalCluster::StopCoordinator(std::chrono::milliseconds grace) {
  if (coordinator_pid_ <= 0) return OkStatus();
  ::kill(coordinator_pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (cli::IsAlive(coordinator_pid_) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool in_time = !cli::IsAlive(coordinator_pid_);
  KillCoordinator();
  if (in_time) return OkStatus();
  return DeadlineExceeded(
      fmt::format("the coordinator had not exited {} ms after SIGTERM", grace.count()));
}

std::filesystem::path LocalCluster::worker_log(int i) const {
  return dir_.path() / fmt::format("worker-{}.log", i);
}

Status LocalCluster::SpawnWorker(int i) {
  const std::string name = fmt::format("worker-{}", i);
  fs::remove(dir_.path() / name / "rpc.port");
  std::vector<std::string> args = {ALLUVIUM_BINARY, "--config", conf_file_.string(), "-D",
                                   "alluvium.worker.data.dir=" + (dir_.path() / name).string()};
  if (auto it = options_.worker_conf.find(i); it != options_.worker_conf.end()) {
    for (const std::string& line : it->second) {
      args.push_back("-D");
      args.push_back(line);
    }
  }
  args.push_back("worker");
  ALLUVIUM_ASSIGN_OR_RETURN(worker_pids_.at(i),
                            cli::SpawnDaemon(args, worker_log(i), /*die_with_parent=*/true));
  return OkStatus();
}

Status LocalCluster::StartWorker(int i) {
  const std::string name = fmt::format("worker-{}", i);
  const fs::path port_file = dir_.path() / name / "rpc.port";
  ALLUVIUM_RETURN_IF_ERROR(SpawnWorker(i));
  // Ready once the coordinator lists the worker live at the port it just bound.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(port_file);
    std::string port;
    if (in >> port) {
      const std::string address = "127.0.0.1:" + port;
      auto client = NewClient();
      auto workers = client.ok() ? (*client)->ListWorkers()
                                 : Result<std::vector<client::WorkerInfo>>(client.status());
      if (workers.ok() && std::any_of(workers->begin(), workers->end(), [&](const auto& w) {
            return w.live && w.address == address;
          })) {
        return OkStatus();
      }
    }
    if (!cli::IsAlive(worker_pids_[i])) return Unavailable(name + " exited; see its log");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DeadlineExceeded(name + " did not join the coordinator");
}

void LocalCluster::SignalWorker(int i, int signal) {
  ::kill(worker_pids_.at(i), signal);
  if (signal == SIGKILL) {
    while (cli::IsAlive(worker_pids_[i])) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    worker_pids_[i] = -1;
  }
}

Status LocalCluster::Start() {
  ALLUVIUM_RETURN_IF_ERROR(StartCoordinator());
  for (int i = 0; i < options_.workers; ++i) ALLUVIUM_RETURN_IF_ERROR(StartWorker(i));
  return WaitForLiveWorkers(options_.workers, std::chrono::seconds(30));
}

client::ClientOptions LocalCluster::ClientOptions(bool short_circuit) const {
  // The cluster's site file, as a user's client would read it (cache filter rules among it).
  auto config = Config::Load({.file = conf_file_.string(), .read_environment = false});
  EXPECT_TRUE(config.ok()) << config.status();
  Result<client::ClientOptions> from_config =
      config.ok() ? client::ClientOptions::FromConfig(*config) : config.status();
  EXPECT_TRUE(from_config.ok()) << from_config.status();
  client::ClientOptions options = from_config.ok() ? *from_config : client::ClientOptions{};
  options.short_circuit = short_circuit;
  options.coordinator_address = fmt::format("127.0.0.1:{}", rpc_port_);
  options.rpc_timeout = std::chrono::seconds(20);
  options.cluster_info_ttl = std::chrono::milliseconds(200);
  return options;
}

Result<std::unique_ptr<client::Client>> LocalCluster::NewClient(bool short_circuit) const {
  return client::Client::Connect(ClientOptions(short_circuit));
}

Result<std::unique_ptr<client::Client>> LocalCluster::NewClient(
    const client::ClientOptions& options) const {
  return client::Client::Connect(options);
}

Status LocalCluster::WaitForLiveWorkers(size_t live, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  Status last = Unavailable("coordinator not reachable yet");
  while (std::chrono::steady_clock::now() < until) {
    auto client = NewClient();
    if (client.ok()) {
      auto workers = (*client)->ListWorkers();
      if (workers.ok()) {
        const size_t n = std::count_if(workers->begin(), workers->end(),
                                       [](const client::WorkerInfo& w) { return w.live; });
        if (n == live) return OkStatus();
        last = Unavailable(fmt::format("{} live workers, waiting for {}", n, live));
      }
    } else {
      last = client.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return DeadlineExceeded(last.message());
}

nlohmann::json LocalCluster::LoadProgress(const nlohmann::json& target) const {
  nlohmann::json body = target;
  body["format"] = "JSON";
  body["verbose"] = "true";
  const HttpReply reply = Http("GET", "/api/v1/master/progress_job/load", body.dump());
  nlohmann::json j = nlohmann::json::parse(reply.body, nullptr, false);
  return reply.status == 200 && j.is_object() ? j : nlohmann::json{{"httpStatus", reply.status}};
}

nlohmann::json LocalCluster::WaitLoadEnded(const nlohmann::json& target,
                                           std::chrono::milliseconds deadline) const {
  nlohmann::json last;
  EXPECT_TRUE(Eventually(
      [&] {
        last = LoadProgress(target);
        const std::string state = last.value("mJobState", "");
        return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED";
      },
      deadline))
      << last.dump();
  return last;
}

fs::path LocalCluster::worker_dir(int i) const { return dir_.path() / fmt::format("worker-{}", i); }

LocalCluster::HttpReply LocalCluster::Http(const std::string& method, const std::string& target,
                                           const std::string& body) const {
  HttpReply reply;
  auto config = Config::Load({.file = conf_file_.string(), .read_environment = false});
  Result<SecuritySettings> security =
      config.ok() ? SecuritySettings::FromConfig(*config, /*server=*/false) : config.status();
  EXPECT_TRUE(security.ok()) << security.status();
  if (security.ok() && security->tls) {
    Result<cli::RestReply> sent = cli::RestClient(*config).Send(method, target, body);
    if (sent.ok()) reply = {sent->status, sent->body};
    return reply;
  }
  // Plain HTTP by hand, so that tests control every byte of the request.
  const std::string authorization =
      security.ok() && !security->token.empty()
          ? fmt::format("Authorization: Bearer {}\r\n", security->token)
          : "";
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(web_port_));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      method, target, authorization, body.size(), body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
  ::close(fd);
  if (response.starts_with("HTTP/1.1 ")) reply.status = std::atoi(response.c_str() + 9);
  const size_t header_end = response.find("\r\n\r\n");
  if (header_end != std::string::npos) reply.body = response.substr(header_end + 4);
  return reply;
}

CommandResult LocalCluster::Cli(const std::string& args) const {
  return RunCommand(fmt::format("{} --config {} {}", ALLUVIUM_BINARY, conf_file_.string(), args),
                    dir_.path() / "cli.stderr");
}

std::vector<fs::path> LocalCluster::LogFiles() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_.path(), ec)) {
    if (entry.path().extension() == ".log" || entry.path().extension() == ".stderr")
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

CommandResult RunCommand(const std::string& command, const fs::path& stderr_file) {
  CommandResult result;
  FILE* pipe = ::popen(fmt::format("{} 2>{}", command, stderr_file.string()).c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(stderr_file);
  result.errors.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

uint64_t ReadBackAndCompare(client::Client& client,
                            const std::map<std::string, std::string>& files) {
  uint64_t from_ufs = 0;
  for (const auto& [path, bytes] : files) {
    std::string got;
    auto stats = client.Read(path, 0, UINT64_MAX, [&](std::span<const std::byte> d) {
      got.append(reinterpret_cast<const char*>(d.data()), d.size());
      return OkStatus();
    });
    EXPECT_TRUE(stats.ok()) << path << ": " << stats.status();
    EXPECT_TRUE(got == bytes) << path << ": " << got.size() << " bytes, want " << bytes.size();
    if (stats.ok()) from_ufs += stats->bytes_from_ufs;
  }
  return from_ufs;
}

uint64_t StableCachedPages(client::Client& client) {
  uint64_t pages = 0;
  EXPECT_TRUE(Eventually(
      [&] {
        auto a = client.ListWorkers();
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        auto b = client.ListWorkers();
        if (!a.ok() || !b.ok()) return false;
        uint64_t pa = 0, pb = 0;
        for (const auto& w : *a) pa += w.pages;
        for (const auto& w : *b) pb += w.pages;
        pages = pb;
        return pa == pb;
      },
      std::chrono::seconds(10)));
  return pages;
}

uint64_t SumOfWorkerMetric(client::Client& client, std::string_view name) {
  auto workers = client.ListWorkers();
  EXPECT_TRUE(workers.ok()) << workers.status();
  if (!workers.ok()) return 0;
  uint64_t sum = 0;
  for (const client::WorkerInfo& w : *workers) {
    if (!w.live) continue;
    auto text = client.WorkerMetrics(w.address);
    EXPECT_TRUE(text.ok()) << w.address << ": " << text.status();
    if (!text.ok()) continue;
    std::istringstream lines(*text);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
      if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
          line[name.size()] == ' ') {
        sum += std::strtoull(line.c_str() + name.size() + 1, nullptr, 10);
        found = true;
      }
    }
    EXPECT_TRUE(found) << w.address << " reports no " << name;
  }
  return sum;
}

}  // namespace alluvium::testing
