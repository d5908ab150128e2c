// LoadKubeconfig: reads a kubeconfig file (kubernetes_sd_configs.kubeconfig_file) into the same
// ClientConfig that api_server + bearer_token_file + tls_config produce.
//
// Called from ResolveSdConfig on the thread that starts discovery. It reads only the kubeconfig
// itself: token and certificate files it names are left to KubeClient, which re-reads them like
// the files of an explicit api_server config (so rotation works the same). Inline *-data values
// end up in memory only (ClientConfig's *_pem fields), never in temporary files.
//
// Supported: current-context (or the only context); cluster server, certificate-authority(-data),
// insecure-skip-tls-verify; user token, tokenFile, client-certificate(-data),
// client-key(-data), username/password. Refused with an error naming them: user `exec` and
// `auth-provider` plugins, cluster `tls-server-name` and `proxy-url`. Relative paths are relative
// to the kubeconfig's directory, as kubectl resolves them.
#pragma once

#include <string>

#include "kubernetes/client.h"
#include "util/status.h"

namespace skidder::kubernetes {

struct Kubeconfig {
  ClientConfig client;
  std::string namespace_name;  // the context's namespace; "default" when it names none
};

Result<Kubeconfig> LoadKubeconfig(const std::string& path);

}  // namespace skidder::kubernetes
