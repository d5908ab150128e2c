#include "support/fake_kube_api.h"

#include <httplib.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_certs.h"
#include "support/test_util.h"

namespace skidder::testing {
namespace {

using namespace std::chrono_literals;

// The drop and expire generations current when this worker thread's request was received.
// httplib runs the pre-routing handler and the route's handler of one request on the same
// thread, one after the other; a watch takes its generations from here rather than when its
// handler gets round to registering, so DropWatches()/ExpireWatches() reach every watch request
// received before them, however late (on a loaded machine) its handler runs.
struct ReceivedAt {
  uint64_t drop_gen = 0, expire_gen = 0;
};
thread_local ReceivedAt received_at;

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

struct Stamped {
  std::string key, ns, node, json;
};

// The pod JSON with metadata.resourceVersion set to rv, and where it belongs.
Stamped WithRv(const std::string& pod_json, uint64_t rv) {
  rapidjson::Document doc;
  doc.Parse(pod_json.c_str());
  if (doc.HasParseError() || !doc.IsObject()) throw std::runtime_error("bad pod JSON in test");
  auto& meta = doc["metadata"];
  const std::string ns = meta.HasMember("namespace") ? meta["namespace"].GetString() : "";
  const std::string key = ns + "/" + meta["name"].GetString();
  std::string node;
  if (doc.HasMember("spec") && doc["spec"].HasMember("nodeName")) {
    node = doc["spec"]["nodeName"].GetString();
  }
  rapidjson::Value v(std::to_string(rv).c_str(), doc.GetAllocator());
  if (meta.HasMember("resourceVersion")) {
    meta["resourceVersion"] = v;
  } else {
    meta.AddMember("resourceVersion", v, doc.GetAllocator());
  }
  return {key, ns, node, Serialize(doc)};
}

std::string StatusJson(int code, const std::string& reason, const std::string& message = "") {
  std::string json = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)";
  if (!message.empty()) json += R"("message":")" + message + R"(",)";
  return json + R"("reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

// What a request path names: a collection (".../pods") or one object (".../secrets/x"), in a
// namespace or the cluster.
struct ApiPath {
  std::string group, ns, resource, name;
};

ApiPath ParseApiPath(const std::string& path) {
  std::vector<std::string> parts;
  for (size_t at = 0; at < path.size();) {
    const size_t next = std::min(path.find('/', at + 1), path.size());
    if (next > at + 1) parts.push_back(path.substr(at + 1, next - at - 1));
    at = next;
  }
  ApiPath out;
  size_t i = 2;  // api/v1
  if (!parts.empty() && parts[0] == "apis") {
    if (parts.size() > 1) out.group = parts[1];
    i = 3;  // apis/<group>/<version>
  }
  if (i + 2 < parts.size() && parts[i] == "namespaces") {
    out.ns = parts[i + 1];
    i += 2;
  }
  if (i < parts.size()) out.resource = parts[i];
  if (i + 1 < parts.size()) out.name = parts[i + 1];
  return out;
}

// What an API server says to the agent's service account without the right to do this.
std::string ForbiddenMessage(const ApiPath& p, const std::string& verb) {
  const std::string subject =
      p.name.empty() ? p.resource : p.resource + R"( \")" + p.name + R"(\")";
  const std::string scope =
      p.ns.empty() ? "at the cluster scope" : R"(in the namespace \")" + p.ns + R"(\")";
  return subject + R"( is forbidden: User \"system:serviceaccount:logs:skidder\" cannot )" + verb +
         R"( resource \")" + p.resource + R"(\" in API group \")" + p.group + R"(\" )" + scope;
}

// The body of a scripted failure: a 403 says what an API server without the agent's
// ClusterRole (or Role) says.
std::string FailureJson(int status, const ApiPath& what, const std::string& verb) {
  return status == 403 ? StatusJson(status, "Forbidden", ForbiddenMessage(what, verb))
                       : StatusJson(status, "Scripted");
}

std::string SecretPath(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/secrets/" + name;
}

bool IsSecretPath(const std::string& path) { return ParseApiPath(path).resource == "secrets"; }

// The node a fieldSelector "a=b,spec.nodeName=<node>" asks for, or "" for any.
std::string NodeFromSelector(const std::string& selector) {
  constexpr std::string_view kKey = "spec.nodeName=";
  size_t pos = selector.find(kKey);
  if (pos == std::string::npos) return "";
  size_t end = selector.find(',', pos);
  return selector.substr(pos + kKey.size(),
                         end == std::string::npos ? end : end - pos - kKey.size());
}

bool Matches(const std::string& want_ns, const std::string& want_node, const std::string& ns,
             const std::string& node) {
  return (want_ns.empty() || ns.empty() || ns == want_ns) &&
         (want_node.empty() || node.empty() || node == want_node);
}

}  // namespace

std::string PodJson(const std::string& ns, const std::string& name, const std::string& node,
                    const std::vector<std::string>& containers,
                    const std::map<std::string, std::string>& labels,
                    const std::map<std::string, std::string>& annotations) {
  std::string l, a, c, s;
  for (const auto& [k, v] : labels) l += (l.empty() ? "" : ",") + ("\"" + k + "\":\"" + v + "\"");
  for (const auto& [k, v] : annotations)
    a += (a.empty() ? "" : ",") + ("\"" + k + "\":\"" + v + "\"");
  for (const auto& n : containers) {
    c += (c.empty() ? "" : ",") + ("{\"name\":\"" + n + "\",\"image\":\"img/" + n + "\"}");
    s += (s.empty() ? "" : ",") +
         ("{\"name\":\"" + n + "\",\"containerID\":\"containerd://" + n + "\"}");
  }
  return R"({"metadata":{"namespace":")" + ns + R"(","name":")" + name + R"(","uid":"uid-)" + name +
         R"(","labels":{)" + l + R"(},"annotations":{)" + a + R"(}},"spec":{"nodeName":")" + node +
         R"(","containers":[)" + c + R"(]},"status":{"phase":"Running","podIP":"10.0.0.1",)" +
         R"("containerStatuses":[)" + s + "]}}";
}

