// LoadConfig: the config file (or the built-in one), environment expansion, then flag overrides.
#include "config/loader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/alloy.h"
#include "config/sections.h"
#include "lang/alloy/parser.h"
#include "util/log.h"

namespace skidder::config {
namespace {

// Stage lists as YAML ({type: body} items): is there an echo stage, also inside a fanout
// branch or a match?
bool EchoIn(const YAML::Node& stages) {
  if (!stages.IsSequence()) return false;
  for (const YAML::Node& item : stages) {
    if (!item.IsMap()) continue;
    for (const auto& kv : item) {
      const std::string type = kv.first.Scalar();
      const YAML::Node body = kv.second;  // const: operator[] must not add to the document
      if (type == "echo") return true;
      if (type == "match" && body.IsMap() && EchoIn(body["stages"])) return true;
      if (type == "fanout" && body.IsSequence()) {
        for (const YAML::Node& branch : body) {
          if (branch.IsMap() && EchoIn(branch["stages"])) return true;
        }
      }
    }
  }
  return false;
}

// An Alloy config with a loki.echo needs no loki.write, as in Alloy: without a loki.write every
// path that does not end at an echo has forward_to = [] (a fanout stage routes it to no client),
// so nothing is lost by running without clients. Not for YAML, whose stages send to every client.
bool PrintsEntries(const Config& cfg) {
  for (const ScrapeConfig& sc : cfg.scrape_configs) {
    for (const StageConfig& st : sc.pipeline_stages) {
      YAML::Node item(YAML::NodeType::Map);
      item[st.type] = st.body;
      YAML::Node list(YAML::NodeType::Sequence);
      list.push_back(item);
      if (EchoIn(list)) return true;
    }
  }
  return false;
}

constexpr const char* kBuiltinName = "<built-in config>";

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

// drone/envsubst's rules, which Promtail's -config.expand-env applies: "$$" is "$"; in the text
// outside references, "\\\\" is "\\" and "\\/" is "/", so a regex written for Promtail
// ('\\\\d+' under expand-env) means the same here; a default may hold references of its own
// (${A:-${B}}). Unlike envsubst, what is not a reference skidder expands stays as written instead
// of failing the load: "${ .Value }" (a template), "$1" (a regex replacement).
class EnvExpander {
 public:
  EnvExpander(std::string_view text, bool escapes) : text_(text), escapes_(escapes) {
    // Each "${" paired with its "}" in one pass (the latest open one takes a "}"), so that the
    // expansion stays linear however the text nests or fails to close.
    std::vector<size_t> open;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
        open.push_back(i);
        ++i;
      } else if (text[i] == '}' && !open.empty()) {
        close_[open.back()] = i;
        open.pop_back();
      }
    }
  }

  std::string Run() {
    std::string out;
    out.reserve(text_.size());
    Expand(0, text_.size(), escapes_, 0, &out);
    return out;
  }

 private:
  static constexpr int kMaxDepth = 16;  // deeper references stay as written

  void Expand(size_t begin, size_t end, bool escapes, int depth, std::string* out) {
    for (size_t i = begin; i < end; ++i) {
      const char c = text_[i];
      const char next = i + 1 < end ? text_[i + 1] : '\0';
      if (escapes && c == '\\' && (next == '\\' || next == '/')) {
        *out += next;
        ++i;
      } else if (c == '$' && next == '$') {
        *out += '$';
        ++i;
      } else if (c == '$' && next == '{') {
        auto it = close_.find(i);
        if (it == close_.end() || it->second >= end) {
          *out += c;  // unterminated: kept as written
          continue;
        }
        if (depth >= kMaxDepth || !ExpandOne(i + 2, it->second, depth, out)) {
          out->append(text_.substr(i, it->second + 1 - i));
        }
        i = it->second;
      } else {
        *out += c;  // $1, $name: regex replacements, left alone
      }
    }
  }

