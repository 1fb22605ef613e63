// alluvium._native: the C++ client (client/client.h) for Python, so that Python reads through
// the same ring, short-circuit reads, remote reads and worker failover as the CLI and the FUSE
// mount. Thin: each call converts arguments, releases the GIL for the I/O, converts the answer,
// and turns a Status into the matching Python exception (status_errors.h). The filesystem
// semantics (fsspec's) live in the Python package.
#include <Python.h>
#include <pthread.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "client/client.h"
#include "client/namespace.h"
#include "common/config.h"
#include "common/security.h"
#include "status_errors.h"

namespace py = pybind11;

// gRPC's own fork handlers (src/core/lib/iomgr/fork_posix.cc, exported by libgrpc): before a
// fork they wait until no thread is inside gRPC and stop its threads; after it they start them
// again, and in the child they reset its pollers so that it can open channels of its own.
// gRPC registers them itself only when built with GRPC_POSIX_FORK_ALLOW_PTHREAD_ATFORK, as
// Python's grpcio is and Debian's libgrpc is not. They act only with GRPC_ENABLE_FORK_SUPPORT
// set when gRPC starts (alluvium/_connection.py sets it before it loads this module).
void grpc_prefork();
void grpc_postfork_parent();
void grpc_postfork_child();

namespace alluvium::python {
namespace {

// Runs the client call with the GIL released, so other Python threads run meanwhile.
template <typename F>
auto WithoutGil(F&& f) {
  py::gil_scoped_release unlocked;
  return f();
}

py::dict InfoDict(const client::FileInfo& info) {
  py::dict d;
  d["name"] = info.path;
  d["size"] = info.length;
  d["type"] = info.is_directory ? "directory" : "file";
  d["uri"] = info.uri;
  d["mtime"] = static_cast<double>(info.mtime_ms) / 1000.0;
  d["version"] = info.version;
  return d;
}

// A Python bytes object of `size` bytes to read into without the GIL: nobody else can see it
// until it is returned.
struct PendingBytes {
  explicit PendingBytes(uint64_t size)
      : object(py::reinterpret_steal<py::object>(
            PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)))),
        size(size) {
    if (!object) throw py::error_already_set();
  }
  std::span<std::byte> buffer() {
    return {reinterpret_cast<std::byte*>(PyBytes_AS_STRING(object.ptr())), size};
  }
  // Drops what was not read (a file shorter than its status said).
  py::bytes Finish(uint64_t read) {
    if (read < size) {
      PyObject* raw = object.release().ptr();
      if (_PyBytes_Resize(&raw, static_cast<Py_ssize_t>(read)) != 0) throw py::error_already_set();
      object = py::reinterpret_steal<py::object>(raw);
    }
    return py::reinterpret_borrow<py::bytes>(object);
  }
  py::object object;
  uint64_t size;
};

// cat_ranges: at most this many threads, one per this many ranges.
constexpr size_t kMaxRangeThreads = 4;
constexpr size_t kRangesPerThread = 16;

class NativeClient {
 public:
  NativeClient(const std::string& config_file, const std::vector<std::string>& overrides) {
    Result<Config> config = Config::Load({.file = config_file, .overrides = overrides});
    ThrowIfError(config.status());
    coordinator_ = fmt::format("{}:{}", config->GetString(keys::kCoordinatorHostname),
                               config->GetInt(keys::kCoordinatorRpcPort));
    rest_ = fmt::format("{}:{}", config->GetString(keys::kCoordinatorHostname),
                        config->GetInt(keys::kCoordinatorWebPort));
    Result<std::unique_ptr<client::Client>> connected =
        WithoutGil([&] { return client::Client::Connect(*config); });
    ThrowIfError(connected.status());
    client_ = std::move(*connected);
    namespace_ = std::make_unique<client::Namespace>(*client_);
    Result<SecuritySettings> security = SecuritySettings::FromConfig(*config, /*server=*/false);
    ThrowIfError(security.status());
    security_ = *std::move(security);
    if (!security_.tls_settings.cert_pem.empty()) {
      // Python's ssl loads a client certificate from files only: the paths, not the PEM text.
      cert_file_ = config->GetPath(keys::kSecurityTlsCertFile);
      key_file_ = config->GetPath(keys::kSecurityTlsKeyFile);
    }
  }

  py::dict Stat(const std::string& path) {
    Result<client::FileInfo> info = WithoutGil([&] { return namespace_->Stat(path); });
    ThrowIfError(info.status());
    return InfoDict(*info);
  }

  // A directory's entries, the mount points below it among them.
  py::list List(const std::string& path) {
    Result<std::vector<client::FileInfo>> entries =
        WithoutGil([&] { return namespace_->List(path); });
    ThrowIfError(entries.status());
    py::list out;
    for (const client::FileInfo& e : *entries) out.append(InfoDict(e));
    return out;
  }

  // [start, end) of the file, fewer bytes past its end; end < 0: to the end.
  py::bytes Read(const std::string& path, uint64_t start, int64_t end) {
    const client::FileInfo info = WithoutGil([&] { return FileStatus(path); });
    PendingBytes bytes(Span(info.length, start, end));
    Result<client::ReadStats> read =
        WithoutGil([&] { return client_->ReadInto(path, start, bytes.buffer()); });
    ThrowIfError(read.status());
    return bytes.Finish(read->bytes);
  }

