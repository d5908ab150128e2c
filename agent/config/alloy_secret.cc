// remote.kubernetes.secret: a Secret's data for other components' attributes, as Grafana's
// k8s-monitoring chart writes loki.write credentials (`password =
// remote.kubernetes.secret.loki.data["password"]`).
//
// Alloy polls the Secret every poll_frequency and re-evaluates what reads it. skidder's
// configuration is fixed between loads, so the Secret is read when the config is loaded and on
// every reload (SIGHUP, POST /reload); the running agent polls it every poll_frequency and
// reloads when its data changed (app/secret_poller.h), so a rotated credential takes effect
// within that. The reading itself (retries, what a reload does while the API server is down) is
// the hook's (app/agent.cc, kubernetes/secret.h); what it cannot read fails the load with the
// reason.
//
// local.file goes the same way: its file is read at each load through the same hook (a SecretRef
// naming the file), polled every poll_frequency by the running agent, and a change reloads the
// config. A projected service-account token or a password mounted from a Secret rotates while
// the agent runs; read once, it gave 401s from then on.
#include <fmt/format.h>

#include <algorithm>

#include "config/alloy_internal.h"
#include "config/loader.h"
#include "config/sections.h"
#include "lang/alloy/eval.h"
#include "util/kube_names.h"

namespace skidder::config::alloy_internal {
namespace {

constexpr Duration kDefaultPollTimeout = std::chrono::seconds(15);  // Alloy's
// A load waits this long for a Secret at most: the main thread loads on SIGHUP, and must get
// back to saving positions and answering SIGTERM.
constexpr Duration kMaxPollTimeout = std::chrono::minutes(1);
// Each poll is a GET to the API server from every agent of the DaemonSet: not more often.
constexpr Duration kMinPollFrequency = std::chrono::seconds(1);
// And at least daily (a time point a poll_frequency ahead must not overflow).
constexpr Duration kMaxPollFrequency = std::chrono::hours(24);

}  // namespace

Result<Value> Loader::SecretData(const Block& b, Pos pos) {
  const std::string id = Id(b);
  if (auto it = secrets_.find(id); it != secrets_.end()) return it->second;
  // Its own attributes may read a Secret (its name, a client token): not itself.
  if (!evaluating_.insert(id).second) {
    return Err(ErrorAt(pos, fmt::format("reference cycle through {}", id)));
  }
  Result<SecretRef> ref = ReadSecretRef(b);
  evaluating_.erase(id);
  if (!ref) return Err(ref.error());
  if (hooks_.offline) {
    cfg_->warnings.push_back(
        fmt::format("{}: {} is not read by -check-syntax: what reads its data "
                    "was checked with every key absent (null)",
                    Where(b.pos), id));
    Value none = Value::MakeObject({});
    none.secret = true;  // its keys read as secret nulls: checked where they go, as when read
    return secrets_.emplace(id, std::move(none)).first->second;
  }
  if (!hooks_.read_secret) {
    return Err(
        ErrorAt(b.pos, fmt::format("{}: this command does not read Kubernetes Secrets", id)));
  }
  Result<std::map<std::string, std::string>> data = hooks_.read_secret(*ref);
  if (!data) return Err(ErrorAt(b.pos, fmt::format("{}: {}", id, data.error().message())));
  lang::alloy::Object fields;
  for (const auto& [key, base64] : *data) {
    Result<Value> decoded =
        lang::alloy::CallFunction("encoding.from_base64", {Value::String(base64)});
    if (!decoded) {
      return Err(ErrorAt(b.pos, fmt::format("{}: the value of {} is not base64", id, key)));
    }
    decoded->secret = true;
    fields.emplace_back(key, std::move(*decoded));
  }
  return secrets_.emplace(id, Value::MakeObject(std::move(fields))).first->second;
}

// poll_timeout or poll_frequency: over 0; the timeout at most kMaxPollTimeout, the frequency
// between kMinPollFrequency and kMaxPollFrequency.
Status Loader::PollDuration(const Attribute& a, Duration* out) {
  Duration d;
  if (Status s = DurationAttr(a, &d); !s.ok()) return s;
  if (d <= Duration::zero())
    return ErrorAt(a.pos, fmt::format("{}: must be greater than 0", a.name));
  *out = a.name == "poll_timeout" ? std::min(d, kMaxPollTimeout)
                                  : std::clamp(d, kMinPollFrequency, kMaxPollFrequency);
  return Status::Ok();
}

Result<Value> Loader::LocalFileContent(const Block& b, Pos pos) {
  const std::string id = Id(b);
  if (auto it = local_files_.find(id); it != local_files_.end()) return it->second;
  if (Status s = CheckBody(b, {"filename", "is_secret", "detector", "poll_frequency"}, {});
      !s.ok()) {
    return Err(std::move(s));
  }
  const Attribute* name = b.Attr("filename");
  if (name == nullptr) return Err(ErrorAt(b.pos, "local.file: filename is required"));
  if (!evaluating_.insert(id).second) {
    return Err(ErrorAt(pos, fmt::format("reference cycle through {}", id)));
  }
  Result<Value> path = Eval(*name);
  evaluating_.erase(id);
  if (!path) return path;
  if (path->kind != Value::Kind::kString) {
    return Err(ErrorAt(name->pos, "local.file: filename must be a string"));
  }
  SecretRef ref;
  ref.file = path->str;
  if (const Attribute* a = b.Attr("poll_frequency")) {
    if (Status s = PollDuration(*a, &ref.poll_frequency); !s.ok()) return Err(std::move(s));
  }
  if (const Attribute* a = b.Attr("detector")) {  // both poll here (fsnotify polls too in Alloy)
    Result<Value> v = Eval(*a);
    if (!v) return v;
    if (v->kind != Value::Kind::kString || (v->str != "fsnotify" && v->str != "poll")) {
      return Err(ErrorAt(a->pos, "detector: expected \"fsnotify\" or \"poll\""));
    }
  }
  Result<std::string> text = Err(Internal("unread"));
  if (hooks_.read_secret && !hooks_.offline) {
    Result<std::map<std::string, std::string>> data = hooks_.read_secret(ref);
    text = data ? Result<std::string>((*data)["content"]) : Err(data.error());
  } else {
    text = ReadRegularFile(ref.file);
  }
  if (!text) {
    return Err(
        ErrorAt(name->pos, fmt::format("local.file {}: {}", b.label, text.error().message())));
  }
  Value content = Value::String(std::move(*text));
  if (const Attribute* a = b.Attr("is_secret")) {  // then a secret, as Alloy's
    Result<Value> secret = Eval(*a);
    if (!secret) return secret;
    if (secret->kind != Value::Kind::kBool)
      return Err(ErrorAt(a->pos, "is_secret: expected a bool"));
    content.secret = secret->boolean;
  }
  return local_files_.emplace(id, std::move(content)).first->second;
}

Result<SecretRef> Loader::ReadSecretRef(const Block& b) {
  if (Status s = CheckBody(b, {"name", "namespace", "poll_frequency", "poll_timeout"}, {"client"});
      !s.ok()) {
    return Err(std::move(s));
  }
  SecretRef ref;
  ref.timeout = kDefaultPollTimeout;
  for (const char* key : {"name", "namespace"}) {
    const Attribute* a = b.Attr(key);
    if (a == nullptr) {
      return Err(ErrorAt(b.pos, fmt::format("remote.kubernetes.secret: {} is required", key)));
    }
    Result<Value> v = Eval(*a);
    if (!v) return Err(v.error());
    const bool name = a->name == "name";
    if (v->kind != Value::Kind::kString || !(name ? IsDnsSubdomain(v->str) : IsDnsLabel(v->str))) {
      return Err(ErrorAt(a->pos, fmt::format("{}: expected a Kubernetes {} name ({})", key,
                                             name ? "Secret" : "namespace",
                                             name ? "lower-case letters, digits, '-' and '.'"
                                                  : "lower-case letters, digits and '-'")));
    }
    (name ? ref.name : ref.namespace_name) = v->str;
  }
  for (const char* key : {"poll_timeout", "poll_frequency"}) {
    if (const Attribute* a = b.Attr(key)) {
      Duration& d = a->name == "poll_timeout" ? ref.timeout : ref.poll_frequency;
      if (Status s = PollDuration(*a, &d); !s.ok()) return Err(std::move(s));
    }
  }
  if (b.blocks.size() > 1) return Err(ErrorAt(b.blocks[1].pos, "the client block is given twice"));
  Result<KubernetesSdConfig> client = b.blocks.empty() ? KubernetesSdConfig{} : ReadClient(b);
  if (!client) return Err(client.error());
  ref.client = std::move(*client);
  return ref;
}

// A `client` block (remote.kubernetes.secret, loki.source.kubernetes_events): the API server
// settings discovery.kubernetes takes, as kubernetes_sd_configs keys, read by the same code.
Result<YAML::Node> Loader::ClientBlockYaml(const Block& nb) {
  if (Status s = CheckBody(nb,
                           {"api_server", "kubeconfig_file", "bearer_token", "bearer_token_file",
                            "proxy_url", "no_proxy", "proxy_from_environment",
                            "proxy_connect_header", "follow_redirects", "enable_http2"},
                           {"basic_auth", "authorization", "oauth2", "tls_config"});
      !s.ok()) {
    return Err(std::move(s));
  }
  return KubernetesSd(*this, nb);
}

Result<KubernetesSdConfig> Loader::ReadClient(const Block& b) {
  const Block& nb = b.blocks[0];
  Result<YAML::Node> sd = ClientBlockYaml(nb);
  if (!sd) return Err(sd.error());
  (*sd)["role"] = "pod";
  YAML::Node job;
  job["job_name"] = Id(b);
  job["kubernetes_sd_configs"].push_back(*sd);
  ScrapeConfig read;
  std::vector<std::string> about_targets;  // a scrape job's warnings; this one has no targets
  if (Status s =
          internal::ReadScrapeConfig(job, Where(nb.pos), Id(b) + ".client", &read, &about_targets);
      !s.ok()) {
    return Err(std::move(s));
  }
  return read.kubernetes_sd_configs.at(0);
}

}  // namespace skidder::config::alloy_internal