  // The reference text_[begin, end) (inside "${" and "}"): NAME, NAME:-default (unset or empty)
  // or NAME-default (unset). False for anything else.
  bool ExpandOne(size_t begin, size_t end, int depth, std::string* out) {
    std::string_view inner = text_.substr(begin, end - begin);
    size_t n = 0;
    while (n < inner.size() &&
           (inner[n] == '_' || std::isalnum(static_cast<unsigned char>(inner[n]))))
      ++n;
    const std::string name(inner.substr(0, n));
    if (!IsEnvName(name)) return false;
    const std::string_view rest = inner.substr(n);
    const char* value = std::getenv(name.c_str());
    if (rest.empty()) {
      *out += value ? value : "";
    } else if (rest.starts_with(":-") || rest.starts_with("-")) {
      const bool unset_only = rest[0] == '-';
      if (value && (unset_only || *value)) {
        *out += value;
      } else {
        Expand(begin + n + (unset_only ? 1 : 2), end, /*escapes=*/false, depth + 1, out);
      }
    } else {
      return false;
    }
    return true;
  }

  std::string_view text_;
  const bool escapes_;
  std::unordered_map<size_t, size_t> close_;  // "${" position -> its "}"
};

// dskit's server TLS flags over server.http_tls_config. Their values were checked as flags; the
// combination is checked here, after the file's settings are in, naming the flag.
Status ApplyTlsFlags(const Flags& f, Config* cfg) {
  ServerConfig* server = &cfg->server;
  ServerTlsConfig& t = server->http_tls_config;
  if (f.http_tls_cert_path) t.cert_file = *f.http_tls_cert_path;
  if (f.http_tls_key_path) t.key_file = *f.http_tls_key_path;
  if (f.http_tls_ca_path) t.client_ca_file = *f.http_tls_ca_path;
  if (f.http_tls_client_auth) t.client_auth_type = *f.http_tls_client_auth;
  if (f.tls_min_version) server->tls_min_version = *f.tls_min_version;
  if (f.tls_cipher_suites) cfg->ignored_keys.push_back("-server.tls-cipher-suites");
  std::string first;
  internal::CheckServerTls(t, [&first](std::string_view key, const std::string& why) {
    static constexpr std::pair<std::string_view, std::string_view> kFlag[] = {
        {"cert_file", "-server.http-tls-cert-path"},
        {"key_file", "-server.http-tls-key-path"},
        {"client_auth_type", "-server.http-tls-client-auth"},
        {"client_ca_file", "-server.http-tls-ca-path"},
    };
    std::string_view flag;
    for (const auto& [k, name] : kFlag) {
      if (k == key) flag = name;
    }
    if (first.empty()) {
      first = fmt::format("{} (server.http_tls_config.{}): {}", flag, key, why);
    }
  });
  return first.empty() ? Status::Ok() : InvalidArgument(first);
}

// Flags over the file. -client.url follows Promtail: it adds a client after the file's clients,
// with -client.tenant-id. With the built-in config it replaces the bundled localhost client
// instead, which is what someone running `skidder -client.url=...` means. Without -client.url,
// -client.tenant-id applies to every client of the file (Promtail would silently drop it; skidder
// never ignores a flag). -client.external-labels: see below.
Status ApplyOverrides(const Flags& f, bool builtin, Config* cfg) {
  log::Level level;
  log::Format format;
  if (!f.log_level.empty() && !log::ParseLevel(f.log_level, &level)) {
    return InvalidArgument("-log.level: must be debug, info, warn or error");
  }
  if (!f.log_format.empty() && !log::ParseFormat(f.log_format, &format)) {
    return InvalidArgument("-log.format: must be logfmt or json");
  }
  if (!f.log_level.empty()) cfg->server.log_level = f.log_level;
  if (!f.log_format.empty()) cfg->server.log_format = f.log_format;
  if (f.http_listen_port) cfg->server.http_listen_port = *f.http_listen_port;
  if (f.http_path_prefix) cfg->server.http_path_prefix = *f.http_path_prefix;
  if (f.http_listen_address) cfg->server.http_listen_address = *f.http_listen_address;
  if (Status s = ApplyTlsFlags(f, cfg); !s.ok()) return s;
  if (!f.positions_file.empty()) cfg->positions.filename = f.positions_file;
  if (!f.positions_held_dir.empty()) cfg->positions.held_dir = f.positions_held_dir;
  if (f.positions_held_max_bytes) cfg->positions.held_max_bytes = *f.positions_held_max_bytes;
  if (f.symlink_roots) cfg->target_config.symlink_roots = *f.symlink_roots;
  Result<Labels> external = internal::ParseLabelList(f.client_external_labels);
  if (!external) return InvalidArgument("-client.external-labels: " + external.error().message());
  if (!f.client_url.empty()) {      // checked by LoadConfig
    if (cfg->client_flag_merged) {  // the `client:` block's (ParseConfig): the last client
      if (!f.client_tenant_id.empty()) cfg->clients.back().tenant_id = f.client_tenant_id;
    } else {
      ClientConfig client;
      client.url = f.client_url;
      client.tenant_id = f.client_tenant_id;
      if (builtin) cfg->clients.clear();
      cfg->clients.push_back(std::move(client));
    }
  } else if (!f.client_tenant_id.empty()) {
    for (ClientConfig& client : cfg->clients) client.tenant_id = f.client_tenant_id;
  }
  // As Promtail's Config.Setup: the flag's labels go to every client, the flag's own and the
  // file's, and a label a client's external_labels sets in the file keeps the file's value ("a
  // specific config in yaml is doing so explicitly").
  for (ClientConfig& client : cfg->clients) {
    for (const Label& l : *external) {
      if (client.external_labels.Get(l.name) == nullptr)
        client.external_labels.Set(l.name, l.value);
    }
  }
  return Status::Ok();
}

