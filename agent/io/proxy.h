// proxy_connect_header: the headers Prometheus' HTTP client sends to a proxy in its CONNECT
// request (e.g. Proxy-Authorization), as "Name: value" lines for libcurl's CURLOPT_PROXYHEADER.
// Shared by every libcurl user (io/http_client, the Kubernetes and Docker clients).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace skidder::io {

// One line per value, in name order; a name or value that could split the request (ValidHeader)
// is left out (the config reader refuses those already).
std::vector<std::string> ProxyConnectHeaderLines(
    const std::map<std::string, std::vector<std::string>>& headers);

}  // namespace skidder::io
