// scrape_configs[].docker_sd_configs: Prometheus' Docker discovery as Promtail's Docker target
// reads it (host, port, filters, refresh_interval and the HTTP client settings).
#include <fmt/format.h>

#include "config/sections.h"

namespace skidder::config::internal {
namespace {

Status ReadFilters(MapReader& parent, DockerSdConfig* out) {
  const std::string& file = parent.file();
  return ForEachItem(parent.Node("filters"), file, parent.Sub("filters"),
                     [&](const YAML::Node& item, const std::string& p) {
                       MapReader r(item, file, p);
                       std::string name;
                       std::vector<std::string> values;
                       r.Str("name", &name);
                       r.StrList("values", &values);
                       if (name.empty()) r.Fail("name", "is required (e.g. label, name, status)");
                       out->filters.emplace_back(std::move(name), std::move(values));
                       return r.Finish();
                     });
}

// basic_auth, authorization and the older bearer_token(_file), as Prometheus' HTTP client reads
// them; at most one way of authenticating.
Status ReadAuth(MapReader& r, DockerSdConfig* out) {
  if (YAML::Node n = r.Node("basic_auth"); n.IsDefined() && !n.IsNull()) {
    MapReader b(n, r.file(), r.Sub("basic_auth"));
    BasicAuth auth;
    b.Str("username", &auth.username);
    b.Str("username_file", &auth.username_file);
    b.Str("password", &auth.password);
    b.Str("password_file", &auth.password_file);
    if (!auth.password.empty() && !auth.password_file.empty()) {
      b.Fail("password_file", "set either password or password_file, not both");
    }
    if (Status s = b.Finish(); !s.ok()) return s;
    out->basic_auth = std::move(auth);
  }
  Authorization bearer;
  r.Str("bearer_token", &bearer.credentials);
  r.Str("bearer_token_file", &bearer.credentials_file);
  if (YAML::Node n = r.Node("authorization"); n.IsDefined() && !n.IsNull()) {
    MapReader a(n, r.file(), r.Sub("authorization"));
    Authorization auth;
    a.Str("type", &auth.type);
    a.Str("credentials", &auth.credentials);
    a.Str("credentials_file", &auth.credentials_file);
    if (auth.type.empty()) auth.type = "Bearer";
    if (auth.type.find_first_of(" \t\r\n") != std::string::npos) {
      a.Fail("type", "must be a single word such as Bearer");
    }
    if (!bearer.credentials.empty() || !bearer.credentials_file.empty()) {
      a.Fail("type", "set either authorization or bearer_token(_file), not both");
    }
    if (Status s = a.Finish(); !s.ok()) return s;
    out->authorization = std::move(auth);
  } else if (!bearer.credentials.empty() || !bearer.credentials_file.empty()) {
    if (!bearer.credentials.empty() && !bearer.credentials_file.empty()) {
      r.Fail("bearer_token_file", "set either bearer_token or bearer_token_file, not both");
    }
    out->authorization = std::move(bearer);
  }
  if (out->basic_auth && out->authorization) {
    r.Fail("basic_auth", "set either basic_auth or a bearer token / authorization, not both");
  }
  return Status::Ok();
}

Status ReadDocker(const YAML::Node& node, const std::string& file, const std::string& path,
                  DockerSdConfig* out) {
  MapReader r(node, file, path);
  r.Str("host", &out->host);
  r.Int("port", &out->port);
  r.Str("host_networking_host", &out->host_networking_host);
  r.Dur("refresh_interval", &out->refresh_interval);
  r.Bool("match_first_network", &out->match_first_network);
  r.Bool("follow_redirects", &out->follow_redirects);
  r.Bool("enable_http2", &out->enable_http2);
  RefuseUnsupported(
      r, {"oauth2", "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header"});
  Status s = ReadFilters(r, out);
  if (s.ok()) s = ReadAuth(r, out);
  if (s.ok()) s = ReadTls(r, "tls_config", &out->tls_config);
  if (!s.ok()) return s;
  const std::string& h = out->host;
  if (h.empty()) {
    r.Fail("host", "is required (e.g. unix:///var/run/docker.sock)");
  } else if (!h.starts_with("unix://") && !h.starts_with("tcp://") && !h.starts_with("http://") &&
             !h.starts_with("https://")) {
    r.Fail("host",
           fmt::format("{} is not a unix://, tcp://, http:// or https:// address", Quote(h)));
  } else if (h.starts_with("unix://") && h.size() <= 7) {
    r.Fail("host", "unix:// needs a socket path, e.g. unix:///var/run/docker.sock");
  }
  if (out->port < 0 || out->port > 65535) r.Fail("port", "must be between 0 and 65535");
  if (out->refresh_interval <= Duration(0)) r.Fail("refresh_interval", "must be positive");
  return r.Finish();
}

}  // namespace

Status ReadDockerSdConfigs(MapReader& parent, ScrapeConfig* out) {
  const std::string& file = parent.file();
  return ForEachItem(parent.Node("docker_sd_configs"), file, parent.Sub("docker_sd_configs"),
                     [&](const YAML::Node& item, const std::string& p) {
                       DockerSdConfig d;
                       Status s = ReadDocker(item, file, p, &d);
                       if (s.ok()) out->docker_sd_configs.push_back(std::move(d));
                       return s;
                     });
}

}  // namespace skidder::config::internal
