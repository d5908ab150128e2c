// The TLS options of a libcurl handle from TlsOptions: one place for every client that drives
// libcurl itself (io::HttpClient, the Docker API client).
#pragma once

#include <curl/curl.h>

#include "io/http_client.h"

namespace skidder::io {

// CA bundle, client certificate and key (files, or PEM from memory), verification and TLS
// versions. Not server_name: io::HttpClient routes it through the URL.
void SetTlsOptions(CURL* easy, const TlsOptions& tls);

}  // namespace skidder::io