// Alloy text in a file not named .alloy: it parses as Alloy and has a block.
bool LooksLikeAlloy(const std::string& text) {
  Result<lang::alloy::File> f = lang::alloy::Parse(text, "");
  return f && !f->blocks.empty();
}

// The environment reference on the line an error names ("<name>:<line>:<column>: ..."), for a
// hint: a config written for -config.expand-env=true and loaded without it fails at a "${VAR}"
// (a URL without a host, a port that is not a number), and one written for a shell's envsubst
// at a "$VAR", which Promtail's expansion leaves as written. Not "${1}" or "$1" (regex groups)
// nor "$$VAR" (a literal "$").
struct EnvReferences {
  bool braced = false;  // ${NAME}
  bool bare = false;    // $NAME
};

EnvReferences ErrorLineReferencesEnv(std::string_view message, std::string_view name,
                                     std::string_view text) {
  if (!message.starts_with(name) || message.substr(name.size()).empty() ||
      message[name.size()] != ':') {
    return {};
  }
  size_t line = 0;
  std::string_view rest = message.substr(name.size() + 1);
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), line);
  if (ec != std::errc() || line == 0) return {};
  size_t start = 0;
  for (size_t n = 1; n < line; ++n) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  const size_t end = text.find('\n', start);
  const std::string_view named =
      text.substr(start, end == std::string_view::npos ? end : end - start);
  auto starts_name = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  EnvReferences found;
  for (size_t at = 0; at + 1 < named.size(); ++at) {
    if (named[at] != '$') continue;
    if (named[at + 1] == '$') {  // "$$": a literal dollar
      ++at;
      continue;
    }
    if (named[at + 1] == '{') {
      found.braced = found.braced || (at + 2 < named.size() && starts_name(named[at + 2]));
      continue;
    }
    // A reference begins a value or follows a separator ("url: $URL", "http://$HOST:3100"),
    // unlike a "$" inside a word (a password hash's "$6$salt$") or a template's variable
    // ("{{ $x := ... }}", after a space too: not where the line has "{{").
    const bool begins =
        at == 0 || std::string_view(" \t'\":/=@,[").find(named[at - 1]) != std::string_view::npos;
    found.bare = found.bare || (begins && starts_name(named[at + 1]));
  }
  if (named.find("{{") != std::string_view::npos) found.bare = false;
  return found;
}

}  // namespace

namespace internal {

Result<Labels> ParseLabelList(std::string_view text) {
  Labels labels;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view pair = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Err(InvalidArgument(fmt::format("{} is not name=value", Quote(pair))));
    }
    std::string_view name = pair.substr(0, eq);
    if (!IsValidLabelName(name)) {
      return Err(InvalidArgument(fmt::format("invalid label name {}", Quote(name))));
    }
    labels.Set(name, pair.substr(eq + 1));
  }
  return labels;
}

}  // namespace internal

