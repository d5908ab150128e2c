// PodDiscovery's list and watch requests: paging through the pod list, then following the
// newline-delimited JSON watch stream from the list's resourceVersion.
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <random>

#include "kubernetes/discovery.h"
#include "kubernetes/pod_json.h"
#include "kubernetes/pod_targets.h"
#include "kubernetes/watcher.h"
#include "util/json_parse.h"
#include "util/log.h"
#include "util/redact.h"

namespace skidder::kubernetes {
namespace {

using PodMap = std::map<std::string, std::vector<Labels>>;

constexpr size_t kMaxEventLine = 16 << 20;  // a Pod object is at most ~1.5 MiB in etcd

std::string BasePath(const PodQuery& q) {
  const RoleResource r = ResourceOf(q.role);
  if (q.namespace_name.empty()) return fmt::format("{}/{}", r.group_path, r.resource);
  return fmt::format("{}/namespaces/{}/{}", r.group_path, q.namespace_name, r.resource);
}

// What the agent still does while the list of `resource` is refused, said truly: a job with
// selectors or rules on pod labels collects nothing by path, and what is joined in
// (attach_metadata.node, an endpoints role's pods and services) holds up all the job's targets.
std::string WhileForbidden(Role role, std::string_view resource) {
  switch (role) {
    case Role::kEvent:
      return "no events are read";
    case Role::kPodMeta:
    case Role::kServiceMeta:
    case Role::kNodeMeta:
      return fmt::format(
          "the job's targets wait for its {} (drop attach_metadata.node, or grant the access)",
          resource);
    case Role::kPod:
      return "pods are known by their log paths only: labelled from the path where the job "
             "allows it, not collected where its selectors or rules need the pod's labels";
    default:
      return fmt::format("no {} targets are found", resource);
  }
}

// What to do about a refused request, for the log; "" when the status says nothing specific.
std::string FixFor(int status, const PodQuery& q) {
  const std::string_view resource = ResourceOf(q.role).resource;
  if (status == 403) {
    return fmt::format(
        "the service account may not read {0}: its ClusterRole (the chart's rbac.create) needs "
        "get, list and watch on {0}; until then {1}",
        resource, WhileForbidden(q.role, resource));
  }
  if (status == 401) {
    return "the API server refused the credentials: check the mounted service-account token "
           "(automountServiceAccountToken) or the kubeconfig / bearer_token_file";
  }
  return "";
}

void AddSelectors(const PodQuery& q, std::string& path) {
  if (!q.label_selector.empty()) path += "&labelSelector=" + KubeClient::Escape(q.label_selector);
  if (!q.field_selector.empty()) path += "&fieldSelector=" + KubeClient::Escape(q.field_selector);
}

const char* ReasonForStatus(int status) {
  switch (status) {
    case 0:
      return "transport";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 410:
      return "gone";
    default:
      return "status";
  }
}

// kSkippedForgotten: skipped, and the object's earlier version forgotten (a change).
enum class EventResult {
  kUnchanged,
  kChanged,
  kSkipped,
  kSkippedForgotten,
  kOverCap,
  kGone,
  kError
};

// What a server whose etcd was restored from a backup answers a watch from a version it does
// not have yet (504, reason Timeout): watching from it again never heals, a fresh list does
// (client-go's reflector relists on it too).
bool TooLargeResourceVersion(int code, std::string_view message) {
  return code == 504 && message.find("Too large resource version") != std::string_view::npos;
}

// Applies one watch event line to pods, updating resource_version; says why in error when the
// result is kSkipped, kOverCap (a new pod past max_pods) or kError.
EventResult ApplyEvent(Role role, std::string_view line, PodMap& pods,
                       std::string& resource_version, const DiscoveryOptions& opts,
                       std::string& error) {
  rapidjson::Document doc;
  const bool parsed = ParseJsonBounded(doc, line).ok();
  const rapidjson::Value* obj = parsed ? JsonObject(doc, "object") : nullptr;
  if (obj == nullptr) {
    error = parsed ? "no object" : "not JSON";
    return EventResult::kError;
  }
  const std::string_view type = JsonString(doc, "type");
  if (type == "ERROR") {
    auto code = obj->FindMember("code");
    const int status = code != obj->MemberEnd() && code->value.IsInt() ? code->value.GetInt() : 0;
    const bool gone = status == 410 || TooLargeResourceVersion(status, JsonString(*obj, "message"));
    if (!gone) error = fmt::format("ERROR event: {}", JsonString(*obj, "message"));
    return gone ? EventResult::kGone : EventResult::kError;
  }
  if (const rapidjson::Value* meta = JsonObject(*obj, "metadata")) {
    const std::string_view rv = JsonString(*meta, "resourceVersion");
    if (!rv.empty()) resource_version = rv;
  }
  if (type == "BOOKMARK") return EventResult::kUnchanged;
  auto o = ObjectTargetsFromJson(role, *obj, opts.keep_meta);
  if (!o) {  // one odd object must not stall the stream
    error = o.error().message();
    // A pod that no longer reads (annotated past the limits after it started) or whose deletion
    // does not: its old targets go, as a list would leave it out.
    if (role == Role::kPod || role == Role::kPodMeta) {
      if (const rapidjson::Value* meta = JsonObject(*obj, "metadata")) {
        const std::string key =
            fmt::format("{}/{}", JsonString(*meta, "namespace"), JsonString(*meta, "name"));
        if (pods.erase(key) > 0) return EventResult::kSkippedForgotten;
      }
    }
    return EventResult::kSkipped;
  }
  if (type == "DELETED")
    return pods.erase(o->key) > 0 ? EventResult::kChanged : EventResult::kUnchanged;
  if (type != "ADDED" && type != "MODIFIED") return EventResult::kUnchanged;
  auto targets = std::move(o->targets);
  auto [it, inserted] = pods.try_emplace(o->key);
  if (inserted && pods.size() > opts.max_pods) {
    pods.erase(it);
    if (opts.on_object) opts.on_object(*obj);  // handed on, not remembered: a relist repeats it
    error =
        fmt::format("object {} not added: already {} objects (max_pods)", o->key, opts.max_pods);
    return EventResult::kOverCap;
  }
  if (!inserted && it->second == targets) return EventResult::kUnchanged;
  it->second = std::move(targets);
  if (opts.on_object) opts.on_object(*obj);
  return EventResult::kChanged;
}

}  // namespace

bool PodDiscovery::GetPage(Watcher& w, const std::string& cont, int& limit, KubeResponse& resp) {
  while (true) {
    using ListFrom = Watcher::ListFrom;
    const bool seen = cont.empty() && w.list_from == ListFrom::kSeen;
    std::string path = BasePath(w.query);
    path += seen ? "?resourceVersion=" + KubeClient::Escape(w.resource_version)
                 : fmt::format("?limit={}", limit);
    AddSelectors(w.query, path);
    if (!cont.empty()) {
      path += "&continue=" + KubeClient::Escape(cont);  // (a continued list names no version)
    } else if (w.list_from == ListFrom::kCache) {
      // From the API server's watch cache, as client-go's reflector first lists: a list without
      // a resourceVersion is read from etcd, where the field selector on spec.nodeName is applied
      // after reading every pod of the cluster: once per node at every rollout of the DaemonSet.
      path += "&resourceVersion=0";
    }
    resp = w.client.Get(path, opts_.list_timeout);
    if (resp.status == 401 && !resp.interrupted) {  // rotated token: re-read and retry once
      CountError("unauthorized");
      w.client.InvalidateToken();
      resp = w.client.Get(path, opts_.list_timeout);
    }
    if (resp.interrupted) return false;
    if (seen &&
        (resp.status == 410 || TooLargeResourceVersion(resp.status, ApiMessage(resp.body)))) {
      w.list_from = Watcher::ListFrom::kEtcd;  // the server does not have what was seen: etcd
      continue;
    }
    if (resp.status != 200) {
      CountError(ReasonForStatus(resp.status));
      w.retry_after = resp.retry_after;
      NoteFailure(w, fmt::format("list {}", resp.status), "kubernetes pod list failed",
                  {{"status", std::to_string(resp.status)},
                   {"error", resp.error},
                   {"message", ApiMessage(resp.body)},
                   {"fix", FixFor(resp.status, w.query)}});
      return false;
    }
    if (!resp.truncated) return true;
    CountError("too_large");
    const std::string cap = std::to_string(opts_.max_list_body);
    if (cont.empty() && w.list_from != Watcher::ListFrom::kEtcd) {
      w.list_from = Watcher::ListFrom::kEtcd;  // the cache answers whole lists: etcd's pages
      continue;
    }
    if (limit <= 1) {
      NoteFailure(w, "list too large", "kubernetes pod list abandoned: one pod is over the cap",
                  {{"max_list_body", cap}});
      return false;
    }
    if (!w.page_cut_logged) {  // again only after a healthy spell: a relist may cut again
      w.page_cut_logged = true;
      LOG_WARN("kubernetes pod list page cut at max_list_body; asking for fewer pods per page",
               {{"max_list_body", cap}, {"limit", std::to_string(limit / 2)}});
    }
    limit /= 2;
  }
}

bool PodDiscovery::List(Watcher& w) {
  if (opts_.on_list) {
    std::lock_guard lock(state_mu_);
    opts_.on_list(w.query.namespace_name, false);
  }
  PodMap fresh;
  std::string cont, rv;
  int limit = opts_.list_page_size;
  for (int pages = 1;; ++pages) {
    KubeResponse resp;
    if (!GetPage(w, cont, limit, resp)) return false;
    rapidjson::Document doc;
    const bool parsed = ParseJsonBounded(doc, resp.body).ok();
    const rapidjson::Value* items = parsed ? JsonArray(doc, "items") : nullptr;
    const rapidjson::Value* meta = items ? JsonObject(doc, "metadata") : nullptr;
    if (meta == nullptr) {
      CountError("decode");
      NoteFailure(w, "list decode", "kubernetes pod list is not a PodList",
                  {{"bytes", std::to_string(resp.body.size())}});
      return false;
    }
    for (const rapidjson::Value& item : items->GetArray()) {
      if (stop_.load()) return false;  // shutdown must not wait for a big list to be digested
      auto o = ObjectTargetsFromJson(w.query.role, item, opts_.keep_meta);
      if (!o) {
        CountError("decode");
        continue;
      }
      if (opts_.on_object) {
        // A stream hands on each object not seen as it is now, at once: remembered here too, so
        // a list that fails half way and is tried again repeats nothing.
        std::lock_guard lock(state_mu_);
        auto [it, inserted] = w.pods.try_emplace(o->key);
        if (inserted || it->second != o->targets) {
          it->second = o->targets;
          opts_.on_object(item);
        }
      }
      fresh[o->key] = std::move(o->targets);
    }
    rv = JsonString(*meta, "resourceVersion");
    cont = JsonString(*meta, "continue");
    if (cont.empty() || stop_.load()) break;
    // A server whose pagination never ends must not grow the agent until it dies.
    if (pages >= opts_.max_list_pages || fresh.size() > opts_.max_pods) {
      if (opts_.on_object && !fresh.empty()) {
        // Objects handed on stay remembered (the retried list repeats none of them), but of
        // those up to where this list got (pages come in key order), only the ones it still
        // has: kept across failed lists, the names of every event that ever was piled up.
        std::lock_guard lock(state_mu_);
        const std::string& last = fresh.rbegin()->first;
        for (auto it = w.pods.begin(); it != w.pods.end() && it->first <= last;) {
          it = fresh.contains(it->first) ? std::next(it) : w.pods.erase(it);
        }
      }
      CountError("too_large");
      NoteFailure(w, "list too long", "kubernetes pod list abandoned: too many pages or pods",
                  {{"pages", std::to_string(pages)},
                   {"pods", std::to_string(fresh.size())},
                   {"max_list_pages", std::to_string(opts_.max_list_pages)},
                   {"max_pods", std::to_string(opts_.max_pods)}});
      return false;
    }
  }
  if (stop_.load()) return false;
  std::lock_guard lock(state_mu_);
  w.pods = std::move(fresh);
  w.resource_version = rv;
  w.list_from = Watcher::ListFrom::kCache;
  WarnIfNoPodOnTheNode(w);
  w.synced = true;
  if (opts_.on_list) opts_.on_list(w.query.namespace_name, true);
  Publish();
  return true;
}

// An agent running in the cluster lists at least its own pod on its node. None at all, with only
// the node scoping as a filter, says the node name is wrong: HOSTNAME without the chart's
// NODE_NAME is the pod's name (or, with hostNetwork on EKS, a short host name), and nothing would
// be collected, silently (Promtail behaves so too). Said once per watcher, at its first list.
void PodDiscovery::WarnIfNoPodOnTheNode(Watcher& w) {
  const PodQuery& q = w.query;
  // Only in a pod (KUBERNETES_SERVICE_HOST): on a machine outside the cluster, or a node with no
  // pod yet, an empty list is no sign of a wrong name.
  if (opts_.env.service_host.empty() || w.synced || !w.pods.empty() || q.role != Role::kPod ||
      !q.namespace_name.empty() || !q.label_selector.empty() || opts_.env.node_name.empty() ||
      q.field_selector != "spec.nodeName=" + opts_.env.node_name) {
    return;
  }
  LOG_WARN(
      "kubernetes pod list: no pod on this node; is the node name right? An agent in the cluster "
      "sees at least its own pod",
      {{"node", opts_.env.node_name},
       {"from", opts_.env.node_from_hostname ? "HOSTNAME" : "NODE_NAME"},
       {"fix",
        "set NODE_NAME from the downward API (env: NODE_NAME valueFrom fieldRef spec.nodeName), "
        "as the chart does"}});
}

PodDiscovery::WatchEnd PodDiscovery::WatchOnce(Watcher& w) {
  std::uniform_int_distribution<int64_t> jitter(0, opts_.watch_timeout.count());
  std::string path = BasePath(w.query) + "?watch=1&allowWatchBookmarks=true";
  path += "&resourceVersion=" + KubeClient::Escape(w.resource_version);
  path += fmt::format("&timeoutSeconds={}", opts_.watch_timeout.count() + jitter(w.rng));
  AddSelectors(w.query, path);

  std::optional<WatchEnd> end;  // set by an event that ends the watch
  std::string error;
  auto on_data = [&](std::string_view chunk) {
    w.buffer.append(chunk);
    bool changed = false;
    size_t start = 0;
    std::lock_guard lock(state_mu_);
    for (size_t nl; !end && !stop_.load() && (nl = w.buffer.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      const std::string_view line(w.buffer.data() + start, nl - start);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      switch (ApplyEvent(w.query.role, line, w.pods, w.resource_version, opts_, error)) {
        case EventResult::kChanged:
          changed = true;
          break;
        case EventResult::kUnchanged:
          break;
        case EventResult::kSkippedForgotten:
          changed = true;
          [[fallthrough]];
        case EventResult::kSkipped:
          NoteDecodeError(w, error);
          break;
        case EventResult::kOverCap:
          NoteDecodeError(w, error, "too_large");
          break;
        case EventResult::kGone:
          end = WatchEnd::kRelist;
          break;
        case EventResult::kError:
          NoteDecodeError(w, error);
          end = WatchEnd::kError;
          break;
      }
    }
    w.buffer.erase(0, start);
    if (w.buffer.size() > kMaxEventLine) {
      NoteDecodeError(w, fmt::format("event line longer than {} bytes", kMaxEventLine));
      end = WatchEnd::kError;
    }
    if (changed) Publish();
    return !end.has_value();
  };
  w.buffer.clear();
  KubeResponse resp = w.client.Watch(path, on_data, opts_.watch_idle_timeout);
  if (resp.status == 401 && !resp.interrupted) {
    CountError("unauthorized");
    w.client.InvalidateToken();
    resp = w.client.Watch(path, on_data, opts_.watch_idle_timeout);
  }
  if (resp.interrupted || stop_.load()) return WatchEnd::kStopped;
  if (end) return *end;
  if (resp.status == 410 || TooLargeResourceVersion(resp.status, ApiMessage(resp.body))) {
    return WatchEnd::kRelist;
  }
  if (resp.status != 200) {
    CountError(ReasonForStatus(resp.status));
    w.retry_after = resp.retry_after;
    NoteFailure(w, fmt::format("watch {}", resp.status), "kubernetes pod watch failed",
                {{"status", std::to_string(resp.status)},
                 {"error", resp.error},
                 {"message", ApiMessage(resp.body)},
                 {"fix", FixFor(resp.status, w.query)}});
    return WatchEnd::kError;
  }
  if (resp.idle_timeout) {
    CountRestart("idle");
  } else if (!resp.error.empty()) {
    CountError("transport");
    CountRestart("closed");
  } else {
    CountRestart("timeout");
  }
  return WatchEnd::kRewatch;
}

}  // namespace skidder::kubernetes
