// FakeDockerApi's answers as dockerd writes them: the JSON of /containers/json and /networks,
// the list filters, and the log stream's timestamps and frames.
#include <rapidjson/document.h>

#include <cstdio>
#include <ctime>

#include "support/fake_docker_api.h"

namespace skidder::testing {
namespace {

std::string Esc(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string JsonMap(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    out += Esc(k) + ":" + Esc(v);
  }
  return out + "}";
}

}  // namespace

std::string FakeDockerApi::Rfc3339Nano(int64_t ts_ns) {
  time_t sec = static_cast<time_t>(ts_ns / 1'000'000'000);
  int64_t nsec = ts_ns % 1'000'000'000;
  std::tm tm{};
  gmtime_r(&sec, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nsec != 0) {
    char frac[16];
    snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nsec));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string FakeDockerApi::Frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

bool FakeDockerApi::Matches(const State& s, const std::string& filters_json) {
  if (filters_json.empty()) return true;
  rapidjson::Document doc;
  doc.Parse(filters_json.c_str());
  if (!doc.IsObject()) return false;
  for (const auto& f : doc.GetObject()) {
    const std::string name = f.name.GetString();
    if (!f.value.IsArray()) return false;
    bool any = false, all = true;
    for (const auto& v : f.value.GetArray()) {
      std::string val = v.GetString();
      bool m = false;
      if (name == "label") {
        size_t eq = val.find('=');
        auto l = s.c.labels.find(val.substr(0, eq));
        m = l != s.c.labels.end() && (eq == std::string::npos || l->second == val.substr(eq + 1));
      } else if (name == "name") {
        m = s.c.name.find(val) != std::string::npos;
      } else if (name == "id") {
        m = s.c.id.starts_with(val);
      } else if (name == "status") {
        m = val == (s.running ? "running" : "exited");
      }
      any = any || m;
      all = all && m;
    }
    if (name == "label" ? !all : !any) return false;  // Docker: labels AND, others OR
  }
  return true;
}

std::string FakeDockerApi::ListJson(const std::string& filters, bool all) {
  std::string out = "[";
  for (const std::string& id : order_) {
    const State& s = containers_.at(id);
    if ((!s.running && !all) || !Matches(s, filters)) continue;
    const FakeContainer& c = s.c;
    std::string net_id;
    for (const FakeNetwork& n : networks_) {
      if (n.name == c.network) net_id = n.id;
    }
    std::string nets = "{";
    if (!c.network.empty()) {
      nets += Esc(c.network);
      nets += ":{\"NetworkID\":" + Esc(net_id) + ",\"IPAddress\":" + Esc(c.ip) + "}";
    }
    nets += "}";
    std::string ports = "[]";
    if (c.private_port != 0) {
      ports = "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":" + std::to_string(c.private_port);
      if (c.public_port != 0) ports += ",\"PublicPort\":" + std::to_string(c.public_port);
      ports += ",\"Type\":\"tcp\"}]";
    }
    if (out.size() > 1) out += ",";
    out += std::string("{\"Id\":") + Esc(c.id) + ",\"Names\":[" + Esc(c.name) +
           "],\"Labels\":" + JsonMap(c.labels) +
           ",\"HostConfig\":{\"NetworkMode\":" + Esc(c.network_mode) +
           "},\"NetworkSettings\":{\"Networks\":" + nets + "},\"Ports\":" + ports + "}";
  }
  return out + "]";
}

std::string FakeDockerApi::NetworksJson() {
  std::string out = "[";
  for (const FakeNetwork& n : networks_) {
    if (out.size() > 1) out += ",";
    out += std::string("{\"Id\":") + Esc(n.id) + ",\"Name\":" + Esc(n.name) +
           ",\"Scope\":" + Esc(n.scope) + ",\"Internal\":" + (n.internal ? "true" : "false") +
           ",\"Ingress\":" + (n.ingress ? "true" : "false") + ",\"Labels\":" + JsonMap(n.labels) +
           "}";
  }
  return out + "]";
}

std::string FakeDockerApi::InspectJson(const FakeContainer& c) {
  std::string body = "{\"Id\":" + Esc(c.id) + ",\"Config\":{\"Tty\":";
  body += c.tty ? "true" : "false";
  return body + "}}";
}

}  // namespace skidder::testing
