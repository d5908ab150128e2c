// PushClient: a Loki push client for tests of skidder's loki_push_api: builds bodies the way
// Promtail and Alloy do (snappy-compressed logproto.PushRequest from the generated protobuf code)
// or Loki's JSON form (optionally gzipped), and posts them on loopback. Entries are given as the
// fake Loki records them (ReceivedEntry), so a test can compare what went in with what came out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/compress.h"  // Gzip
#include "support/fake_loki.h"

namespace skidder::testing {

// Entries grouped into streams by their labels text ({a="1", b="2"}), in order of first use.
std::string ProtobufPushBody(const std::vector<ReceivedEntry>& entries);
// {"streams":[{"stream":{...},"values":[["ns","line",{metadata}]]}]}; labels text must be simple
// (name="value" pairs without escapes).
std::string JsonPushBody(const std::vector<ReceivedEntry>& entries);

struct PushResponse {
  int status = 0;  // 0: no response (connection failed or closed)
  std::string body;
  std::string retry_after;
};

class PushClient {
 public:
  explicit PushClient(int port) : port_(port) {}
  // tenant: sent as X-Scope-OrgID when not empty.
  PushResponse Post(const std::string& body, const std::string& content_type,
                    const std::string& content_encoding = "",
                    const std::string& path = "/loki/api/v1/push",
                    const std::string& tenant = "") const;
  PushResponse PostProtobuf(const std::vector<ReceivedEntry>& entries) const {
    return Post(ProtobufPushBody(entries), "application/x-protobuf");
  }
  PushResponse PostJson(const std::vector<ReceivedEntry>& entries, bool gzip = false) const {
    return gzip ? Post(Gzip(JsonPushBody(entries)), "application/json", "gzip")
                : Post(JsonPushBody(entries), "application/json");
  }
  PushResponse Get(const std::string& path) const;

 private:
  int port_;
};

}  // namespace skidder::testing