std::string EventJson(const std::string& ns, const std::string& name, const EventFields& f) {
  auto quoted = [](const std::string& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    return std::string(buf.GetString(), buf.GetSize());
  };
  std::string json = R"({"kind":"Event","apiVersion":"v1","metadata":{"namespace":")" + ns +
                     R"(","name":")" + name + R"("},"involvedObject":{"kind":")" + f.kind +
                     R"(","namespace":")" + f.object_namespace + R"(","name":")" + f.object +
                     R"(","apiVersion":"v1"},"reason":)" + quoted(f.reason) + R"(,"message":)" +
                     quoted(f.message) + R"(,"type":")" + f.type +
                     R"(","source":{"component":"kubelet","host":"node-1"})";
  if (!f.last_timestamp.empty()) json += R"(,"lastTimestamp":")" + f.last_timestamp + "\"";
  if (!f.event_time.empty()) json += R"(,"eventTime":")" + f.event_time + "\"";
  if (f.count != 0) json += R"(,"count":)" + std::to_string(f.count);
  return json + "}";
}

FakeKubeApi::FakeKubeApi(const std::string& dir, std::string token) : token_(std::move(token)) {
  EVP_PKEY* ca_key = NewTestKey();
  EVP_PKEY* key = NewTestKey();
  // A distinct name per instance, so a client given another instance's CA fails to find an
  // issuer instead of trying the wrong key.
  const std::string ca_name = "skidder test CA " + std::to_string(std::random_device{}());
  X509* ca = NewTestCert(ca_name.c_str(), ca_key, nullptr, nullptr, 1);
  X509* cert = NewTestCert("127.0.0.1", key, ca, ca_key, 2);
  ca_file_ = dir + "/ca.crt";
  WritePem(ca_file_, ca, nullptr);
  server_ = std::make_unique<httplib::SSLServer>(cert, key);
  X509_free(ca);
  X509_free(cert);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(key);
  if (!server_->is_valid()) throw std::runtime_error("SSLServer is not valid");
  // Each open watch holds a worker thread: an agent with several roles (endpoints roles watch
  // pods and services too) keeps more open than httplib's default pool of 8 serves.
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  Serve();
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("cannot bind the fake API server");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: a fake destroyed before any request would
  // otherwise wait in join() forever (seen under TSan).
  WaitFor([this] { return server_->is_running(); }, std::chrono::seconds(30),
          std::chrono::milliseconds(1));
}

FakeKubeApi::~FakeKubeApi() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeKubeApi::url() const { return "https://127.0.0.1:" + std::to_string(port_); }

