// An Alloy configuration (the log components of a `config.alloy`) read into the same Config the
// Promtail YAML loader produces, so everything downstream runs unchanged.
//
// The component graph is resolved here: each loki.source.* becomes one scrape config whose
// targets come from its discovery chain (discovery.kubernetes -> discovery.relabel ->
// local.file_match) and whose pipeline is the graph of loki.process / loki.relabel it forwards
// to (fan-out and per-path loki.write components through the fanout stage); every loki.write
// endpoint becomes a client. Cycles, unknown references and every component skidder does not
// run are refused with file:line:column. See docs/migrate-from-alloy.md.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "config/config.h"
#include "util/status.h"

namespace skidder::config {

// A Kubernetes Secret a remote.kubernetes.secret component names, with the API client settings
// of its client block (a kubernetes_sd_config's, in-cluster when it names no server).
//
// Or a local.file's file (`file` set, the rest unused but poll_frequency): read from disk, its
// data {"content": the text as it is}, so that the poller re-reads a rotated token or password
// file as it polls a Secret.
struct SecretRef {
  std::string file;
  std::string namespace_name;
  std::string name;
  KubernetesSdConfig client;
  Duration timeout;  // poll_timeout
  // How often the running agent reads it again (app/secret_poller.h); Alloy's default.
  Duration poll_frequency = std::chrono::minutes(1);
};
// Reads a Secret's data as the API gives it (key -> base64). The agent reads it from the API
// server (kubernetes/secret.h); without one, remote.kubernetes.secret is refused. Blocks for up
// to the ref's timeout; called on whichever thread loads the config (the main thread at start
// and on SIGHUP, the HTTP server's for POST /reload), possibly at the same time.
using SecretReader = std::function<Result<std::map<std::string, std::string>>(const SecretRef&)>;

// What loading may need from outside the config module.
struct LoadHooks {
  SecretReader read_secret;
  // -check-syntax: Secrets are not read (the machine checking a file need not reach the cluster);
  // their data is empty, so what reads them gets null, and a warning says so.
  bool offline = false;
};

Result<Config> ParseAlloyConfig(const std::string& text, const std::string& file,
                                const LoadHooks& hooks = {});

// True when the config file should be read as Alloy: format "alloy", or no format and a
// `.alloy` file name.
bool IsAlloyConfig(const std::string& format, const std::string& file);

}  // namespace skidder::config
