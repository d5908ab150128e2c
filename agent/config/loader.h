// Command-line flags and config loading: Promtail's flags over Promtail's YAML.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/alloy.h"
#include "config/config.h"
#include "util/status.h"

namespace skidder::config {

struct Flags {
  std::string config_file;           // -config.file ("" = built-in default config)
  std::string config_format;         // -config.format: yaml|alloy ("" = by the file's extension)
  bool expand_env = false;           // -config.expand-env: ${VAR} and ${VAR:-default}
  bool dry_run = false;              // -dry-run: print entries, do not push, positions untouched
  bool inspect = false;              // -inspect: print each stage's changes
  bool stdin_mode = false;           // -stdin: read stdin instead of tailing files, exit at EOF
  bool check_syntax = false;         // -check-syntax: validate and exit
  bool print_config_stderr = false;  // -print-config-stderr
  bool version = false;              // -version
  bool help = false;
  std::string log_level, log_format;                                 // override server.log_*
  std::string client_url, client_tenant_id, client_external_labels;  // add/override a client
  std::string positions_file;                                        // override positions.filename
  // skidder's own settings, which an Alloy config has no place for (they override the file's):
  std::string positions_held_dir;                         // -positions.held-dir
  std::optional<int64_t> positions_held_max_bytes;        // -positions.held-max-bytes
  std::optional<std::vector<std::string>> symlink_roots;  // -target-config.symlink-roots
  std::optional<std::string> http_path_prefix;            // -server.path-prefix
  std::optional<int> http_listen_port;                    // -server.http-listen-port
  std::optional<std::string> http_listen_address;         // -server.http-listen-address
  // dskit's -server.http-tls-{cert,key,ca}-path, -server.http-tls-client-auth and
  // -server.tls-min-version, over server.http_tls_config and tls_min_version.
  std::optional<std::string> http_tls_cert_path, http_tls_key_path, http_tls_ca_path;
  std::optional<std::string> http_tls_client_auth, tls_min_version;
  bool tls_cipher_suites = false;  // -server.tls-cipher-suites: taken, not applied (logged)
};

// Parses argv (Go style: -flag=value, -flag value, --flag=value; bools as -flag or -flag=true).
// args excludes the program name. Values are checked here (ports, URLs, log levels, labels).
Result<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsUsage();

// The largest config file read (a generated config with thousands of jobs is a few MiB).
inline constexpr size_t kMaxConfigBytes = 16 << 20;
// Reads a regular file of at most kMaxConfigBytes (the config file, a local.file): /dev/zero
// or a FIFO must not hang or exhaust the agent at start, at a reload or a poll. `what` starts
// the file's name in errors ("config file ", or "").
Result<std::string> ReadRegularFile(const std::string& path, std::string_view what = {});

// Parses YAML text into a Config; file is used for error positions. Applies defaults and
// validates everything that does not need other modules (stages are checked by the pipeline).
// client_url: -client.url, which fills the deprecated `client:` block if there is one.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& file, bool expand_env,
                           std::string_view client_url = {});
// Reads flags.config_file (or the built-in default) and applies flag overrides.
// -client.url adds a client after the file's (as Promtail), or replaces the built-in config's
// client, or is the url of the file's deprecated `client:` block (Promtail merges the two); without
// it, -client.tenant-id applies to every client. -client.external-labels goes to every client, a
// label the file sets for a client keeping the file's value (as Promtail). Requires at least one
// client unless flags.dry_run.
// hooks: what an Alloy config may need from other modules (remote.kubernetes.secret).
Result<Config> LoadConfig(const Flags& flags, const LoadHooks& hooks = {});
// Expands ${VAR}, ${VAR:-default} and ${VAR-default} (defaults may hold references); $$ is a
// literal $. backslash_escapes (drone/envsubst's, which Promtail's -config.expand-env applies to
// YAML): "\\\\" outside references is "\\" and "\\/" is "/". Off for Alloy text, whose strings
// have escapes of their own.
std::string ExpandEnv(const std::string& text, bool backslash_escapes = true);
// Renders the effective config as YAML with secrets replaced by <secret>.
std::string DumpConfig(const Config& config);

// The config bundled into the binary (config/default.yaml): tails /var/log/*.log.
extern const char* const kDefaultConfigYaml;

}  // namespace skidder::config
