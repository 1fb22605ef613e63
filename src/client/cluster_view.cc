#include "client/cluster_view.h"

#include "proto/mount_table_proto.h"

#include "alluvium.pb.h"

namespace alluvium::client {

namespace {

std::vector<std::string> AddressesOf(const ClusterView& view, const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    auto it = view.address_of.find(id);
    if (it != view.address_of.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace

std::vector<std::string> ClusterView::Candidates(std::string_view key, size_t n) const {
  return AddressesOf(*this, ring->Lookup(key, n));
}

std::vector<std::string> ClusterView::Candidates(const FileInfo& file, uint64_t segment,
                                                 size_t n) const {
  return AddressesOf(*this, files->Workers(file.uri, file.length, segment, n));
}

Result<std::shared_ptr<const ClusterView>> BuildClusterView(const rpc::ClusterInfo& info) {
  auto view = std::make_shared<ClusterView>();
  ALLUVIUM_ASSIGN_OR_RETURN(ring::Policy policy, ring::ParsePolicy(info.ring().policy()));
  ring::RingOptions ring_options;
  ring_options.policy = policy;
  if (info.ring().virtual_nodes() > 0) ring_options.virtual_nodes = info.ring().virtual_nodes();
  view->segment_size = info.ring().segment_size();
  if (view->segment_size == 0) return InvalidArgument("coordinator sent a zero segment size");

  std::vector<std::string> live;
  for (const rpc::WorkerInfo& w : info.workers()) {
    const bool is_live = w.state() == rpc::WORKER_STATE_LIVE;
    view->workers.push_back({.id = w.id(),
                             .address = w.address(),
                             .live = is_live,
                             .last_heartbeat_ms = w.last_heartbeat_ms(),
                             .capacity_bytes = w.stats().capacity_bytes(),
                             .used_bytes = w.stats().used_bytes(),
                             .pages = w.stats().pages()});
    if (!is_live) continue;
    live.push_back(w.id());
    view->address_of[w.id()] = w.address();
  }
  view->ring = ring::Ring::Build(std::move(live), ring_options);
  view->files = std::make_unique<const ring::FilePlacementCache>(view->ring, view->segment_size);
  ALLUVIUM_ASSIGN_OR_RETURN(view->mounts, MountTableFromProto(info));
  return std::shared_ptr<const ClusterView>(std::move(view));
}

}  // namespace alluvium::client
