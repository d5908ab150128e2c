// Promtail's command-line flags, parsed as Go's flag package does: -flag=value, -flag value,
// --flag=value; a bool flag is -flag or -flag=true|false (never "-flag false", as in Go).
#include <fmt/format.h>

#include <charconv>
#include <span>

#include "config/loader.h"
#include "config/sections.h"
#include "util/log.h"
#include "util/redact.h"

namespace skidder::config {
namespace {

enum class Kind { kBool, kString, kInt };

struct FlagDef {
  std::string_view name;
  Kind kind;
  std::string_view help;
  // Stores the value; returns what is wrong with it, or "" when it was stored.
  std::string (*set)(Flags&, const std::string&);
};

std::string SetBool(bool* field, const std::string& v) {
  // Go's strconv.ParseBool.
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") {
    *field = true;
  } else if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    *field = false;
  } else {
    return "expected true or false";
  }
  return "";
}

template <bool Flags::*Field>
std::string SetBoolField(Flags& f, const std::string& v) {
  return SetBool(&(f.*Field), v);
}

template <std::string Flags::*Field>
std::string SetStrField(Flags& f, const std::string& v) {
  f.*Field = v;
  return "";
}

template <std::optional<std::string> Flags::*Field>
std::string SetOptStrField(Flags& f, const std::string& v) {
  f.*Field = v;
  return "";
}

// Flags whose value is checked before it is stored, so a typo fails before any file is read.
std::string SetLogLevel(Flags& f, const std::string& v) {
  log::Level level;
  if (!log::ParseLevel(v, &level)) return "must be debug, info, warn or error";
  f.log_level = v;
  return "";
}

std::string SetLogFormat(Flags& f, const std::string& v) {
  log::Format format;
  if (!log::ParseFormat(v, &format)) return "must be logfmt or json";
  f.log_format = v;
  return "";
}

std::string SetConfigFormat(Flags& f, const std::string& v) {
  if (v != "yaml" && v != "alloy") return "must be yaml or alloy";
  f.config_format = v;
  return "";
}

std::string SetClientUrl(Flags& f, const std::string& v) {
  std::string why = internal::CheckHttpUrl(v);
  if (why.empty()) f.client_url = v;
  return why;
}

std::string SetExternalLabels(Flags& f, const std::string& v) {
  Result<Labels> labels = internal::ParseLabelList(v);
  if (!labels) return labels.error().message();
  f.client_external_labels = v;
  return "";
}

std::string SetPort(Flags& f, const std::string& v) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) return "expected an integer";
  if (port < 0 || port > 65535) return "must be between 0 and 65535";
  f.http_listen_port = port;
  return "";
}

std::string SetPathPrefix(Flags& f, const std::string& v) {
  if (!v.empty() && v[0] != '/') return "must start with /";
  f.http_path_prefix = v;
  return "";
}

// An empty path would turn the file's HTTPS into plain HTTP without a word: omit the flag instead.
template <std::optional<std::string> Flags::*Field>
std::string SetTlsPath(Flags& f, const std::string& v) {
  if (v.empty()) return "must not be empty (omit the flag to keep the config file's setting)";
  f.*Field = v;
  return "";
}

std::string SetClientAuth(Flags& f, const std::string& v) {
  std::string why = internal::ClientAuthTypeProblem(v);
  if (why.empty()) f.http_tls_client_auth = v;
  return why;
}

std::string SetTlsMinVersion(Flags& f, const std::string& v) {
  std::string why = internal::TlsMinVersionProblem(v);
  if (why.empty()) f.tls_min_version = v;
  return why;
}

// Go's cipher suite names are not GnuTLS's; the flag is taken (so a Promtail command line
// starts) and named in the start-up line, as server.tls_cipher_suites is.
std::string SetCipherSuites(Flags& f, const std::string& v) {
  f.tls_cipher_suites = !v.empty();
  return "";
}