void FakeKubeApi::SetBasicAuth(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string b64(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  b64.resize(static_cast<size_t>(n));
  std::lock_guard lock(mu_);
  basic_ = std::move(b64);
}

void FakeKubeApi::SetToken(std::string token) {
  std::lock_guard lock(mu_);
  token_ = std::move(token);
}

void FakeKubeApi::Event(const std::string& resource, const std::string& type,
                        const std::string& json, bool remove) {
  {
    std::lock_guard lock(mu_);
    Stamped p = WithRv(json, ++rv_);
    const std::string key = resource + "/" + p.key;
    if (remove) {
      pods_.erase(key);
    } else {
      pods_[key] = StoredPod{resource, p.ns, p.node, p.json};
    }
    events_.push_back(EventRecord{rv_, resource, p.ns, p.node,
                                  R"({"type":")" + type + R"(","object":)" + p.json + "}\n"});
  }
  cv_.notify_all();
}

void FakeKubeApi::Add(const std::string& pod_json) { Event("pods", "ADDED", pod_json, false); }
void FakeKubeApi::Modify(const std::string& pod_json) {
  Event("pods", "MODIFIED", pod_json, false);
}
void FakeKubeApi::Delete(const std::string& pod_json) { Event("pods", "DELETED", pod_json, true); }
void FakeKubeApi::SetSecret(const std::string& ns, const std::string& name,
                            const std::string& json_data) {
  std::lock_guard lock(mu_);
  secrets_[ns + "/" + name] = json_data;
}

void FakeKubeApi::AddObject(const std::string& resource, const std::string& json) {
  Event(resource, "ADDED", json, false);
}
void FakeKubeApi::DeleteObject(const std::string& resource, const std::string& json) {
  Event(resource, "DELETED", json, true);
}

void FakeKubeApi::Bookmark() {
  {
    std::lock_guard lock(mu_);
    ++rv_;
    events_.push_back(EventRecord{rv_, "", "", "",
                                  R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",)"
                                  R"("metadata":{"resourceVersion":")" +
                                      std::to_string(rv_) + "\"}}}\n"});
  }
  cv_.notify_all();
}

void FakeKubeApi::RawEvent(const std::string& line) {
  {
    std::lock_guard lock(mu_);
    ++rv_;
    events_.push_back(EventRecord{rv_, "", "", "", line + "\n"});
  }
  cv_.notify_all();
}

void FakeKubeApi::ExpireWatches() {
  {
    std::lock_guard lock(mu_);
    compacted_rv_ = ++rv_;  // history up to now is gone; a relist returns rv_ itself
    ++expire_generation_;
  }
  cv_.notify_all();
}

void FakeKubeApi::DropWatches() {
  {
    std::lock_guard lock(mu_);
    ++drop_generation_;
  }
  cv_.notify_all();
}

void FakeKubeApi::FailNext(int n, int status, int retry_after) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
  fail_status_ = status;
  fail_retry_after_ = retry_after;
}

void FakeKubeApi::FailPath(const std::string& path, int status, int after) {
  std::lock_guard lock(mu_);
  if (status == 0) {
    fail_paths_.erase(path);
  } else {
    fail_paths_[path] = {status, after};
  }
}

void FakeKubeApi::SetSecretThenFail(const std::string& ns, const std::string& name,
                                    const std::string& json_data, int status, int after) {
  std::lock_guard lock(mu_);
  secrets_[ns + "/" + name] = json_data;
  fail_paths_[SecretPath(ns, name)] = {status, after};
}

int FakeKubeApi::PathFailureLocked(const std::string& path) {
  auto it = fail_paths_.find(path);
  if (it == fail_paths_.end()) return 0;
  if (it->second.after > 0) {
    --it->second.after;
    return 0;
  }
  return it->second.status;
}

void FakeKubeApi::SetListMode(ListMode mode) {
  std::lock_guard lock(mu_);
  list_mode_ = mode;
}

uint64_t FakeKubeApi::list_bytes_sent() const {
  std::lock_guard lock(mu_);
  return list_bytes_sent_;
}

void FakeKubeApi::SetWatchMode(WatchMode mode) {
  std::lock_guard lock(mu_);
  watch_mode_ = mode;
}

std::vector<KubeRequest> FakeKubeApi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeKubeApi::watches_started() const {
  std::lock_guard lock(mu_);
  return watches_started_;
}

uint64_t FakeKubeApi::last_rv_sent() const {
  std::lock_guard lock(mu_);
  return last_rv_sent_;
}

std::string FakeKubeApi::resource_version() const {
  std::lock_guard lock(mu_);
  return std::to_string(rv_);
}

