#include "app/agent.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "app/fd_limit.h"
#include "app/runtime.h"
#include "app/secret_poller.h"
#include "config/loader.h"
#include "kubernetes/secret.h"
#include "telemetry/agent_metrics.h"
#include "util/log.h"

#ifndef SKIDDER_VERSION
#define SKIDDER_VERSION "dev"
#endif

namespace skidder::app {
namespace {

// The file source raises it to wake the main loop when it reads after an idle spell (the loop
// then waits sync_period, and a change must be saved sooner); anyone else sending it only causes
// an early Runtime::Tick.
constexpr int kWakeSignal = SIGUSR2;

void WakeMainLoop() { kill(getpid(), kWakeSignal); }

// Signals are taken synchronously by the main thread (sigtimedwait); every other thread inherits
// the blocked mask, so no handler runs on a random thread mid-write.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, kWakeSignal);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

void ConfigureLogging(const config::Config& cfg) {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kLogfmt;
  log::ParseLevel(cfg.server.log_level, &level);
  log::ParseFormat(cfg.server.log_format, &format);
  log::Configure(level, format);
}

// What the loader accepted but wants said once: Promtail keys that cannot apply, and what is
// dropped as Promtail drops it.
void LogConfigNotices(const config::Config& cfg) {
  if (!cfg.ignored_keys.empty()) {
    LOG_INFO("Promtail settings that do not apply to skidder are ignored",
             {{"keys", fmt::format("{}", fmt::join(cfg.ignored_keys, ","))}});
  }
  for (const std::string& w : cfg.warnings) LOG_WARN(w);
}

// The newest data read of each Secret, by a load or by the poller: a load whose read fails (the
// API server down) goes on with it. Loads may run on the main thread and the /reload thread at
// once, and the poller reads on its own, hence the lock.
struct SecretCache {
  std::mutex mu;
  std::map<std::string, std::map<std::string, std::string>> data;

