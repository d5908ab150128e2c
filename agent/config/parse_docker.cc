// scrape_configs[].docker_sd_configs: Prometheus' Docker discovery as Promtail's Docker target
// reads it (host, port, filters, refresh_interval and the HTTP client settings): the checks once
// its fields (fields.h) are read.
#include <fmt/format.h>

#include "config/field_reader.h"

namespace skidder::config::internal {

void Validate(MapReader& r, std::pair<std::string, std::vector<std::string>>& docker_filter) {
  if (docker_filter.first.empty()) r.Fail("name", "is required (e.g. label, name, status)");
}

void Validate(MapReader& r, DockerSdConfig& d) {
  ValidateHttpClient(r, d);
  // Prometheus' rule: bearer_token(_file) is an Authorization of type Bearer.
  if (!d.bearer_token.empty() || !d.bearer_token_file.empty()) {
    d.authorization = Authorization{"Bearer", d.bearer_token, d.bearer_token_file};
    d.bearer_token.clear();
    d.bearer_token_file.clear();
  }
  const std::string& h = d.host;
  if (h.empty()) {
    r.Fail("host", "is required (e.g. unix:///var/run/docker.sock)");
  } else if (!h.starts_with("unix://") && !h.starts_with("tcp://") && !h.starts_with("http://") &&
             !h.starts_with("https://")) {
    r.Fail("host",
           fmt::format("{} is not a unix://, tcp://, http:// or https:// address", Quote(h)));
  } else if (h.starts_with("unix://") && h.size() <= 7) {
    r.Fail("host", "unix:// needs a socket path, e.g. unix:///var/run/docker.sock");
  }
  if (d.port < 0 || d.port > 65535) r.Fail("port", "must be between 0 and 65535");
  if (d.refresh_interval <= Duration(0)) r.Fail("refresh_interval", "must be positive");
}

}  // namespace skidder::config::internal
