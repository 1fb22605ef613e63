#define FUSE_USE_VERSION 312
#include "fuse/fuse_adapter.h"

#include <fuse_lowlevel.h>
#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/logging.h"
#include "common/paths.h"
#include "common/status_mapping.h"
#include "fuse/errno_mapping.h"
#include "fuse/kernel_read_ahead.h"
#include "fuse/mount_point.h"

namespace alluvium::fuse {

// The callbacks see the mount's SessionData; they are FuseMount's in all but name.
struct FuseMountCallbacks {
  using SessionData = FuseMount::SessionData;
  static Handlers& Of(fuse_req_t req) {
    return static_cast<FuseMount::SessionData*>(fuse_req_userdata(req))->handlers;
  }
  static FuseMount::SessionData& Data(void* userdata) {
    return *static_cast<FuseMount::SessionData*>(userdata);
  }
  static FuseMount::SessionData& Data(fuse_req_t req) { return Data(fuse_req_userdata(req)); }
};

namespace {

Handlers& HandlersOf(fuse_req_t req) { return FuseMountCallbacks::Of(req); }

// Replies with the errno for `status`; NotFound is a normal answer, the rest are logged here,
// the one place they are handled.
void ReplyError(fuse_req_t req, const Status& status, std::string_view op) {
  const int err = ErrnoOf(status);
  if (err == ENOENT) {
    ALLUVIUM_LOG(DEBUG, "fuse {}: {}", op, status);
  } else {
    ALLUVIUM_LOG(WARN, "fuse {} failed ({}): {}", op, std::strerror(err), status);
  }
  fuse_reply_err(req, err);
}

fuse_entry_param EntryParam(const Entry& e) {
  fuse_entry_param p{};
  p.ino = e.inode;
  p.attr = e.attr;
  p.attr_timeout = e.attr_timeout;
  p.entry_timeout = e.entry_timeout;
  return p;
}

void Init(void* userdata, fuse_conn_info* conn) {
  // Must match the max_read mount option (fuse_common.h). Read-ahead stays the kernel's: it
  // can only be lowered here.
  auto& data = FuseMountCallbacks::Data(userdata);
  conn->max_read = data.max_read;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // Every batch of a listing as readdirplus, not only the first ("auto" mode): the entries'
  // attributes come with the names, so reading the files after a listing (a data loader's
  // pattern) sends no lookup per file, and their small files' bytes can follow (PushSmallFiles).
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  // An open answered ENOSYS then tells the kernel to send no more opens and releases (and keep
  // the page cache), halving the requests per small file; a kernel without the capability would
  // fail the user's open instead.
  if (data.no_open_wanted && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)) {
    data.no_open.store(true);
    ALLUVIUM_LOG(INFO, "every file is immutable: the kernel reads files without opening them");
  }
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Result<Entry> e = HandlersOf(req).Lookup(parent, name);
  if (!e.ok()) return ReplyError(req, e.status(), "lookup");
  const fuse_entry_param p = EntryParam(*e);
  // An interrupted request never reached the kernel, which then will not forget it.
  if (fuse_reply_entry(req, &p) != 0) HandlersOf(req).Forget(e->inode, 1);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  HandlersOf(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) HandlersOf(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Result<Entry> e = HandlersOf(req).GetAttr(ino);
  if (!e.ok()) return ReplyError(req, e.status(), "getattr");
  fuse_reply_attr(req, &e->attr, e->attr_timeout);
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Result<uint64_t> handle = HandlersOf(req).OpenDir(ino);
  if (!handle.ok()) return ReplyError(req, handle.status(), "opendir");
  fi->fh = *handle;
  // Where every file is immutable, the kernel keeps each listing it read and serves the next
  // ones from it (across opendirs) until dropped: DropCaches invalidates the directory's
  // inode, or memory runs short. Elsewhere a listing may change, so each one asks.
  if (FuseMountCallbacks::Data(req).no_open.load(std::memory_order_relaxed)) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  if (fuse_reply_open(req, fi) != 0) HandlersOf(req).ReleaseDir(*handle);
}

// Reads files a listing gave the kernel into its page cache (FUSE's notify_store), so that
// reading them after the listing sends no request (FuseOptions::push_small_bytes). A file not
// cached on this host, or one the kernel has forgotten again (ENOENT), is left to its reads.
//
// A push waits for the page locks of its file, which the kernel holds while a read of that file
// waits for a loop thread: with every thread pushing, nothing would answer the reads. So at most
// half the threads push at a time; files that find no turn are left to their reads.
void PushSmallFiles(FuseMountCallbacks::SessionData& data, Handlers::PushQueue& queue,
                    const std::vector<Handlers::PushFile>& files) {
  if (files.empty()) return;
  if (data.pushing_threads.fetch_add(1) >= data.max_pushing_threads) {
    data.pushing_threads.fetch_sub(1);
    return;
  }
  thread_local std::vector<std::byte> buffer;
  for (const Handlers::PushFile& file : files) {
    buffer.resize(file.size);
    if (!data.handlers.ReadToPush(queue, file.inode, buffer)) continue;
    fuse_bufvec bufv = FUSE_BUFVEC_INIT(file.size);
    bufv.buf[0].mem = buffer.data();
    const int rc = fuse_lowlevel_notify_store(data.session, file.inode, 0, &bufv,
                                              static_cast<fuse_buf_copy_flags>(0));
    if (rc != 0) {
      ALLUVIUM_LOG(DEBUG, "notify_store of inode {} failed: {}", file.inode, std::strerror(-rc));
    }
  }
  data.pushing_threads.fetch_sub(1);
}

void ReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  auto& data = FuseMountCallbacks::Data(req);  // the reply frees `req`
  // Only where the kernel keeps file data across opens: with opens, each would drop it.
  const uint64_t push_limit =
      plus && data.no_open.load(std::memory_order_relaxed) ? data.push_small_bytes : 0;
  std::vector<Handlers::PushFile> small_files;
  std::vector<char> buffer(size);
  size_t used = 0;
  Status st =
      HandlersOf(req).ReadDir(fi->fh, static_cast<uint64_t>(offset), plus, [&](const DirEntry& d) {
        const off_t next = static_cast<off_t>(d.next_offset);
        size_t needed = 0;
        if (plus) {
          const fuse_entry_param p = EntryParam(d.entry);
          needed = fuse_add_direntry_plus(req, buffer.data() + used, size - used, d.name.c_str(),
                                          &p, next);
        } else {
          needed = fuse_add_direntry(req, buffer.data() + used, size - used, d.name.c_str(),
                                     &d.entry.attr, next);
        }
        if (needed > size - used) return false;
        used += needed;
        const auto length = static_cast<uint64_t>(d.entry.attr.st_size);
        if (d.entry.inode != 0 && S_ISREG(d.entry.attr.st_mode) && length > 0 &&
            length <= push_limit) {
          small_files.push_back({.inode = d.entry.inode, .size = length});
        }
        return true;
      });
  if (!st.ok()) return ReplyError(req, st, "readdir");
  // This request comes after the kernel took the last reply in: that reply's files can go now.
  // This reply's wait for the next request; queued before it is sent, which lets that come.
  const std::shared_ptr<Handlers::PushQueue> queue =
      push_limit == 0 ? nullptr : data.handlers.PushQueueOf(fi->fh);
  std::vector<Handlers::PushFile> ready;
  if (queue != nullptr) {
    ready = queue->TakeAll();
    queue->Add(small_files);
  }
  if (fuse_reply_buf(req, buffer.data(), used) == 0 && !ready.empty()) {
    PushSmallFiles(data, *queue, ready);
  }
}

void ReadDirPlain(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  ReadDir(req, ino, size, offset, fi, false);
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  ReadDir(req, ino, size, offset, fi, true);
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto& data = FuseMountCallbacks::Data(req);  // the reply frees `req`
  // The last reply's small files (ReadDir): the kernel has taken it in.
  const std::shared_ptr<Handlers::PushQueue> queue = data.handlers.PushQueueOf(fi->fh);
  data.handlers.ReleaseDir(fi->fh);
  fuse_reply_err(req, 0);
  if (queue != nullptr) PushSmallFiles(data, *queue, queue->TakeAll());
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (const int err = Handlers::RefuseWrites(fi->flags); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (FuseMountCallbacks::Data(req).no_open.load()) {
    fuse_reply_err(req, ENOSYS);  // not an error: "read without opening" (see Init)
    return;
  }
  Result<OpenedFile> opened = HandlersOf(req).Open(ino);
  if (!opened.ok()) return ReplyError(req, opened.status(), "open");
  fi->fh = opened->handle;
  fi->keep_cache = opened->keep_cache;
  fi->direct_io = opened->direct_io;
  // An interrupted open never reaches the kernel, which then never releases it.
  if (fuse_reply_open(req, fi) != 0) HandlersOf(req).Release(opened->handle);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  // Scratch for what read-ahead does not hold: one per loop thread, grown to the largest read
  // (max_read), so a read allocates nothing once the thread has served one. Bytes read-ahead
  // holds go to the kernel straight from its buffer.
  thread_local std::vector<std::byte> scratch;
  if (scratch.size() < size) scratch.resize(size);
  Result<FileReader::View> view = HandlersOf(req).ReadView(
      fi->fh, ino, static_cast<uint64_t>(offset), std::span(scratch).first(size));
  if (!view.ok()) return ReplyError(req, view.status(), "read");
  const bool read_ahead = view->read_ahead_due;
  Handlers& handlers = HandlersOf(req);  // req and fi are gone once answered
  const uint64_t handle = fi->fh;
  fuse_reply_buf(req, reinterpret_cast<const char*>(view->bytes.data()), view->bytes.size());
  view = FileReader::View{};  // the buffer's lease ends with the reply
  // The reader's next window, fetched while it takes this reply and comes back for more.
  if (read_ahead) handlers.ReadAhead(handle);
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  HandlersOf(req).Release(fi->fh);
  fuse_reply_err(req, 0);
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  Result<struct statvfs> st = HandlersOf(req).StatFs();
  if (!st.ok()) return ReplyError(req, st.status(), "statfs");
  fuse_reply_statfs(req, &*st);
}

// libfuse's messages go to our log rather than straight to stderr. It writes one line in
// several calls, so a line is logged once it ends.
void LogFromLibfuse(fuse_log_level level, const char* format, va_list ap) {
  thread_local std::string pending;
  char piece[1024];
  std::vsnprintf(piece, sizeof piece, format, ap);
  pending += piece;
  for (size_t end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
    const std::string line = pending.substr(0, end);
    pending.erase(0, end + 1);
    if (level <= FUSE_LOG_ERR) {
      ALLUVIUM_LOG(ERROR, "libfuse: {}", line);
    } else if (level <= FUSE_LOG_NOTICE) {
      ALLUVIUM_LOG(WARN, "libfuse: {}", line);
    } else {
      ALLUVIUM_LOG(DEBUG, "libfuse: {}", line);
    }
  }
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.opendir = OpenDir;
  ops.readdir = ReadDirPlain;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.open = Open;
  ops.read = Read;
  ops.release = Release;
  ops.statfs = StatFs;
  return ops;
}();

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

}  // namespace

void FuseMount::SessionDeleter::operator()(fuse_session* session) const {
  fuse_remove_signal_handlers(session);
  fuse_session_unmount(session);  // a no-op once unmounted
  fuse_session_destroy(session);
}

FuseMount::FuseMount(Handlers& handlers, std::string mountpoint, const FuseOptions& options)
    : data_{.handlers = handlers,
            .max_read = options.max_read,
            .no_open_wanted = options.no_open,
            .push_small_bytes = options.push_small_bytes,
            .max_pushing_threads = std::max(1u, options.max_threads / 2)},
      mountpoint_(std::move(mountpoint)),
      max_threads_(options.max_threads),
      kernel_read_ahead_kib_(options.kernel_read_ahead_kib),
      drop_listener_([this] { DropCaches(); }) {}

FuseMount::~FuseMount() = default;

void FuseMount::BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  BlockDropCachesSignal();
}

