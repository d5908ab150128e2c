// Reads one Secret for Alloy's remote.kubernetes.secret, once, when the config is loaded or
// reloaded: GET /api/v1/namespaces/<ns>/secrets/<name> with the client settings of a
// kubernetes_sd_config (in-cluster unless it names an api_server or a kubeconfig_file).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "config/config.h"
#include "kubernetes/discovery.h"
#include "util/status.h"

namespace skidder::kubernetes {

// The Secret's data as the API gives it: key -> base64 value. A transport error, 429 or 5xx is
// asked again until `timeout` is spent (the call blocks that long at most), then Unavailable.
// Other errors say what to do about a 403 (the service account needs get on the secret) and a
// 404, never quoting a credential. Thread-safe (nothing shared between calls). Once *cancel
// (when given) is true, the call ends within about 100 ms, Unavailable.
Result<std::map<std::string, std::string>> ReadSecretData(
    const config::KubernetesSdConfig& client, const std::string& namespace_name,
    const std::string& name, std::chrono::milliseconds timeout, const DiscoveryEnv& env,
    const std::atomic<bool>* cancel = nullptr);

}  // namespace skidder::kubernetes
