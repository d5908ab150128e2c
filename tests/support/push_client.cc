#include "support/push_client.h"

#include <httplib.h>
#include <snappy.h>

#include <map>
#include <regex>

#include "push.pb.h"

namespace skidder::testing {
namespace {

std::vector<std::pair<std::string, std::vector<const ReceivedEntry*>>> ByStream(
    const std::vector<ReceivedEntry>& entries) {
  std::vector<std::pair<std::string, std::vector<const ReceivedEntry*>>> out;
  for (const ReceivedEntry& e : entries) {
    auto it = std::find_if(out.begin(), out.end(), [&](auto& s) { return s.first == e.labels; });
    if (it == out.end()) it = out.insert(out.end(), {e.labels, {}});
    it->second.push_back(&e);
  }
  return out;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string ProtobufPushBody(const std::vector<ReceivedEntry>& entries) {
  logproto::PushRequest req;
  for (const auto& [labels, list] : ByStream(entries)) {
    logproto::StreamAdapter* s = req.add_streams();
    s->set_labels(labels);
    for (const ReceivedEntry* e : list) {
      logproto::EntryAdapter* a = s->add_entries();
      a->mutable_timestamp()->set_seconds(e->timestamp_ns / 1'000'000'000);
      a->mutable_timestamp()->set_nanos(static_cast<int32_t>(e->timestamp_ns % 1'000'000'000));
      a->set_line(e->line);
      for (const auto& [k, v] : e->metadata) {
        logproto::LabelPairAdapter* m = a->add_structuredmetadata();
        m->set_name(k);
        m->set_value(v);
      }
    }
  }
  std::string raw = req.SerializeAsString(), out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string JsonPushBody(const std::vector<ReceivedEntry>& entries) {
  static const std::regex pair(R"re(([A-Za-z_][A-Za-z0-9_]*)="([^"]*)")re");
  std::string out = R"({"streams":[)";
  bool first_stream = true;
  for (const auto& [labels, list] : ByStream(entries)) {
    out += first_stream ? "{\"stream\":{" : ",{\"stream\":{";
    first_stream = false;
    bool first = true;
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), pair);
         it != std::sregex_iterator(); ++it, first = false) {
      out += (first ? "" : ",") + JsonString((*it)[1]) + ":" + JsonString((*it)[2]);
    }
    out += "},\"values\":[";
    for (size_t i = 0; i < list.size(); ++i) {
      const ReceivedEntry* e = list[i];
      out += (i ? ",[" : "[") + JsonString(std::to_string(e->timestamp_ns)) + "," +
             JsonString(e->line);
      if (!e->metadata.empty()) {
        out += ",{";
        for (size_t m = 0; m < e->metadata.size(); ++m) {
          out += (m ? "," : "") + JsonString(e->metadata[m].first) + ":" +
                 JsonString(e->metadata[m].second);
        }
        out += "}";
      }
      out += "]";
    }
    out += "]}";
  }
  return out + "]}";
}

PushResponse PushClient::Post(const std::string& body, const std::string& content_type,
                              const std::string& content_encoding, const std::string& path,
                              const std::string& tenant) const {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(30, 0);
  cli.set_url_encode(false);  // the path and query as given (a '+' stays a '+')
  httplib::Headers headers;
  if (!content_encoding.empty()) headers.emplace("Content-Encoding", content_encoding);
  if (!tenant.empty()) headers.emplace("X-Scope-OrgID", tenant);
  auto res = cli.Post(path, headers, body, content_type);
  if (!res) return {};
  return {res->status, res->body, res->get_header_value("Retry-After")};
}

PushResponse PushClient::Get(const std::string& path) const {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(10, 0);
  auto res = cli.Get(path);
  if (!res) return {};
  return {res->status, res->body, ""};
}

}  // namespace skidder::testing