  static std::string Key(const config::SecretRef& r) {
    return fmt::format("{}|{}|{}/{}", r.client.api_server, r.client.kubeconfig_file,
                       r.namespace_name, r.name);
  }
};
SecretCache& Secrets() {
  static SecretCache cache;
  return cache;
}

// A Secret's data from the API server. The poller's reads come here directly (a failed poll
// keeps what the running config has anyway); what they read is kept for the reload they ask for,
// so that reload does not fall back to older data if its own read fails.
Result<std::map<std::string, std::string>> PollSecret(const config::SecretRef& r,
                                                      const std::atomic<bool>* cancel) {
  if (!r.file.empty()) {  // a local.file's: read as it is now, whatever was read before
    Result<std::string> text = config::ReadRegularFile(r.file);
    if (!text) return Err(text.error());
    return std::map<std::string, std::string>{{"content", std::move(*text)}};
  }
  auto data =
      kubernetes::ReadSecretData(r.client, r.namespace_name, r.name,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(r.timeout),
                                 kubernetes::DiscoveryEnv::FromProcess(), cancel);
  if (data) {
    std::lock_guard lock(Secrets().mu);
    Secrets().data[SecretCache::Key(r)] = *data;
  }
  return data;
}

// remote.kubernetes.secret's Secrets, read from the API server when a config is loaded. A load
// while the API server is down (Unavailable after the read's retries) goes on with the data read
// before (by a load or a poll), with a warning, rather than refusing the whole reload; at start
// there is none, and the start fails with the reason.
Result<std::map<std::string, std::string>> ReadSecret(const config::SecretRef& r) {
  auto data = PollSecret(r, nullptr);
  if (data || !r.file.empty() || data.error().code() != StatusCode::kUnavailable) return data;
  std::lock_guard lock(Secrets().mu);
  auto it = Secrets().data.find(SecretCache::Key(r));
  if (it == Secrets().data.end()) return data;
  LOG_WARN("cannot read a Secret again: going on with the data read before",
           {{"secret", r.namespace_name + "/" + r.name}, {"error", data.error().message()}});
  return it->second;
}

// What loading reads from the cluster: an Alloy config's remote.kubernetes.secret. Each Secret
// read, with the data the config got, goes to `read` when given (what the poller watches).
config::LoadHooks Hooks(const config::Flags& flags, std::vector<PolledSecret>* read = nullptr) {
  config::SecretReader reader = ReadSecret;
  if (read != nullptr) {
    reader = [read](const config::SecretRef& r) {
      auto data = ReadSecret(r);
      if (data) read->push_back({r, *data});
      return data;
    };
  }
  return {.read_secret = std::move(reader), .offline = flags.check_syntax};
}

// Loads the config named by the flags and builds (but does not start) a Runtime from it.
Result<std::unique_ptr<Runtime>> LoadAndBuild(const config::Flags& flags,
                                              telemetry::AgentMetrics* metrics,
                                              config::Config* loaded = nullptr,
                                              std::vector<PolledSecret>* secrets = nullptr) {
  Result<config::Config> cfg = config::LoadConfig(flags, Hooks(flags, secrets));
  if (!cfg) return Err(cfg.error());
  auto runtime = Runtime::Build(*cfg, flags, metrics);
  if (runtime && loaded != nullptr) {
    *loaded = std::move(*cfg);
    loaded->warnings = (*runtime)->warnings();
  }
  return runtime;
}

// Replaces the running Runtime with one built from the current config file. The new one is
// built first, so an invalid config changes nothing. If it builds but cannot start (port taken,
// unreachable credentials), the previous config is started again from memory. The Secrets the
// new config read are polled from then on (`secrets`: those of the config running).
Status Reload(const config::Flags& flags, telemetry::AgentMetrics* metrics,
              std::unique_ptr<Runtime>& running, config::Config& current,
              const std::function<Status()>& reload_request,
              std::vector<PolledSecret>& running_secrets, SecretPoller& poller) {
  config::Config next_cfg;
  std::vector<PolledSecret> secrets;
  auto next = LoadAndBuild(flags, metrics, &next_cfg, &secrets);
  if (!next) return next.error();
  LOG_INFO("reloading: the new config loaded; stopping the running one",
           {{"graceful_shutdown_timeout",
             fmt::format("{}ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                     current.server.graceful_shutdown_timeout)
                                     .count())}});
  running->Shutdown();
  running = std::move(*next);
  Status started = running->Start(reload_request, WakeMainLoop);
  if (started.ok()) {
    current = std::move(next_cfg);
    running_secrets = std::move(secrets);
    poller.Update(running_secrets);
    LOG_INFO("config reloaded");
    LogConfigNotices(current);
    return Status::Ok();
  }
  running->Shutdown();
  auto previous = Runtime::Build(current, flags, metrics);
  if (!previous) {
    // Its certificate, say, became unreadable since it started: nothing is left running.
    LOG_ERROR("cannot rebuild the previous config either; exiting",
              {{"error", previous.error().message()}, {"new_config_error", started.message()}});
    poller.Stop();  // no thread left reading while exit() runs the static destructors
    std::exit(1);
  }
  running = std::move(*previous);
  if (Status s = running->Start(reload_request, WakeMainLoop); !s.ok()) {
    LOG_ERROR("cannot restart the previous config either; exiting", {{"error", s.message()}});
    poller.Stop();  // no thread left reading while exit() runs the static destructors
    std::exit(1);
  }
  return Status(started.code(),
                "new config failed to start, previous config restarted: " + started.message());
}
}  // namespace

int Main(const std::vector<std::string>& args) {
  Result<config::Flags> flags = config::ParseFlags(args);
  if (!flags) {
    std::fprintf(stderr, "skidder: %s\n\n%s", flags.error().message().c_str(),
                 config::FlagsUsage().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(config::FlagsUsage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("skidder, version %s\n", SKIDDER_VERSION);
    return 0;
  }
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  metrics.build_info.With({SKIDDER_VERSION})->Set(1);
  metrics.config_reload_success.With({});  // at 0 from the start, as Promtail's
  metrics.config_reload_fail.With({});
  config::Config cfg;
  std::vector<PolledSecret> secrets;
  // Stages and relabel rules are checked by building them, exactly as a real start would.
  auto runtime = LoadAndBuild(*flags, &metrics, &cfg, &secrets);
  if (!runtime) {
    std::fprintf(stderr, "skidder: invalid config: %s\n", runtime.error().message().c_str());
    return 1;
  }
  if (flags->print_config_stderr) std::fputs(config::DumpConfig(cfg).c_str(), stderr);
  if (flags->check_syntax) {
    for (const std::string& w : cfg.warnings) {
      std::fprintf(stderr, "skidder: warning: %s\n", w.c_str());
    }
    std::printf("Valid config file! No syntax issues found\n");
    return 0;
  }
  ConfigureLogging(cfg);
  const FdLimit fds = RaiseOpenFileLimit();
  LOG_INFO("descriptor limit", {{"nofile", std::to_string(fds.soft)},
                                {"raised", fds.raised ? "true" : "false"},
                                {"max_open_files", std::to_string(OpenFilesBudget(fds.soft))}});
  sigset_t signals = BlockSignals();
  // POST /reload validates on the HTTP thread, then hands the swap to this thread via SIGHUP.
  config::Flags reload_flags = *flags;
  std::function<Status()> reload_request = [reload_flags, &metrics]() -> Status {
    auto next = LoadAndBuild(reload_flags, &metrics);
    if (!next) {
      metrics.config_reload_fail.With({})->Add();
      return next.error();
    }
    kill(getpid(), SIGHUP);
    return Status::Ok();
  };
  std::unique_ptr<Runtime> running = std::move(*runtime);
  if (Status s = running->Start(reload_request, WakeMainLoop); !s.ok()) {
    LOG_ERROR("cannot start", {{"error", s.message()}});
    return 1;
  }
  LOG_INFO("skidder started", {{"version", SKIDDER_VERSION},
                               {"config", cfg.source_file.empty() ? "<built-in>" : cfg.source_file},
                               {"dry_run", flags->dry_run ? "true" : "false"}});
  LogConfigNotices(cfg);
  // A changed Secret is applied as an operator's reload would be: through this loop.
  SecretPoller poller(PollSecret, [] { kill(getpid(), SIGHUP); });
  poller.Update(secrets);
  std::chrono::milliseconds wait = running->Tick();
  while (true) {
    // Until Runtime::Tick is due again: 250 ms while positions move, sync_period when idle.
    timespec tick{static_cast<time_t>(wait.count() / 1000),
                  static_cast<long>(wait.count() % 1000 * 1'000'000)};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      LOG_INFO("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    if (sig == SIGHUP) {
      if (Status s = Reload(*flags, &metrics, running, cfg, reload_request, secrets, poller);
          !s.ok()) {
        metrics.config_reload_fail.With({})->Add();
        LOG_ERROR("reload refused, old config kept", {{"error", s.message()}});
        // What the poller saw change and asked to apply is not running: it is seen again.
        poller.Refused(secrets);
      } else {
        metrics.config_reload_success.With({})->Add();
      }
    }
    wait = running->Tick();
  }
  // Entries not acknowledged within the deadline stay unacknowledged in the positions file, so
  // the next start reads them again: exiting 0 loses nothing.
  const bool clean = running->Shutdown();
  poller.Stop();  // a poll in progress is cancelled
  // -stdin has no file to read again: undelivered input is a failure the caller must see.
  return clean || !flags->stdin_mode ? 0 : 1;
}

}  // namespace skidder::app