std::string SetHeldMaxBytes(Flags& f, const std::string& v) {
  int64_t bytes = 0;
  if (!internal::ParseByteSize(v, &bytes)) return "expected a size like 1GiB or 1073741824";
  f.positions_held_max_bytes = bytes;
  return "";
}

// Comma-separated absolute directories; "" clears the file's list (follow links anywhere).
std::string SetSymlinkRoots(Flags& f, const std::string& v) {
  std::vector<std::string> roots;
  for (size_t start = 0; start < v.size();) {
    size_t comma = std::min(v.find(',', start), v.size());
    std::string root = v.substr(start, comma - start);
    if (root.empty() || root[0] != '/') return "expected absolute directories, comma-separated";
    roots.push_back(std::move(root));
    start = comma + 1;
  }
  f.symlink_roots = std::move(roots);
  return "";
}

std::span<const FlagDef> Defs() {
  static const FlagDef kDefs[] = {
      {"config.file", Kind::kString,
       "Config file to load: Promtail YAML, or Alloy syntax for a .alloy file (default: the "
       "built-in config tailing /var/log/*.log)",
       SetStrField<&Flags::config_file>},
      {"config.format", Kind::kString,
       "Format of -config.file: yaml or alloy (default: alloy for a .alloy file, else yaml)",
       SetConfigFormat},
      {"config.expand-env", Kind::kBool,
       "Expand ${VAR} and ${VAR:-default} in the config file from the environment",
       SetBoolField<&Flags::expand_env>},
      {"dry-run", Kind::kBool,
       "Print log entries to stdout instead of pushing them; positions are not updated",
       SetBoolField<&Flags::dry_run>},
      {"inspect", Kind::kBool, "Print what each pipeline stage changes (use with -dry-run)",
       SetBoolField<&Flags::inspect>},
      {"stdin", Kind::kBool,
       "Read lines from standard input through the first scrape config's pipeline, then exit",
       SetBoolField<&Flags::stdin_mode>},
      {"check-syntax", Kind::kBool, "Validate the config file and exit",
       SetBoolField<&Flags::check_syntax>},
      {"print-config-stderr", Kind::kBool,
       "Print the effective config (secrets hidden) to stderr at start",
       SetBoolField<&Flags::print_config_stderr>},
      {"log.level", Kind::kString,
       "Log level: debug, info, warn or error (overrides server.log_level)", SetLogLevel},
      {"log.format", Kind::kString, "Log format: logfmt or json (overrides server.log_format)",
       SetLogFormat},
      {"version", Kind::kBool, "Print the version and exit", SetBoolField<&Flags::version>},
      {"help", Kind::kBool, "Print this help and exit", SetBoolField<&Flags::help>},
      {"h", Kind::kBool, "Same as -help", SetBoolField<&Flags::help>},
      {"client.url", Kind::kString,
       "Loki push URL; adds a client (replaces the built-in config's client)", SetClientUrl},
      {"client.tenant-id", Kind::kString,
       "Tenant ID (X-Scope-OrgID) for -client.url's client, or for every client without it",
       SetStrField<&Flags::client_tenant_id>},
      {"client.external-labels", Kind::kString,
       "Labels added to every stream, as name=value,name=value (same clients as tenant-id)",
       SetExternalLabels},
      {"positions.file", Kind::kString, "Positions file (overrides positions.filename)",
       SetStrField<&Flags::positions_file>},
      {"positions.held-dir", Kind::kString,
       "Where rotated files not yet read are held (overrides positions.held_dir; \"off\" "
       "disables holding)",
       SetStrField<&Flags::positions_held_dir>},
      {"positions.held-max-bytes", Kind::kString,
       "Disk held files may keep alive after deletion, e.g. 1GiB (overrides "
       "positions.held_max_bytes)",
       SetHeldMaxBytes},
      {"target-config.symlink-roots", Kind::kString,
       "Read a file only if its real path is under one of these directories, comma-separated "
       "(overrides target_config.symlink_roots)",
       SetSymlinkRoots},
      {"server.http-listen-port", Kind::kInt,
       "HTTP port for /metrics and /ready (overrides server.http_listen_port; 0 = any free port)",
       SetPort},
      {"server.http-listen-address", Kind::kString,
       "Address the HTTP server listens on (overrides server.http_listen_address; empty = all)",
       SetOptStrField<&Flags::http_listen_address>},
      {"server.http-tls-cert-path", Kind::kString,
       "HTTPS: the server's PEM certificate (overrides server.http_tls_config.cert_file)",
       SetTlsPath<&Flags::http_tls_cert_path>},
      {"server.http-tls-key-path", Kind::kString,
       "HTTPS: the certificate's PEM key (overrides server.http_tls_config.key_file)",
       SetTlsPath<&Flags::http_tls_key_path>},
      {"server.http-tls-client-auth", Kind::kString,
       "HTTPS: Go's client_auth_type, e.g. RequireAndVerifyClientCert (overrides "
       "server.http_tls_config.client_auth_type)",
       SetClientAuth},
      {"server.http-tls-ca-path", Kind::kString,
       "HTTPS: CAs a client certificate must chain to (overrides "
       "server.http_tls_config.client_ca_file)",
       SetOptStrField<&Flags::http_tls_ca_path>},
      {"server.tls-min-version", Kind::kString,
       "HTTPS: VersionTLS10..VersionTLS13 (overrides server.tls_min_version; default TLS 1.2)",
       SetTlsMinVersion},
      {"server.tls-cipher-suites", Kind::kString,
       "Taken for Promtail command lines and not applied (GnuTLS chooses the suites)",
       SetCipherSuites},
      {"server.path-prefix", Kind::kString,
       "Base path of every HTTP endpoint, e.g. /skidder (overrides server.http_path_prefix)",
       SetPathPrefix},
  };
  return kDefs;
}