  // Many ranges in one call, read side by side without the GIL; the first error raises.
  py::list ReadRanges(const std::vector<std::string>& paths, const std::vector<uint64_t>& starts,
                      const std::vector<int64_t>& ends) {
    if (paths.size() != starts.size() || paths.size() != ends.size()) {
      ThrowIfError(InvalidArgument(
          fmt::format("read_ranges needs as many starts and ends as paths ({}, {}, {})",
                      paths.size(), starts.size(), ends.size())));
    }
    // Each file's length once, however many of its ranges are asked for.
    std::vector<uint64_t> lengths(paths.size());
    WithoutGil([&] {
      std::unordered_map<std::string_view, uint64_t> known;
      for (size_t i = 0; i < paths.size(); ++i) {
        auto [it, fresh] = known.try_emplace(paths[i]);
        if (fresh) it->second = FileStatus(paths[i]).length;
        lengths[i] = it->second;
      }
    });
    std::vector<PendingBytes> pending;
    pending.reserve(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      pending.emplace_back(Span(lengths[i], starts[i], ends[i]));
    }
    std::vector<uint64_t> read(paths.size());
    // Side by side on a few threads of this call's own: a range costs the client's per-read
    // work (locating, verifying) as much as its copy, and the ranges are independent.
    const size_t threads =
        std::min<size_t>({kMaxRangeThreads, std::max(1u, std::thread::hardware_concurrency()),
                          (paths.size() + kRangesPerThread - 1) / kRangesPerThread});
    std::vector<Status> failed(threads);
    WithoutGil([&] {
      auto read_every = [&](size_t first) {
        for (size_t i = first; i < paths.size(); i += threads) {
          Result<client::ReadStats> stats =
              client_->ReadInto(paths[i], starts[i], pending[i].buffer());
          if (!stats.ok()) {
            failed[first] = stats.status();
            return;
          }
          read[i] = stats->bytes;
        }
      };
      std::vector<std::jthread> helpers;
      for (size_t t = 1; t < threads; ++t) helpers.emplace_back(read_every, t);
      read_every(0);
    });
    for (const Status& status : failed) ThrowIfError(status);
    py::list out;
    for (size_t i = 0; i < paths.size(); ++i) out.append(pending[i].Finish(read[i]));
    return out;
  }

  void DropMetadataCache() {
    client_->DropMetadataCache();
    namespace_->ForgetMounts();
  }
  const std::string& coordinator() const { return coordinator_; }
  const std::string& rest() const { return rest_; }
  // How load jobs talk to the REST API (alluvium.jobs.LoadJobs): {"tls", "ca_pem", "cert_file",
  // "key_file", "token"}.
  py::dict rest_security() const {
    py::dict out;
    out["tls"] = security_.tls;
    out["ca_pem"] = security_.tls_settings.ca_pem;
    out["cert_file"] = cert_file_;
    out["key_file"] = key_file_;
    out["token"] = security_.token;
    return out;
  }

 private:
  // A file's status; raises IsADirectoryError for a directory. Callable without the GIL.
  client::FileInfo FileStatus(const std::string& path) {
    Result<client::FileInfo> info = namespace_->Stat(path);
    ThrowIfError(info.status());
    if (info->is_directory) {
      throw StatusError::WithErrno(EISDIR, fmt::format("{} is a directory", path));
    }
    return *std::move(info);
  }

  // Bytes of [start, end) within a file of `length` bytes; end < 0: to its end.
  static uint64_t Span(uint64_t length, uint64_t start, int64_t end) {
    const uint64_t stop = end < 0 ? length : std::min<uint64_t>(length, static_cast<uint64_t>(end));
    return stop > start ? stop - start : 0;
  }

  std::string coordinator_;
  std::string rest_;
  SecuritySettings security_;
  std::string cert_file_;  // under mutual TLS
  std::string key_file_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<client::Namespace> namespace_;
};

}  // namespace
}  // namespace alluvium::python

PYBIND11_MODULE(_native, m) {
  using alluvium::python::NativeClient;
  m.doc() = "The Alluvium C++ client (used by alluvium.AlluviumFileSystem)";
  alluvium::python::RegisterStatusErrors(m);
  if (pthread_atfork(grpc_prefork, grpc_postfork_parent, grpc_postfork_child) != 0) {
    throw std::runtime_error("alluvium._native: pthread_atfork failed");
  }
  py::class_<NativeClient>(m, "Client")
      .def(py::init<const std::string&, const std::vector<std::string>&>(), py::arg("config_file"),
           py::arg("overrides"))
      .def("stat", &NativeClient::Stat, py::arg("path"))
      .def("list", &NativeClient::List, py::arg("path"))
      .def("read", &NativeClient::Read, py::arg("path"), py::arg("start") = 0, py::arg("end") = -1)
      .def("read_ranges", &NativeClient::ReadRanges, py::arg("paths"), py::arg("starts"),
           py::arg("ends"))
      .def("drop_metadata_cache", &NativeClient::DropMetadataCache,
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("coordinator", &NativeClient::coordinator)
      .def_property_readonly("rest", &NativeClient::rest)
      .def_property_readonly("rest_security", &NativeClient::rest_security);
}
