// FakeKubeApi: a scripted Kubernetes API server for discovery tests, on 127.0.0.1 port 0 over
// HTTPS with a CA and server certificate made at start (ca.crt written to the given directory).
//
// It serves GET /api/v1/pods and /api/v1/namespaces/<ns>/pods (list, with limit/continue paging,
// and ?watch=1 streams from a resourceVersion), and the same for nodes, services, endpoints,
// events,
// endpointslices (discovery.k8s.io/v1) and ingresses (networking.k8s.io/v1), single Secrets
// (remote.kubernetes.secret), checks the bearer
// token (401 when wrong), and records every request so a test can assert what was asked. The test
// drives it from its own thread: Add/Modify/Delete push watch events (and update the list),
// Bookmark() sends a bookmark, ExpireWatches() answers 410 Gone, DropWatches() cuts connections,
// FailNext() fails requests. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class SSLServer;
struct Request;
struct Response;
}  // namespace httplib

namespace skidder::testing {

struct KubeRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;
  bool authorized = false;
  std::chrono::steady_clock::time_point at;  // when it arrived
};

// A minimal pod object. containers: names; the first container gets the id "containerd://<name>".
std::string PodJson(const std::string& ns, const std::string& name, const std::string& node,
                    const std::vector<std::string>& containers,
                    const std::map<std::string, std::string>& labels = {},
                    const std::map<std::string, std::string>& annotations = {});

// A core/v1 Event about an object (a Pod in the event's namespace unless told otherwise), as the
// API serves it; empty times are left out.
struct EventFields {
  std::string object = "web-1", kind = "Pod", object_namespace = "shop";
  std::string reason = "Started", message = "Started container app", type = "Normal";
  std::string last_timestamp = "2026-12-06T04:00:00Z", event_time;
  int count = 1;
};
std::string EventJson(const std::string& ns, const std::string& name, const EventFields& f = {});

class FakeKubeApi {
 public:
  // Certificates go into dir (ca.crt, server.crt, server.key). Requests must carry token.
  FakeKubeApi(const std::string& dir, std::string token);
  ~FakeKubeApi();
  FakeKubeApi(const FakeKubeApi&) = delete;
  FakeKubeApi& operator=(const FakeKubeApi&) = delete;

  std::string url() const;  // "https://127.0.0.1:<port>"
  const std::string& ca_file() const { return ca_file_; }

  void SetToken(std::string token);
  // Also accept HTTP basic auth with these credentials (instead of the token).
  void SetBasicAuth(const std::string& user, const std::string& password);

  // The pod (keyed by namespace/name) changes; the list reflects it and open watches get the event.
  void Add(const std::string& pod_json);
  void Modify(const std::string& pod_json);
  void Delete(const std::string& pod_json);
  // The same for any resource ("nodes", "services", "endpoints", "endpointslices", "ingresses").
  void AddObject(const std::string& resource, const std::string& json);
  void DeleteObject(const std::string& resource, const std::string& json);
  void Bookmark();
  // GET /api/v1/namespaces/<ns>/secrets/<name> answers a Secret whose data is `json_data` (an
  // object of base64 values, or anything else a hostile server might send); 404 for others.
  void SetSecret(const std::string& ns, const std::string& name, const std::string& json_data);
  // Sends line (plus '\n') as is to every open and later watch: malformed events.
  void RawEvent(const std::string& line);
  // Open watches get an ERROR event with code 410; later watches from an older resourceVersion
  // get HTTP 410 until they relist.
  void ExpireWatches();
  // Open watch connections are cut without ending the chunked body.
  void DropWatches();
  // The next n requests (list or watch) are answered with status (e.g. 503: API outage), with a
  // Retry-After header of retry_after seconds when that is positive.
  void FailNext(int n, int status, int retry_after = 0);
  // Every later request for `path` (list or watch, e.g. one namespace's) but the next `after` is
  // answered with status, until called again with 0. Those `after` are answered as they would
  // be without it, FailNext() aside (they do not count towards its n).
  void FailPath(const std::string& path, int status, int after = 0);
  // SetSecret and FailPath(the Secret's path, status, after) in one step: every read of the new
  // data counts towards `after` (a read between two calls could see the data uncounted).
  void SetSecretThenFail(const std::string& ns, const std::string& name,
                         const std::string& json_data, int status, int after);

  // How every later watch request misbehaves (a broken or hostile server).
  enum class WatchMode {
    kNormal,
    kNewlineThenClose,  // 200, one "\n", then the body ends
    kAlwaysGone,        // HTTP 410 Gone, however fresh the resourceVersion
    // HTTP 504 "Too large resource version" until the next list (etcd restored from a backup:
    // the versions the agent knows are ahead of the server's)
    kTooLargeUntilList,
  };
  void SetWatchMode(WatchMode mode);
  // How every later list request misbehaves.
  enum class ListMode {
    kNormal,
    kEndlessPages,  // each page holds one new pod and a continue token: pagination never ends
    kEndlessBody,   // 200 with a PodList body that never ends
  };
  void SetListMode(ListMode mode);
  uint64_t list_bytes_sent() const;  // body bytes written to list responses so far

  std::vector<KubeRequest> requests() const;
  int watches_started() const;  // successful (200) watch responses so far
  std::string resource_version() const;
  // The newest resourceVersion written to any watch stream (so a test knows it was sent).
  uint64_t last_rv_sent() const;

 private:
  struct StoredPod {
    std::string resource, ns, node, json;
  };
  struct EventRecord {
    uint64_t rv;
    std::string resource, ns, node, line;  // all empty for bookmarks: every watch gets them
  };
  void Event(const std::string& resource, const std::string& type, const std::string& json,
             bool remove);
  void Serve();
  void ServeList(const httplib::Request& req, httplib::Response& res, const std::string& resource,
                 const std::string& ns);
  void ServeEndlessList(const httplib::Request& req, httplib::Response& res);
  void ServeWatch(const httplib::Request& req, httplib::Response& res, const std::string& resource,
                  const std::string& ns);

  std::string ca_file_;
  std::unique_ptr<httplib::SSLServer> server_;
  int port_ = 0;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string token_;
  std::string basic_;  // base64 "user:password"; "" = basic auth refused
  uint64_t rv_ = 100;
  uint64_t compacted_rv_ = 0;
  std::map<std::string, StoredPod> pods_;  // "<resource>/<ns>/<name>" -> the object with its rv
  std::map<std::string, std::string> secrets_;  // "<ns>/<name>" -> its data's JSON
  std::vector<EventRecord> events_;
  std::vector<KubeRequest> requests_;
  uint64_t expire_generation_ = 0, drop_generation_ = 0;
  int fail_next_ = 0, fail_status_ = 0, fail_retry_after_ = 0;
  struct PathFailure {
    int status = 0;
    int after = 0;  // requests still answered before it fails
  };
  std::map<std::string, PathFailure> fail_paths_;
  // The status `path` is to be answered with under fail_paths_ (0: as usual), counting the
  // request towards its `after`. Under mu_.
  int PathFailureLocked(const std::string& path);
  WatchMode watch_mode_ = WatchMode::kNormal;
  ListMode list_mode_ = ListMode::kNormal;
  uint64_t list_bytes_sent_ = 0;
  int watches_started_ = 0;
  uint64_t last_rv_sent_ = 0;
  bool stopping_ = false;
};

}  // namespace skidder::testing