void FuseMount::DropCaches() {
  Handlers& handlers = data_.handlers;
  handlers.DropCaches();
  const InodeTable& inodes = handlers.inodes();
  size_t entries = 0, attrs = 0;
  // An inode the kernel has just forgotten answers ENOENT: nothing to drop there.
  for (const auto& [inode, path] : inodes.Live()) {
    if (inode != InodeTable::kRootInode) {
      const size_t slash = path.rfind('/');
      const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
      const std::string_view name = BaseName(path);
      if (std::optional<uint64_t> dir = inodes.InodeOf(parent);
          dir &&
          fuse_lowlevel_notify_inval_entry(session_.get(), *dir, name.data(), name.size()) == 0) {
        ++entries;
      }
    }
    // Offset 0 and length 0: the attributes and all cached data.
    if (fuse_lowlevel_notify_inval_inode(session_.get(), inode, 0, 0) == 0) ++attrs;
  }
  ALLUVIUM_LOG(INFO, "dropped the metadata caches of {}: {} entries and {} inodes invalidated",
               mountpoint_, entries, attrs);
}

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(Handlers& handlers,
                                                    const std::string& mountpoint,
                                                    const FuseOptions& options) {
  ALLUVIUM_RETURN_IF_ERROR(CheckCanMount(mountpoint));
  auto mount = std::make_unique<FuseMount>(handlers, mountpoint, options);
  ALLUVIUM_RETURN_IF_ERROR(mount->MountSession(options));
  ALLUVIUM_LOG(INFO, "mounted cache path {} at {}", options.path, mountpoint);
  return mount;
}