std::string ExpandEnv(const std::string& text, bool backslash_escapes) {
  return EnvExpander(text, backslash_escapes).Run();
}

Result<Config> LoadConfig(const Flags& flags, const LoadHooks& hooks) {
  const bool builtin = flags.config_file.empty();
  std::string text;
  if (builtin) {
    text = kDefaultConfigYaml;
  } else {
    Result<std::string> read = ReadRegularFile(flags.config_file, "config file ");
    if (!read) return Err(read.error());
    text = std::move(*read);
  }
  const std::string name = builtin ? kBuiltinName : flags.config_file;
  // Before the file: the flag may become the url of its `client:` block, whose errors name the
  // file's line.
  if (!flags.client_url.empty()) {
    if (std::string why = internal::CheckHttpUrl(flags.client_url); !why.empty()) {
      return Err(InvalidArgument("-client.url: " + why));
    }
  }
  // The built-in config is read exactly as `-config.file=config/default.yaml` would be.
  const bool alloy = !builtin && IsAlloyConfig(flags.config_format, flags.config_file);
  Result<Config> cfg =
      alloy ? ParseAlloyConfig(flags.expand_env ? ExpandEnv(text, false) : text, name, hooks)
            : ParseConfig(text, name, flags.expand_env, flags.client_url);
  if (!cfg && !alloy && !builtin && flags.config_format.empty() && LooksLikeAlloy(text)) {
    return Err(InvalidArgument(cfg.error().message() +
                               " (this looks like an Alloy config: name the file *.alloy or pass "
                               "-config.format=alloy)"));
  }
  if (!cfg && !builtin) {
    const EnvReferences ref = ErrorLineReferencesEnv(cfg.error().message(), name, text);
    if (ref.braced && !flags.expand_env) {
      return Err(Status(cfg.error().code(),
                        cfg.error().message() +
                            " (the line has a ${VAR} reference: pass -config.expand-env=true to "
                            "expand environment variables)"));
    }
    if (ref.bare && !alloy) {  // Alloy reads the environment with sys.env()
      return Err(Status(cfg.error().code(),
                        cfg.error().message() +
                            " (the line has a $VAR reference: -config.expand-env=true expands "
                            "${VAR} only, as Promtail's does; write ${VAR})"));
    }
  }
  if (!cfg) return cfg;
  if (builtin) cfg->source_file.clear();
  if (Status s = ApplyOverrides(flags, builtin, &*cfg); !s.ok()) return Err(std::move(s));
  if (cfg->clients.empty() && !flags.dry_run && !(alloy && PrintsEntries(*cfg))) {
    return Err(InvalidArgument(fmt::format(
        "{}: no client configured: add {}, pass -client.url, or use -dry-run to print entries "
        "instead",
        name,
        alloy ? "a loki.write component with an endpoint block"
              : "clients: [{url: http://loki:3100/loki/api/v1/push}]")));
  }
  return cfg;
}

// Only a regular file of at most kMaxConfigBytes: /dev/zero would be read for gigabytes and a
// FIFO without a writer would block start-up (or a reload) for ever. O_NONBLOCK keeps open()
// itself from waiting on a FIFO; it changes nothing for a regular file.
Result<std::string> ReadRegularFile(const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return Err(NotFound(fmt::format("cannot read {}{}: {}", what, path, std::strerror(errno))));
  }
  struct stat st;
  Status s;
  std::string text;
  if (::fstat(fd, &st) != 0) {
    s = Unavailable(fmt::format("cannot read {}{}: {}", what, path, std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    s = InvalidArgument(fmt::format("{}{} is not a regular file", what, path));
  } else {
    char buf[64 * 1024];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxConfigBytes) {
      text.append(buf, static_cast<size_t>(n));
    }
    if (n < 0) {
      s = Unavailable(fmt::format("cannot read {}{}: {}", what, path, std::strerror(errno)));
    } else if (text.size() > kMaxConfigBytes) {
      s = InvalidArgument(
          fmt::format("{}{} is larger than {} MiB", what, path, kMaxConfigBytes >> 20));
    }
  }
  ::close(fd);
  if (!s.ok()) return Err(std::move(s));
  return text;
}

}  // namespace skidder::config
