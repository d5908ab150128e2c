#include "kubernetes/kubeconfig.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace skidder::kubernetes {
namespace {

// Standard base64 (RFC 4648) as kubectl writes *-data values; whitespace is skipped.
std::optional<std::string> DecodeBase64(std::string_view in) {
  static constexpr std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
    return t;
  }();
  std::string out;
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (char ch : in) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      ++pad;
      continue;
    }
    const int8_t v = kTable[static_cast<uint8_t>(ch)];
    if (v < 0 || pad > 0) return std::nullopt;  // bad byte, or data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6 || pad > 2) return std::nullopt;  // a lone 6-bit group cannot end the data
  return out;
}

// A named entry of clusters/contexts/users: the map under `field` of the item called `name`.
YAML::Node FindNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list.IsSequence()) return YAML::Node();
  for (const YAML::Node& item : list) {
    if (item.IsMap() && item["name"] && item["name"].as<std::string>() == name) return item[field];
  }
  return YAML::Node();
}

std::string Str(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

class Loader {
 public:
  explicit Loader(const std::string& path) : path_(path) {
    const size_t slash = path.rfind('/');
    dir_ = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  }

  Status Fail(std::string_view what) const {
    return InvalidArgument(
        fmt::format("kubernetes_sd_configs: kubeconfig_file {}: {}", path_, what));
  }

  // Like kubectl: a relative path in the kubeconfig is relative to the kubeconfig's directory.
  std::string Resolve(std::string p) const {
    if (p.empty() || p.front() == '/') return p;
    return dir_ == "/" ? "/" + p : dir_ + "/" + p;
  }

  // `<key>-data` (base64, wins like in client-go) or `<key>` (a path) of map into pem or file.
  Status FileOrData(const YAML::Node& map, const char* key, std::string* pem, std::string* file) {
    const std::string data = Str(map, fmt::format("{}-data", key).c_str());
    if (!data.empty()) {
      auto decoded = DecodeBase64(data);
      if (!decoded || decoded->empty()) return Fail(fmt::format("{}-data is not base64", key));
      *pem = std::move(*decoded);
      return Status::Ok();
    }
    *file = Resolve(Str(map, key));
    return Status::Ok();
  }

  Status Cluster(const YAML::Node& cluster, Kubeconfig& out) {
    ClientConfig& c = out.client;
    c.server = Str(cluster, "server");
    if (!c.server.starts_with("https://") && !c.server.starts_with("http://")) {
      return Fail(
          fmt::format("cluster server \"{}\" must start with https:// or http://", c.server));
    }
    while (c.server.ends_with('/')) c.server.pop_back();
    for (const char* key : {"tls-server-name", "proxy-url"}) {
      if (!Str(cluster, key).empty()) return Fail(fmt::format("cluster {} is not supported", key));
    }
    if (Status s = FileOrData(cluster, "certificate-authority", &c.ca_pem, &c.tls.ca_file);
        !s.ok()) {
      return s;
    }
    const YAML::Node insecure = cluster["insecure-skip-tls-verify"];
    c.tls.insecure_skip_verify = insecure && insecure.as<bool>();
    return Status::Ok();
  }

  Status User(const YAML::Node& user, Kubeconfig& out) {
    ClientConfig& c = out.client;
    for (const char* key : {"exec", "auth-provider"}) {
      if (user[key]) {
        return Fail(fmt::format(
            "user \"{}\" plugins are not supported; use a token, tokenFile or client certificate",
            key));
      }
    }
    c.bearer_token = Str(user, "token");
    c.bearer_token_file = Resolve(Str(user, "tokenFile"));
    c.username = Str(user, "username");
    c.password = Str(user, "password");
    if (!c.username.empty() && (!c.bearer_token.empty() || !c.bearer_token_file.empty())) {
      return Fail("user sets both username/password and a token; set one");
    }
    if (Status s = FileOrData(user, "client-certificate", &c.cert_pem, &c.tls.cert_file); !s.ok()) {
      return s;
    }
    if (Status s = FileOrData(user, "client-key", &c.key_pem, &c.tls.key_file); !s.ok()) return s;
    const bool has_cert = !c.cert_pem.empty() || !c.tls.cert_file.empty();
    const bool has_key = !c.key_pem.empty() || !c.tls.key_file.empty();
    if (has_cert != has_key) return Fail("user needs both a client certificate and a client key");
    return Status::Ok();
  }

  Result<Kubeconfig> Load(const YAML::Node& root) {
    if (!root.IsMap()) return Err(Fail("not a kubeconfig (expected a YAML map)"));
    const YAML::Node contexts = root["contexts"];
    std::string context_name = Str(root, "current-context");
    if (context_name.empty()) {
      if (!contexts.IsSequence() || contexts.size() != 1) {
        return Err(Fail("no current-context set, and not exactly one context to default to"));
      }
      context_name = Str(contexts[0], "name");
    }
    const YAML::Node context = FindNamed(contexts, context_name, "context");
    if (!context.IsMap()) return Err(Fail(fmt::format("context \"{}\" not found", context_name)));
    Kubeconfig out;
    out.namespace_name = Str(context, "namespace");
    if (out.namespace_name.empty()) out.namespace_name = "default";

    const std::string cluster_name = Str(context, "cluster");
    const YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
    if (!cluster.IsMap()) return Err(Fail(fmt::format("cluster \"{}\" not found", cluster_name)));
    if (Status s = Cluster(cluster, out); !s.ok()) return Err(std::move(s));

    // A context without a user is anonymous access, as with kubectl.
    const std::string user_name = Str(context, "user");
    if (!user_name.empty()) {
      const YAML::Node user = FindNamed(root["users"], user_name, "user");
      if (!user.IsMap()) return Err(Fail(fmt::format("user \"{}\" not found", user_name)));
      if (Status s = User(user, out); !s.ok()) return Err(std::move(s));
    }
    return out;
  }

 private:
  std::string path_, dir_;
};

}  // namespace

Result<Kubeconfig> LoadKubeconfig(const std::string& path) {
  Loader loader(path);
  try {
    return loader.Load(YAML::LoadFile(path));
  } catch (const YAML::BadFile&) {
    return Err(loader.Fail("cannot read the file"));
  } catch (const YAML::Exception& e) {
    // e.what() quotes YAML structure and positions, not values, so no secret leaks from it.
    return Err(loader.Fail(e.what()));
  }
}

}  // namespace skidder::kubernetes
