// Internal to agent/config/: the readers of each Promtail config section, shared by the
// parse_*.cc files, and small helpers they have in common. Not part of the module's contract:
// other modules use loader.h and yaml_reader.h.
//
// Each Read* function fills its struct from a YAML node strictly (unknown keys, wrong types and
// invalid values are errors with file:line:column) and validates what it can see locally.
// Called on the loading thread only; no state.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "util/byte_size.h"
#include "util/status.h"

namespace skidder::config::internal {

// "abc" quoted like Go's %q; and what a node is ("\"abc\"", "a list", "a mapping") for messages.
std::string Quote(std::string_view s);
std::string Describe(const YAML::Node& node);

// Refuses each key of keys present in the mapping: `"journal" is not supported by skidder yet`.
// Promtail knows these keys; silently ignoring one would change what gets collected.
void RefuseUnsupported(MapReader& r, std::initializer_list<std::string_view> keys);
// Accepts each key of keys present in the mapping whatever its value, and appends its dotted path
// to *ignored: Promtail settings that cannot apply to skidder (e.g. gRPC server options).
void AcceptIgnored(MapReader& r, std::initializer_list<std::string_view> keys,
                   std::vector<std::string>* ignored);

// Calls read(item, "path[i]") for each element of a list; null or absent is an empty list.
template <typename F>
Status ForEachItem(const YAML::Node& list, const std::string& file, const std::string& path,
                   F&& read) {
  if (!list.IsDefined() || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) {
    return ErrorAt(file, list, path, "expected a list, got " + Describe(list));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    Status s = read(list[i], path + "[" + std::to_string(i) + "]");
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Reads a map of label names to values; names must be valid Prometheus label names.
Status ReadLabels(MapReader& r, std::string_view key, Labels* out);

using skidder::ParseByteSize;  // util/byte_size.h
// Go's time.Duration.String() form ("1m30s", "500ms", "0s"), so a dump parses back.
std::string FormatDuration(Duration d);

// "a=1,b=2" (-client.external-labels) as labels; an error names the bad pair.
Result<Labels> ParseLabelList(std::string_view text);

// Empty string when url is an absolute http(s) URL with a host, else what is wrong with it.
std::string CheckHttpUrl(std::string_view url);

// Empty string when address is Go's "host:port" listen form ("[::1]:514", ":514" = every
// interface) with a numeric port from 0 to 65535, else what is wrong with it. Go's net.Listen
// refuses the same addresses; unchecked, the socket layer would wrap port 99999 to 34463.
std::string ListenAddressProblem(std::string_view address);

// What is wrong with a tls_min_version or client_auth_type value ("" = nothing; "" is valid).
std::string TlsMinVersionProblem(std::string_view v);
std::string ClientAuthTypeProblem(std::string_view a);
// The checks across server.http_tls_config's keys (each value checked as above): calls
// fail(key, why) for each mistake. Shared by the YAML reader and the -server.http-tls-* flags.
void CheckServerTls(const ServerTlsConfig& t,
                    const std::function<void(std::string_view key, std::string why)>& fail);

// path: where the block is ("server", or a push job's "scrape_configs[1].loki_push_api.server").
Status ReadServer(const YAML::Node& node, const std::string& file, ServerConfig* out,
                  std::vector<std::string>* ignored, const std::string& path = "server");
Status ReadClient(const YAML::Node& node, const std::string& file, const std::string& path,
                  ClientConfig* out);
// The checks across the common HTTP client keys (parse_http_client.cc), once a FieldReader has
// read them (http_client_fields.h): one way to authenticate, proxy settings that go together.
// Mistakes are recorded on r (r.Finish() reports them).
void ValidateHttpClient(MapReader& r, const HttpClientConfig& c);
// RFC 9110: a header name is a token; a value has no CR, LF or NUL (they would end the header
// or the request: header injection).
bool ValidHeaderField(std::string_view name, std::string_view value);
// Static configs that tail nothing are dropped with a message appended to *warnings.
Status ReadScrapeConfig(const YAML::Node& node, const std::string& file, const std::string& path,
                        ScrapeConfig* out, std::vector<std::string>* warnings);
// pipeline_stages: each item a mapping of one stage type to its body (kept raw for the registry).
Status ReadStages(const YAML::Node& list, const std::string& file, const std::string& path,
                  std::vector<StageConfig>* out);
Status ReadRelabelConfig(const YAML::Node& node, const std::string& file, const std::string& path,
                         RelabelConfig* out);

}  // namespace skidder::config::internal