void FakeKubeApi::Serve() {
  using httplib::Server;
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    KubeRequest r{req.method, req.path, {}, false, std::chrono::steady_clock::now()};
    for (const auto& [k, v] : req.params) r.params[k] = v;
    std::lock_guard lock(mu_);
    received_at = {drop_generation_, expire_generation_};
    const std::string auth = req.get_header_value("Authorization");
    r.authorized = auth == "Bearer " + token_ || (!basic_.empty() && auth == "Basic " + basic_);
    requests_.push_back(r);
    int status = 0;
    bool scripted = false;  // by FailNext: with its Retry-After
    if (!r.authorized) {
      status = 401;
    } else if (fail_paths_.contains(r.path)) {
      // A Secret's handler decides under the lock it reads the data with: a request let
      // through here could otherwise read data set after this check (see SetSecretThenFail).
      if (!IsSecretPath(r.path)) status = PathFailureLocked(r.path);
    } else if (fail_next_ > 0) {
      --fail_next_;
      status = fail_status_;
      scripted = true;
    }
    if (status == 0) return Server::HandlerResponse::Unhandled;
    res.status = status;
    if (scripted && fail_retry_after_ > 0)
      res.set_header("Retry-After", std::to_string(fail_retry_after_));
    const ApiPath what = ParseApiPath(r.path);
    const std::string verb = r.params.contains("watch") ? "watch"
                             : what.name.empty()        ? "list"
                                                        : "get";
    res.set_content(FailureJson(status, what, verb), "application/json");
    return Server::HandlerResponse::Handled;
  });
  // matches: [1] "namespaces/<ns>/" or "", [2] the namespace, [3] the resource.
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ns = req.matches[2].str(), resource = req.matches[3].str();
    if (req.has_param("watch")) {
      ServeWatch(req, res, resource, ns);
    } else {
      ServeList(req, res, resource, ns);
    }
  };
  server_->Get(R"(/api/v1/(namespaces/([a-z0-9-]+)/)?(pods|services|endpoints|events))", handler);
  server_->Get(R"(/api/v1/()()(nodes))", handler);
  server_->Get(
      R"(/api/v1/namespaces/([a-z0-9-]+)/secrets/([a-z0-9.-]+))",
      [this](const httplib::Request& req, httplib::Response& res) {
        const std::string ns = req.matches[1].str(), name = req.matches[2].str();
        std::lock_guard lock(mu_);
        if (const int status = PathFailureLocked(req.path); status != 0) {
          res.status = status;
          res.set_content(FailureJson(status, ParseApiPath(req.path), "get"), "application/json");
          return;
        }
        auto it = secrets_.find(ns + "/" + name);
        if (it == secrets_.end()) {
          res.status = 404;
          res.set_content(StatusJson(404, "NotFound", "secrets \\\"" + name + "\\\" not found"),
                          "application/json");
          return;
        }
        res.set_content(R"({"kind":"Secret","apiVersion":"v1","metadata":{"name":")" + name +
                            R"(","namespace":")" + ns + R"("},"data":)" + it->second + "}",
                        "application/json");
      });
  server_->Get(R"(/apis/discovery.k8s.io/v1/(namespaces/([a-z0-9-]+)/)?(endpointslices))", handler);
  server_->Get(R"(/apis/networking.k8s.io/v1/(namespaces/([a-z0-9-]+)/)?(ingresses))", handler);
}

void FakeKubeApi::ServeList(const httplib::Request& req, httplib::Response& res,
                            const std::string& resource, const std::string& ns) {
  const std::string node = NodeFromSelector(req.get_param_value("fieldSelector"));
  const size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 0;
  const size_t offset = req.has_param("continue") ? std::stoul(req.get_param_value("continue")) : 0;
  const std::string version = req.get_param_value("resourceVersion");
  std::unique_lock lock(mu_);
  // A list "not older than" a version the server does not have (etcd restored from a backup)
  // waits for it, then fails, as the API server's watch cache does; without a version (etcd)
  // or with "0" it is served.
  if (!version.empty() && version != "0" &&
      (watch_mode_ == WatchMode::kTooLargeUntilList || std::stoull(version) > rv_)) {
    res.status = 504;
    res.set_content(
        StatusJson(504, "Timeout",
                   "Too large resource version: " + version + ", current: " + std::to_string(rv_)),
        "application/json");
    return;
  }
  if (watch_mode_ == WatchMode::kTooLargeUntilList) watch_mode_ = WatchMode::kNormal;
  if (list_mode_ != ListMode::kNormal) {
    lock.unlock();
    return ServeEndlessList(req, res);
  }
  std::string items;
  size_t index = 0, taken = 0;
  bool more = false;
  for (const auto& [key, pod] : pods_) {
    if (pod.resource != resource || !Matches(ns, node, pod.ns, pod.node)) continue;
    if (index++ < offset) continue;
    if (limit > 0 && taken == limit) {
      more = true;
      break;
    }
    items += (items.empty() ? "" : ",") + pod.json;
    ++taken;
  }
  const std::string cont = more ? R"(,"continue":")" + std::to_string(offset + taken) + "\"" : "";
  res.set_content(R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" +
                      std::to_string(rv_) + "\"" + cont + R"(},"items":[)" + items + "]}",
                  "application/json");
}