const FlagDef* Find(std::string_view name) {
  for (const FlagDef& def : Defs()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) {
        return Err(InvalidArgument(fmt::format("unexpected argument {}: skidder takes only flags",
                                               internal::Quote(args[i + 1]))));
      }
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      return Err(InvalidArgument(fmt::format(
          "unexpected argument {}: skidder takes only flags (did you mean -config.file={}?)",
          internal::Quote(arg), arg)));
    }
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    const FlagDef* def = Find(name);
    if (def == nullptr) {
      return Err(InvalidArgument(fmt::format("unknown flag -{} (see -help)", name)));
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (def->kind == Kind::kBool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Err(InvalidArgument(fmt::format("flag -{} needs a value", name)));
    }
    if (std::string why = def->set(flags, value); !why.empty()) {
      // Never the credentials a URL or a secret flag carries (faults: credentials are never
      // printed): the URL without userinfo and query values, a secret not at all.
      // (-server.http-tls-client-auth names a policy, not a credential.)
      const bool secret = IsSensitiveName(name) && name != "server.http-tls-client-auth";
      const std::string shown = secret ? "<secret>"
                                : name.find("url") != std::string_view::npos
                                    ? MaskUrlCredentials(value, "<secret>")
                                    : value;
      return Err(InvalidArgument(
          fmt::format("invalid value {} for flag -{}: {}", internal::Quote(shown), name, why)));
    }
  }
  return flags;
}

std::string FlagsUsage() {
  std::string out = "Usage: skidder [flags]\n\nFlags:\n";
  for (const FlagDef& def : Defs()) {
    std::string_view kind = def.kind == Kind::kString ? " string"
                            : def.kind == Kind::kInt  ? " int"
                                                      : "";
    out += fmt::format("  -{}{}\n        {}\n", def.name, kind, def.help);
  }
  return out;
}

}  // namespace skidder::config