Status FuseMount::MountSession(const FuseOptions& options) {
  fuse_set_log_func(LogFromLibfuse);
  // Read-only in the kernel too: it answers writes, creates and renames with EROFS itself.
  std::vector<std::string> argv = {"alluvium", "-o",
                                   fmt::format("ro,fsname=alluvium:{},subtype=alluvium,max_read={}",
                                               options.path, options.max_read)};
  for (const std::string& o : options.fuse_options) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  std::vector<char*> pointers;
  for (std::string& a : argv) pointers.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(pointers.size()), pointers.data());
  fuse_session* raw = fuse_session_new(&args, &kOps, sizeof kOps, &data_);
  fuse_opt_free_args(&args);
  if (raw == nullptr) {
    return InvalidArgument(
        fmt::format("libfuse refused the mount options {} (its message is logged above)",
                    fmt::join(options.fuse_options, ",")));
  }
  session_.reset(raw);
  data_.session = raw;
  if (fuse_set_signal_handlers(raw) != 0) {
    return InternalError("cannot install the FUSE signal handlers");
  }
  if (fuse_session_mount(raw, mountpoint_.c_str()) != 0) {
    return FailedPrecondition(fmt::format(
        "the kernel refused to mount at {} (libfuse's message is logged above)", mountpoint_));
  }
  return OkStatus();
}

