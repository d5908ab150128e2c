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

namespace skidder::kubernetes {
namespace {

using PodMap = std::map<std::string, std::vector<Labels>>;

constexpr size_t kMaxEventLine = 16 << 20;  // a Pod object is at most ~1.5 MiB in etcd

std::string BasePath(const PodQuery& q) {
  return q.namespace_name.empty() ? "/api/v1/pods"
                                  : "/api/v1/namespaces/" + q.namespace_name + "/pods";
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

// Adds the targets of one pod JSON object; false when it is not a pod we can use.
bool AddPod(const rapidjson::Value& obj, PodMap& pods) {
  auto pod = PodFromJson(obj);
  if (!pod) return false;
  pods[pod->Key()] = PodTargets(*pod);
  return true;
}

enum class EventResult { kUnchanged, kChanged, kSkipped, kGone, kError };

// Applies one watch event line to pods, updating resource_version.
EventResult ApplyEvent(std::string_view line, PodMap& pods, std::string& resource_version) {
  rapidjson::Document doc;
  const bool parsed = ParseJsonBounded(doc, line).ok();
  const rapidjson::Value* obj = parsed ? JsonObject(doc, "object") : nullptr;
  if (obj == nullptr) return EventResult::kError;
  const std::string_view type = JsonString(doc, "type");
  if (type == "ERROR") {
    auto code = obj->FindMember("code");
    const bool gone =
        code != obj->MemberEnd() && code->value.IsInt() && code->value.GetInt() == 410;
    if (!gone) LOG_WARN("kubernetes watch error event", {{"message", JsonString(*obj, "message")}});
    return gone ? EventResult::kGone : EventResult::kError;
  }
  if (const rapidjson::Value* meta = JsonObject(*obj, "metadata")) {
    const std::string_view rv = JsonString(*meta, "resourceVersion");
    if (!rv.empty()) resource_version = rv;
  }
  if (type == "BOOKMARK") return EventResult::kUnchanged;
  auto pod = PodFromJson(*obj);
  if (!pod) return EventResult::kSkipped;  // one odd object must not stall the stream
  if (type == "DELETED")
    return pods.erase(pod->Key()) > 0 ? EventResult::kChanged : EventResult::kUnchanged;
  if (type != "ADDED" && type != "MODIFIED") return EventResult::kUnchanged;
  auto targets = PodTargets(*pod);
  auto [it, inserted] = pods.try_emplace(pod->Key());
  if (!inserted && it->second == targets) return EventResult::kUnchanged;
  it->second = std::move(targets);
  return EventResult::kChanged;
}

}  // namespace

bool PodDiscovery::List(Watcher& w) {
  PodMap fresh;
  std::string cont, rv;
  do {
    std::string path = BasePath(w.query) + fmt::format("?limit={}", opts_.list_page_size);
    AddSelectors(w.query, path);
    if (!cont.empty()) path += "&continue=" + KubeClient::Escape(cont);
    KubeResponse resp = w.client.Get(path, opts_.list_timeout);
    if (resp.status == 401 && !resp.interrupted) {  // rotated token: re-read and retry once
      CountError("unauthorized");
      w.client.InvalidateToken();
      resp = w.client.Get(path, opts_.list_timeout);
    }
    if (resp.interrupted) return false;
    if (resp.status != 200) {
      CountError(ReasonForStatus(resp.status));
      LOG_WARN("kubernetes pod list failed",
               {{"status", std::to_string(resp.status)}, {"error", resp.error}});
      return false;
    }
    rapidjson::Document doc;
    const bool parsed = ParseJsonBounded(doc, resp.body).ok();
    const rapidjson::Value* items = parsed ? JsonArray(doc, "items") : nullptr;
    const rapidjson::Value* meta = items ? JsonObject(doc, "metadata") : nullptr;
    if (meta == nullptr) {
      CountError("decode");
      LOG_WARN("kubernetes pod list is not a PodList",
               {{"bytes", std::to_string(resp.body.size())}});
      return false;
    }
    for (const rapidjson::Value& item : items->GetArray()) {
      if (!AddPod(item, fresh)) CountError("decode");
    }
    rv = JsonString(*meta, "resourceVersion");
    cont = JsonString(*meta, "continue");
  } while (!cont.empty() && !stop_.load());
  if (stop_.load()) return false;
  std::lock_guard lock(state_mu_);
  w.pods = std::move(fresh);
  w.resource_version = rv;
  w.synced = true;
  Publish();
  return true;
}

PodDiscovery::WatchEnd PodDiscovery::WatchOnce(Watcher& w, bool& got_data) {
  std::uniform_int_distribution<int64_t> jitter(0, opts_.watch_timeout.count());
  std::string path = BasePath(w.query) + "?watch=1&allowWatchBookmarks=true";
  path += "&resourceVersion=" + KubeClient::Escape(w.resource_version);
  path += fmt::format("&timeoutSeconds={}", opts_.watch_timeout.count() + jitter(w.rng));
  AddSelectors(w.query, path);

  std::optional<WatchEnd> end;  // set by an event that ends the watch
  auto on_data = [&](std::string_view chunk) {
    got_data = true;
    w.buffer.append(chunk);
    bool changed = false;
    size_t start = 0;
    std::lock_guard lock(state_mu_);
    for (size_t nl; !end && (nl = w.buffer.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      const std::string_view line(w.buffer.data() + start, nl - start);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      switch (ApplyEvent(line, w.pods, w.resource_version)) {
        case EventResult::kChanged:
          changed = true;
          break;
        case EventResult::kUnchanged:
          break;
        case EventResult::kSkipped:
          CountError("decode");
          break;
        case EventResult::kGone:
          end = WatchEnd::kRelist;
          break;
        case EventResult::kError:
          CountError("decode");
          end = WatchEnd::kError;
          break;
      }
    }
    w.buffer.erase(0, start);
    if (w.buffer.size() > kMaxEventLine) end = WatchEnd::kError;
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
  if (resp.status == 410) return WatchEnd::kRelist;
  if (resp.status != 200) {
    CountError(ReasonForStatus(resp.status));
    LOG_WARN("kubernetes pod watch failed",
             {{"status", std::to_string(resp.status)}, {"error", resp.error}});
    return WatchEnd::kError;
  }
  if (resp.idle_timeout) {
    CountRestart("idle");
    got_data = true;  // restart at once: quiet is not a failure
  } else if (!resp.error.empty()) {
    CountError("transport");
    CountRestart("closed");
  } else {
    CountRestart("timeout");
  }
  return WatchEnd::kRewatch;
}

}  // namespace skidder::kubernetes
