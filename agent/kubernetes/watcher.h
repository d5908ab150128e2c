// Internal to agent/kubernetes: the state of one PodDiscovery list/watch loop (one namespace, or
// all). Its thread owns everything but `pods` and `synced`, which PodDiscovery::state_mu_ guards.
#pragma once

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
  std::string buffer;  // partial watch line
  // Guarded by PodDiscovery::state_mu_.
  std::map<std::string, std::vector<Labels>> pods;  // "<ns>/<name>" -> targets
  bool synced = false;
};

}  // namespace skidder::kubernetes
