// Internal to agent/kubernetes: the state of one PodDiscovery list/watch loop (one namespace, or
// all). Its thread owns everything but `pods` and `synced`, which PodDiscovery::state_mu_ guards.
#pragma once

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kubernetes/client.h"
#include "kubernetes/discovery.h"
#include "model/labels.h"

namespace skidder::kubernetes {

struct PodDiscovery::Watcher {
  Watcher(PodQuery q, const ClientConfig& c) : query(std::move(q)), client(c) {}
  PodQuery query;
  KubeClient client;
  std::thread thread;
  std::mt19937 rng{std::random_device{}()};
  std::string resource_version;
  std::string buffer;                   // partial watch line
  std::chrono::seconds retry_after{0};  // Retry-After of the last failed response
  std::string failing;                  // failure state last logged; "" while healthy
  uint64_t failures = 0;                // failures since the agent last logged health
  bool page_cut_logged = false;         // a list page over max_list_body was logged
  // Where the next list is read from, as client-go's reflector chooses:
  //  - kCache: the API server's watch cache (resourceVersion=0), the first list;
  //  - kSeen: the watch cache again, at least as new as what this watcher saw
  //    (resourceVersion=<last seen>, no limit: with a limit the server reads etcd), after a 410.
  //    An API server restart or upgrade expires every node's watch at once: each relisting from
  //    etcd reads every pod of the cluster (the field selector is applied after the read);
  //  - kEtcd: etcd (no resourceVersion, paged), when the server does not have that version
  //    (410 or "Too large resource version" to the kSeen list), or when a cache answer was over
  //    max_list_body (the cache ignores limit: only etcd's pages are smaller).
  // A list that succeeds sets kCache again.
  enum class ListFrom { kCache, kSeen, kEtcd };
  ListFrom list_from = ListFrom::kCache;
  std::chrono::steady_clock::time_point next_decode_log{};
  uint64_t decode_errors_unlogged = 0;
  // Guarded by PodDiscovery::state_mu_.
  std::map<std::string, std::vector<Labels>> pods;  // "<ns>/<name>" -> targets
  bool synced = false;
};

}  // namespace skidder::kubernetes