void FakeKubeApi::ServeEndlessList(const httplib::Request& req, httplib::Response& res) {
  std::unique_lock lock(mu_);
  if (list_mode_ == ListMode::kEndlessPages) {
    const size_t offset =
        req.has_param("continue") ? std::stoul(req.get_param_value("continue")) : 0;
    const std::string pod = PodJson("endless", "pod-" + std::to_string(offset), "", {"c"});
    std::string body = R"({"kind":"PodList","metadata":{"resourceVersion":")" +
                       std::to_string(rv_) + R"(","continue":")" + std::to_string(offset + 1) +
                       R"("},"items":[)" + pod + "]}";
    list_bytes_sent_ += body.size();
    res.set_content(body, "application/json");
    return;
  }
  lock.unlock();
  // Not application/json: httplib would gzip it, and bytes written would say little about bytes
  // sent. The agent does not look at the content type.
  res.set_chunked_content_provider(
      "application/octet-stream", [this](size_t offset, httplib::DataSink& sink) {
        static const std::string kChunk = [] {
          std::string c;
          while (c.size() < 64 * 1024) c += R"({"kind":"Pod","metadata":{}},)";
          return c;
        }();
        const std::string out = offset == 0 ? R"({"kind":"PodList","items":[)" + kChunk : kChunk;
        if (!sink.write(out.data(), out.size())) return false;
        std::lock_guard relock(mu_);
        list_bytes_sent_ += out.size();
        return !stopping_;
      });
}

void FakeKubeApi::ServeWatch(const httplib::Request& req, httplib::Response& res,
                             const std::string& resource, const std::string& ns) {
  struct State {
    uint64_t from;
    std::string resource, ns, node;
    size_t next = 0;
    uint64_t expire_gen, drop_gen;
  };
  auto st = std::make_shared<State>();
  st->from = std::stoull("0" + req.get_param_value("resourceVersion"));
  st->resource = resource;
  st->ns = ns;
  st->node = NodeFromSelector(req.get_param_value("fieldSelector"));
  {
    std::lock_guard lock(mu_);
    if (watch_mode_ == WatchMode::kNewlineThenClose) {
      ++watches_started_;
      res.set_content("\n", "application/json");
      return;
    }
    if (watch_mode_ == WatchMode::kTooLargeUntilList) {
      res.status = 504;
      res.set_content(StatusJson(504, "Timeout", "Too large resource version: 9, current: 3"),
                      "application/json");
      return;
    }
    if (st->from < compacted_rv_ || watch_mode_ == WatchMode::kAlwaysGone) {
      res.status = 410;
      res.set_content(StatusJson(410, "Expired"), "application/json");
      return;
    }
    ++watches_started_;
    st->expire_gen = received_at.expire_gen;
    st->drop_gen = received_at.drop_gen;
  }
  res.set_chunked_content_provider("application/json", [this, st](size_t, httplib::DataSink& sink) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 50ms, [&] {
      return stopping_ || drop_generation_ != st->drop_gen ||
             expire_generation_ != st->expire_gen || st->next < events_.size();
    });
    if (stopping_ || drop_generation_ != st->drop_gen) return false;  // cut the connection
    std::string out;
    uint64_t sent_rv = 0;
    for (; st->next < events_.size(); ++st->next) {
      const EventRecord& e = events_[st->next];
      const bool ours = e.resource.empty() || e.resource == st->resource;
      if (e.rv > st->from && ours && Matches(st->ns, st->node, e.ns, e.node)) {
        out += e.line;
        sent_rv = e.rv;
      }
    }
    const bool expired = expire_generation_ != st->expire_gen;
    lock.unlock();
    if (expired) {
      out += R"({"type":"ERROR","object":)" + StatusJson(410, "Expired") + "}\n";
    }
    if (!out.empty() && !sink.write(out.data(), out.size())) return false;
    if (sent_rv != 0) {
      std::lock_guard relock(mu_);
      last_rv_sent_ = std::max(last_rv_sent_, sent_rv);
    }
    if (expired) sink.done();
    return true;
  });
}

}  // namespace skidder::testing