Status FuseMount::Run() {
  // Once the loop has answered the kernel's INIT (which would lower it again); started with
  // the stop signals still blocked, so that they reach the loop's threads, not this one.
  std::jthread read_ahead;
  if (kernel_read_ahead_kib_ != 0) {
    read_ahead = std::jthread([this] {
      if (Status st = SetKernelReadAhead(mountpoint_, kernel_read_ahead_kib_); !st.ok()) {
        ALLUVIUM_LOG(WARN, "the kernel's read-ahead of {} stays 128 KiB (-o read_ahead_kb={}): {}",
                     mountpoint_, kernel_read_ahead_kib_, st);
      }
    });
  }
  const sigset_t set = StopSignals();
  sigset_t old;
  pthread_sigmask(SIG_UNBLOCK, &set, &old);
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, max_threads_);
  drop_listener_.Start();
  const int rc = fuse_session_loop_mt(session_.get(), config);
  // Before the unmount: a drop must not notify a session that is going.
  drop_listener_.Stop();
  fuse_loop_cfg_destroy(config);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  fuse_session_unmount(session_.get());
  if (rc < 0) return FromErrno(-rc, "FUSE session loop at " + mountpoint_);
  ALLUVIUM_LOG(INFO, "unmounted {}{}", mountpoint_,
               rc > 0 ? fmt::format(" on signal {}", strsignal(rc)) : "");
  return OkStatus();
}

}  // namespace alluvium::fuse
