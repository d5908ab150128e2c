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
  // The next list reads etcd (no resourceVersion, paged) rather than the API server's watch cache
  // (resourceVersion=0): after a 410 (what this watcher saw is compacted away: client-go relists
  // consistently then too), or a cache answer over max_list_body (the cache ignores limit, so only
  // etcd's pages are smaller). Cleared by a list that succeeds.
  bool list_consistent = false;
  std::chrono::steady_clock::time_point next_decode_log{};
  uint64_t decode_errors_unlogged = 0;
  // Guarded by PodDiscovery::state_mu_.
  std::map<std::string, std::vector<Labels>> pods;  // "<ns>/<name>" -> targets
  bool synced = false;
};

}  // namespace skidder::kubernetes
