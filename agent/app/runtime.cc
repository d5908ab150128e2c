#include "app/runtime.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "app/fd_limit.h"
#include "app/pipeline_handler.h"
#include "app/sinks.h"
#include "app/stdin_source.h"
#include "app/targets.h"
#include "config/alloy.h"
#include "discovery/file_sd.h"
#include "kubernetes/discovery.h"
#include "pipeline/pipeline.h"
#include "sink/loki/client.h"
#include "sources/docker/docker_source.h"
#include "sources/file/file_source.h"
#include "sources/file/positions.h"
#include "sources/gelf/gelf_source.h"
#include "sources/journal/journal_source.h"
#include "sources/kube_events/kube_events_source.h"
#include "sources/push/push_source.h"
#include "sources/syslog/syslog_source.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/http_server.h"
#include "telemetry/http_tls.h"
#include "util/clock.h"
#include "util/log.h"

namespace skidder::app {

constexpr std::chrono::milliseconds kMaxSaveGap{250};  // see Tick()
// Positions are written at most this fast while things are in flight (see PositionsSaveGap).
constexpr uint64_t kPositionsBytesPerSecond = 1 << 20;
constexpr std::chrono::seconds kPodScanPeriod{1};
constexpr std::chrono::seconds kMaxTickGap{60};  // Tick's longest wait when nothing is due
constexpr std::chrono::seconds kErrorLogGap{60};
constexpr const char* kDockerHostsKey = "skidder-docker-hosts";  // see StartDockers
// Memory a client may hold before readers pause: keeps RSS flat during a Loki outage. Room for
// two batches: one filling while the other is in flight (held then as its compressed body
// only), so readers seldom wait for a push. 2 MiB for the default batchsize (1 MiB); 4 MiB gave
// ~2.5 MB more peak RSS and no faster backlog (benchmarks/README.md, session 9).
constexpr int64_t kMinBufferedBytes = 2 << 20;

int64_t ClientBudget(const config::ClientConfig& cc) {
  return std::max<int64_t>(kMinBufferedBytes, 2 * cc.batchsize);
}

namespace {

// Batches are allocated on the reading thread and freed at each client's pace. glibc hands a
// free stretch at the top of a heap back to the kernel once it passes M_TRIM_THRESHOLD (its own
// dynamic value ends near 4 MiB), and the next batch faults those pages in again: with four
// clients, 105,000 page faults and 0.28 s of system time per 200 MB backlog; with room for the
// clients' budgets kept, 5,300 and 0.15 s, for ~2 MB more peak RSS (benchmarks/README.md,
// session 9). Setting thresholds turns off glibc's own moving of them, so the mmap threshold
// is fixed at its dynamic ceiling (32 MiB): buffers below it stay in the heap and are reused.
void KeepBudgetsInTheHeap(int64_t budgets) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::clamp<int64_t>(budgets, 4 << 20, 256 << 20)));
}

// Promtail's .deb config keeps positions in /tmp/positions.yaml. Under a systemd unit with
// PrivateTmp (ours), or with /tmp on tmpfs, that file is gone at the next start and every file
// is read again from its start: Loki gets everything twice.
void WarnIfPositionsAreTemporary(const std::string& filename) {
  for (std::string_view dir : {"/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/"}) {
    if (filename.starts_with(dir)) {
      LOG_WARN(
          "the positions file is in a temporary directory: if it is gone at the next start "
          "(systemd PrivateTmp, tmpfs, reboot), every file is sent again from its start",
          {{"file", filename}, {"fix", "set positions.filename under /var/lib/skidder"}});
      return;
    }
  }
}

}  // namespace

// A server's HTTPS certificate, read and checked; null for plain HTTP. setting: how errors name
// the block where the user wrote it.
Result<std::shared_ptr<const telemetry::TlsMaterial>> LoadServerTls(const config::ServerConfig& sc,
                                                                    std::string setting) {
  const config::ServerTlsConfig& t = sc.http_tls_config;
  if (t.cert_file.empty()) return std::shared_ptr<const telemetry::TlsMaterial>();
  auto m = telemetry::LoadTls({t.cert_file, t.key_file, t.client_ca_file, t.client_auth_type,
                               sc.tls_min_version, std::move(setting)});
  if (!m) return Err(m.error());
  return std::make_shared<const telemetry::TlsMaterial>(std::move(*m));
}

std::chrono::milliseconds PositionsSaveGap(uint64_t saved_bytes) {
  const auto by_size = std::chrono::milliseconds(saved_bytes * 1000 / kPositionsBytesPerSecond);
  return std::max<std::chrono::milliseconds>(kMaxSaveGap, by_size);
}

namespace {
// How errors at start name a scrape config: where an Alloy config declares it, else its place
// and job name in the Promtail config.
std::string JobWhere(const config::ScrapeConfig& sc, size_t i) {
  if (!sc.origin.empty()) return sc.origin;
  return fmt::format("scrape_configs[{}] ({})", i, sc.job_name);
}

// Rounded up, so the wait never ends just before what it waits for.
std::chrono::milliseconds Ms(std::chrono::steady_clock::duration d) {
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(d), std::chrono::milliseconds(1));
}
}  // namespace

struct Runtime::State {
  config::Config cfg;
  config::Flags flags;
  telemetry::AgentMetrics* metrics = nullptr;
  std::vector<std::unique_ptr<pipeline::Pipeline>> pipelines;
  std::vector<ScrapeJob> jobs;
  std::unique_ptr<sources::Positions> positions;
  sources::poison::CrashLog crashes;  // lines earlier runs died on
  // The file source while it exists, for the clients' on_room (their sender threads). Declared
  // before the clients: destroyed after them, as a client's last release may still come.
  std::mutex room_mu;
  sources::FileSource* room_source = nullptr;
  std::vector<std::unique_ptr<sink::LokiClient>> clients;
  std::unique_ptr<EntrySink> sink;
  // What job i's sources push to: `sink`, or a view of it that waits only for the clients the
  // job's pipeline routes to (RoutedSink).
  std::vector<EntrySink*> job_sinks;
  std::vector<std::unique_ptr<RoutedSink>> routed_sinks;
  std::vector<std::unique_ptr<PipelineHandler>> file_handlers;  // one per job, for its files
  std::unique_ptr<sources::FileSource> source;                  // null under -stdin
  std::unique_ptr<StdinSource> stdin_source;
  std::vector<std::unique_ptr<sources::journal::JournalSource>> journals;
  std::vector<std::unique_ptr<sources::kube_events::KubeEventsSource>> kube_events;
  std::vector<std::unique_ptr<sources::push::PushSource>> pushes;
  std::vector<std::unique_ptr<sources::docker::DockerSource>> dockers;
  std::vector<std::unique_ptr<sources::syslog::SyslogSource>> syslogs;
  std::vector<std::unique_ptr<sources::gelf::GelfSource>> gelfs;
  std::unique_ptr<TargetSet> targets;
  std::vector<std::unique_ptr<kubernetes::PodDiscovery>> discoveries;
  std::vector<std::unique_ptr<discovery::FileDiscovery>> file_sds;
  std::unique_ptr<telemetry::HttpServer> http;
  // HTTPS certificates of the server and of push jobs (by scrape config), loaded by Build.
  std::shared_ptr<const telemetry::TlsMaterial> http_tls;
  std::map<size_t, std::shared_ptr<const telemetry::TlsMaterial>> push_tls;
  std::chrono::steady_clock::time_point last_save = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_sizes_save = last_save;  // see Tick()
  std::chrono::steady_clock::time_point last_pod_scan{}, last_save_log{};
  std::string last_save_error;  // logged again only when it changes, or once a minute
  bool settled = false;  // at the last save nothing was in flight (Tick then waits sync_period)
  // The file source read again while settled (set on its thread, taken by Tick).
  std::atomic<bool> woken{false};
  std::function<void()> wake;  // asks the main loop to call Tick now
  bool started = false;
};

Runtime::Runtime() : s_(std::make_unique<State>()) {}
const std::vector<std::string>& Runtime::warnings() const { return s_->cfg.warnings; }

Runtime::~Runtime() {
  if (s_->started) Shutdown();
  std::lock_guard lock(s_->room_mu);  // the source goes before the clients' sender threads
  s_->room_source = nullptr;
}

namespace {

Status BuildJobs(config::Config& cfg, bool inspect, telemetry::AgentMetrics* metrics,
                 std::vector<std::unique_ptr<pipeline::Pipeline>>& pipelines,
                 std::vector<ScrapeJob>& jobs) {
  const auto context = [&](const std::string& job_name) {
    pipeline::StageContext ctx;
    ctx.metrics = metrics;
    ctx.clock = &SystemClock::Get();
    ctx.limits = &cfg.limits_config;
    ctx.job_name = job_name;
    ctx.clients = cfg.clients.size();
    ctx.warnings = &cfg.warnings;
    return ctx;
  };
  // Alloy's loki.process components no source reaches: built only for their errors.
  for (const std::vector<config::StageConfig>& stages : cfg.unused_pipelines) {
    auto p = pipeline::Pipeline::Build(stages, context(""));
    if (!p) return p.error();
  }
  for (const config::ScrapeConfig& sc : cfg.scrape_configs) {
    auto p = pipeline::Pipeline::Build(sc.pipeline_stages, context(sc.job_name));
    if (!p) return p.error();
    auto rules = kubernetes::CompileRelabel(sc.relabel_configs);
    if (!rules) return rules.error();
    ScrapeJob job;
    job.job_name = sc.job_name;
    job.pipeline = p->get();
    job.relabel = std::move(*rules);
    job.decompression = sc.decompression;
    job.tail_from_end = sc.tail_from_end;
    for (const config::StaticConfig& st : sc.static_configs)
      job.static_targets.push_back(st.labels);
    // -inspect: Promtail prints each stage's changes to stderr, keeping stdout for -dry-run.
    if (inspect) (*p)->SetInspector(stderr);
    pipelines.push_back(std::move(*p));
    jobs.push_back(std::move(job));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::Build(const config::Config& cfg,
                                                const config::Flags& flags,
                                                telemetry::AgentMetrics* metrics) {
  std::unique_ptr<Runtime> rt(new Runtime());
  State& s = *rt->s_;
  s.cfg = cfg;
  s.flags = flags;
  s.metrics = metrics;
  Status st = BuildJobs(s.cfg, flags.inspect, s.metrics, s.pipelines, s.jobs);
  if (!st.ok()) return Err(st);
  // Certificates are read here, before a reload stops the running config: an unusable one
  // refuses the reload rather than leaving the agent without a config that can start.
  // -check-syntax checks the text only (its certificates may live on another machine).
  if (!flags.check_syntax) {
    // An Alloy config's own blocks are named as written there; the TLS flags as Promtail's.
    const bool alloy = config::IsAlloyConfig(flags.config_format, flags.config_file);
    const bool flagged = flags.http_tls_cert_path || flags.http_tls_key_path ||
                         flags.http_tls_ca_path || flags.http_tls_client_auth;
    if (!s.cfg.server.disable) {
      auto tls =
          LoadServerTls(s.cfg.server, alloy && !flagged ? "http.tls" : "server.http_tls_config");
      if (!tls) return Err(tls.error());
      s.http_tls = std::move(*tls);
    }
    for (size_t i = 0; i < s.cfg.scrape_configs.size(); ++i) {
      const std::optional<config::PushApiConfig> push =
          config::PushServerOf(s.cfg.scrape_configs[i]);
      if (!push) continue;
      const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
      auto tls = LoadServerTls(push->server, alloy ? "http.tls_config" : "server.http_tls_config");
      if (!tls) {
        return Err(Status(tls.error().code(),
                          fmt::format("{}: {}", JobWhere(sc, i), tls.error().message())));
      }
      s.push_tls[i] = std::move(*tls);
    }
  }
  if (!flags.dry_run) {
    int64_t budgets = 0;
    for (const config::ClientConfig& cc : s.cfg.clients) {
      sink::ClientOptions opts;
      opts.max_buffered_bytes = ClientBudget(cc);
      budgets += opts.max_buffered_bytes;
      opts.max_line_size = s.cfg.limits_config.max_line_size;
      opts.max_line_size_truncate = s.cfg.limits_config.max_line_size_truncate;
      opts.max_streams = s.cfg.limits_config.max_streams;
      opts.max_label_value_length = s.cfg.limits_config.max_label_value_length;
      opts.clock = &SystemClock::Get();
      opts.http_client = io::NewCurlHttpClient;
      opts.on_room = [&s] {  // readers paused for the budget go on now, not at their next look
        std::lock_guard lock(s.room_mu);
        if (s.room_source != nullptr) s.room_source->Wake();
      };
      auto client = sink::LokiClient::Create(cc, opts, s.metrics);
      if (!client) return Err(client.error());
      s.clients.push_back(std::move(*client));
    }
    KeepBudgetsInTheHeap(budgets);
  }
  return rt;
}

Status Runtime::Start(std::function<Status()> reload_request, std::function<void()> wake) {
  State& s = *s_;
  s.wake = std::move(wake);
  // -dry-run never touches the positions file, not even to read it: every file is shown from
  // its start, which is what someone developing a pipeline wants to see again and again.
  // -stdin has no files, so no positions either.
  s.positions = s.flags.dry_run || s.flags.stdin_mode
                    ? std::make_unique<sources::Positions>(s.metrics)
                    : std::make_unique<sources::Positions>(s.cfg.positions.filename,
                                                           s.cfg.positions.ignore_invalid_yaml,
                                                           s.metrics, s.cfg.positions.import_files);
  if (!s.flags.dry_run && !s.flags.stdin_mode)
    WarnIfPositionsAreTemporary(s.cfg.positions.filename);
  if (s.flags.dry_run) {
    s.sink = std::make_unique<StdoutSink>();
  } else {
    std::vector<EntrySink*> sinks;
    for (auto& c : s.clients) {
      Status st = c->Start();
      if (!st.ok()) return st;
      sinks.push_back(c.get());
    }
    s.sink = std::make_unique<FanoutSink>(std::move(sinks));
  }
  for (const ScrapeJob& job : s.jobs) {
    const uint64_t routes = job.pipeline != nullptr ? job.pipeline->Routes() : ~uint64_t{0};
    if (routes == ~uint64_t{0}) {
      s.job_sinks.push_back(s.sink.get());
    } else {
      s.routed_sinks.push_back(std::make_unique<RoutedSink>(s.sink.get(), routes));
      s.job_sinks.push_back(s.routed_sinks.back().get());
    }
  }
  if (s.flags.stdin_mode) {
    StartStdin();
  } else if (Status st = StartFileSources(); !st.ok()) {
    return st;
  } else if (Status jst = StartJournals(); !jst.ok()) {
    return jst;
  } else if (Status kst = StartKubeEvents(); !kst.ok()) {
    return kst;
  } else if (Status pst = StartPushServers(); !pst.ok()) {
    return pst;
  } else if (Status sst = StartListeners(); !sst.ok()) {
    return sst;
  } else {
    StartDockers();
  }
  if (Status st = StartHttp(std::move(reload_request)); !st.ok()) return st;
  s.started = true;
  return Status::Ok();
}

void Runtime::StartStdin() {
  State& s = *s_;
  if (s.pipelines.empty()) {  // no scrape config: lines go out as they are
    s.pipelines.push_back(
        std::make_unique<pipeline::Pipeline>(std::vector<std::unique_ptr<pipeline::Stage>>{}));
  }
  Labels labels = StdinLabels(s.jobs.empty() ? std::vector<Labels>{} : s.jobs[0].static_targets);
  // pipelines[0] is jobs[0]'s when there is a job: it waits only for the clients it sends to.
  EntrySink* sink = s.job_sinks.empty() ? s.sink.get() : s.job_sinks[0];
  s.stdin_source = std::make_unique<StdinSource>(s.pipelines[0].get(), std::move(labels), sink,
                                                 &SystemClock::Get());
  s.stdin_source->Start();
}

Status Runtime::StartFileSources() {
  State& s = *s_;
  sources::FileSourceOptions fo;
  fo.limits = s.cfg.limits_config;
  fo.watch = s.cfg.file_watch_config;
  fo.rescan_period = s.cfg.target_config.sync_period;
  fo.symlink_roots = s.cfg.target_config.symlink_roots;
  fo.removed_target_linger = s.cfg.target_config.removed_target_linger;
  if (const uint64_t soft = OpenFileLimit().soft; soft > 0) {
    fo.max_open_files = OpenFilesBudget(soft);  // Main raised it to the hard limit
  }
  // Reading what only a deleted file's descriptor still holds comes before the push of it.
  fo.stop_drain = std::chrono::duration_cast<std::chrono::milliseconds>(
                      s.cfg.server.graceful_shutdown_timeout) /
                  2;
  fo.on_busy = [&s] {
    s.woken.store(true);
    if (s.wake) s.wake();
  };
  if (!s.flags.dry_run) {
    const std::string crash_file = s.cfg.positions.filename + ".crashes";
    s.crashes = sources::poison::CrashLog::Load(crash_file);
    sources::poison::InstallHandler(crash_file);
    fo.crashes = &s.crashes;
  }
  if (!s.flags.dry_run && s.cfg.positions.held_dir != "off") {
    fo.held_dir = s.cfg.positions.held_dir;
    if (fo.held_dir.empty()) {  // beside the positions file: one state directory
      const std::string& pf = s.cfg.positions.filename;
      const size_t slash = pf.rfind('/');
      fo.held_dir =
          (slash == std::string::npos ? std::string(".") : pf.substr(0, slash)) + "/.skidder-held";
    }
    fo.held_max_bytes = static_cast<uint64_t>(std::max<int64_t>(s.cfg.positions.held_max_bytes, 0));
  }
  for (size_t i = 0; i < s.jobs.size(); ++i) {  // before targets flow: jobs are read-only then
    s.file_handlers.push_back(
        std::make_unique<PipelineHandler>(s.jobs[i].pipeline, s.job_sinks[i]));
    s.jobs[i].file_handler = s.file_handlers.back().get();
  }
  s.source = std::make_unique<sources::FileSource>(fo, s.positions.get(), s.sink.get(), s.metrics,
                                                   &SystemClock::Get());
  s.targets = std::make_unique<TargetSet>(
      &s.jobs, [src = s.source.get()](auto targets) { src->SetTargets(std::move(targets)); });
  if (Status st = s.source->Start(); !st.ok()) return st;
  {
    std::lock_guard lock(s.room_mu);
    s.room_source = s.source.get();
  }
  const kubernetes::DiscoveryEnv env = kubernetes::DiscoveryEnv::FromProcess();
  // Before any discovery thread runs: jobs are read-only once targets flow.
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    s.jobs[i].fallback =
        MakePathFallback(s.cfg.scrape_configs[i], s.jobs[i].relabel, env.node_name);
  }
  // A kubernetes_sd_config and the jobs that read its targets (job, key).
  struct SharedSd {
    const config::KubernetesSdConfig* cfg;
    std::vector<std::pair<size_t, std::string>> readers;
    std::vector<kubernetes::MetaLabelFilter> keep;  // each reader's; an empty one keeps all
  };
  std::vector<SharedSd> shared;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    s.targets->Update(i, "static", s.jobs[i].static_targets);
    for (size_t f = 0; f < sc.file_sd_configs.size(); ++f) {
      auto d = std::make_unique<discovery::FileDiscovery>(
          sc.file_sd_configs[f], [this, i, key = fmt::format("file/{}", f)](auto found) {
            s_->targets->Update(i, key, std::move(found));
          });
      if (Status st = d->Start(); !st.ok()) {
        return Status(st.code(), fmt::format("{}: {}", JobWhere(sc, i), st.message()));
      }
      s.file_sds.push_back(std::move(d));
    }
    for (size_t k = 0; k < sc.kubernetes_sd_configs.size(); ++k) {
      const config::KubernetesSdConfig& sd = sc.kubernetes_sd_configs[k];
      auto same = std::ranges::find_if(shared, [&](const SharedSd& g) { return *g.cfg == sd; });
      if (same == shared.end()) same = shared.insert(shared.end(), SharedSd{&sd, {}, {}});
      same->readers.push_back({i, fmt::format("kubernetes/{}", k)});
      // Only the pod labels and annotations the jobs' rules can read are kept (a pod may carry
      // megabytes of annotations); TargetSet also reads the config hash of static pods.
      same->keep.push_back(kubernetes::ReadableMetaLabels(
          s.jobs[i].relabel, {"__meta_kubernetes_pod_annotation_kubernetes_io_config_hash"}));
    }
  }
  // Jobs with the same kubernetes_sd_config (the older loki-stack config has five pod jobs; an
  // Alloy discovery.kubernetes feeds each loki.source of its own) share one watch, as Prometheus'
  // discovery manager shares a provider among equal configs: one list and watch per node, not
  // one per job, on the API server.
  for (SharedSd& g : shared) {
    kubernetes::DiscoveryOptions dopts;
    dopts.env = env;
    dopts.metrics = s.metrics;
    if (std::ranges::none_of(g.keep, [](const auto& f) { return !f; })) {
      dopts.keep_meta = [keep = std::move(g.keep)](std::string_view name) {
        return std::ranges::any_of(keep, [&](const auto& f) { return f(name); });
      };
    }
    auto d = std::make_unique<kubernetes::PodDiscovery>(
        *g.cfg,
        [this, readers = g.readers](std::vector<Labels> found) {
          for (size_t r = 0; r + 1 < readers.size(); ++r) {
            s_->targets->Update(readers[r].first, readers[r].second, found);
          }
          s_->targets->Update(readers.back().first, readers.back().second, std::move(found));
        },
        dopts);
    if (Status st = d->Start(); !st.ok()) {
      const size_t i = g.readers.front().first;
      return Status(st.code(),
                    fmt::format("{}: {}", JobWhere(s.cfg.scrape_configs[i], i), st.message()));
    }
    s.discoveries.push_back(std::move(d));
  }
  return Status::Ok();
}

Status Runtime::StartJournals() {
  State& s = *s_;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    if (!sc.journal) continue;
    sources::journal::JournalSourceOptions jo;
    jo.job_name = sc.job_name;
    jo.config = *sc.journal;
    jo.relabel = s.jobs[i].relabel;
    jo.pipeline = s.jobs[i].pipeline;
    if (s.cfg.limits_config.max_line_size > 0) {
      // Cut just past the limit (a field is "NAME=value", a name at most 64 bytes), not at it:
      // the client then sees an over-long MESSAGE as such, and drops it or truncates it as
      // max_line_size_truncate says, as for any source (cut at the limit, it was sent cut).
      jo.max_field_bytes = static_cast<size_t>(s.cfg.limits_config.max_line_size) + 65;
      jo.cuts_counted_later = true;
    }
    auto j = std::make_unique<sources::journal::JournalSource>(
        std::move(jo), s.positions.get(), s.job_sinks[i], s.metrics, &SystemClock::Get());
    if (Status st = j->Start(); !st.ok()) {
      return Status(st.code(), fmt::format("{}: {}", JobWhere(sc, i), st.message()));
    }
    s.journals.push_back(std::move(j));
  }
  return Status::Ok();
}

Status Runtime::StartPushServers() {
  State& s = *s_;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    std::optional<config::PushApiConfig> push = config::PushServerOf(sc);
    if (!push) continue;
    sources::push::PushSourceOptions po;
    po.job_name = sc.job_name;
    po.config = std::move(*push);
    po.heroku = sc.heroku.has_value();
    if (!sc.origin.empty()) po.port_key = "listen_port in its http block";
    po.relabel = s.jobs[i].relabel;
    po.pipeline = s.jobs[i].pipeline;
    if (auto it = s.push_tls.find(i); it != s.push_tls.end()) po.tls = it->second;
    if (!po.tls && !po.config.server.http_tls_config.cert_file.empty()) {  // never plain instead
      return Internal(fmt::format("{}: its certificate was not loaded", JobWhere(sc, i)));
    }
    auto p = std::make_unique<sources::push::PushSource>(std::move(po), s.job_sinks[i], s.metrics,
                                                         &SystemClock::Get());
    if (auto port = p->Start(); !port) {
      return Status(port.error().code(), fmt::format("{}: {}{}", JobWhere(sc, i),
                                                     !sc.origin.empty() ? ""
                                                     : sc.heroku        ? "heroku_drain: "
                                                                        : "loki_push_api: ",
                                                     port.error().message()));
    }
    s.pushes.push_back(std::move(p));
  }
  return Status::Ok();
}

Status Runtime::StartKubeEvents() {
  State& s = *s_;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    if (!sc.kubernetes_events) continue;
    sources::kube_events::KubeEventsOptions o;
    o.job_name = sc.job_name;
    o.config = *sc.kubernetes_events;
    o.relabel = s.jobs[i].relabel;
    o.pipeline = s.jobs[i].pipeline;
    o.discovery.metrics = s.metrics;
    auto k = std::make_unique<sources::kube_events::KubeEventsSource>(
        std::move(o), s.positions.get(), s.job_sinks[i], s.metrics, &SystemClock::Get());
    if (Status st = k->Start(); !st.ok()) {
      return Status(st.code(), fmt::format("{}: {}", JobWhere(sc, i), st.message()));
    }
    s.kube_events.push_back(std::move(k));
  }
  return Status::Ok();
}

void Runtime::StartDockers() {
  State& s = *s_;
  // Docker positions name no daemon. The positions file keeps every Docker host a config
  // using it named (kDockerHostsKey); while that is one host, every Docker position is of its
  // containers (DockerSourceOptions::sole_daemon). A host that left the config keeps counting:
  // its containers' positions must not be taken for removed ones of the remaining host.
  std::set<std::string> hosts;
  for (const config::ScrapeConfig& sc : s.cfg.scrape_configs) {
    for (const config::DockerSdConfig& c : sc.docker_sd_configs) hosts.insert(c.host);
  }
  if (!hosts.empty()) {
    std::set<std::string> known = hosts;
    if (auto recorded = s.positions->GetCursor(kDockerHostsKey)) {
      std::string_view rest = *recorded;
      while (!rest.empty()) {
        const size_t nl = std::min(rest.find('\n'), rest.size());
        if (nl > 0) known.emplace(rest.substr(0, nl));
        rest.remove_prefix(std::min(nl + 1, rest.size()));
      }
    }
    s.positions->PutCursor(kDockerHostsKey, fmt::format("{}", fmt::join(known, "\n")));
    hosts = std::move(known);
  }
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    if (sc.docker_sd_configs.empty()) continue;
    sources::docker::DockerSourceOptions o;
    o.job_name = sc.job_name;
    o.configs = sc.docker_sd_configs;
    o.sole_daemon = hosts.size() == 1;
    o.relabel = s.jobs[i].relabel;
    o.pipeline = s.jobs[i].pipeline;
    if (s.cfg.limits_config.max_line_size > 0) {
      o.max_line = static_cast<size_t>(s.cfg.limits_config.max_line_size);
    }
    auto d = std::make_unique<sources::docker::DockerSource>(
        std::move(o), s.positions.get(), s.job_sinks[i], s.metrics, &SystemClock::Get());
    d->Start();  // an unreachable daemon is retried every refresh_interval, as in Promtail
    s.dockers.push_back(std::move(d));
  }
}

// The UDP and TCP receivers: syslog and GELF jobs.
Status Runtime::StartListeners() {
  State& s = *s_;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const config::ScrapeConfig& sc = s.cfg.scrape_configs[i];
    Status st;
    if (sc.syslog) {
      sources::syslog::SyslogSourceOptions so;
      so.job_name = sc.job_name;
      so.config = *sc.syslog;
      so.relabel = s.jobs[i].relabel;
      so.pipeline = s.jobs[i].pipeline;
      auto src = std::make_unique<sources::syslog::SyslogSource>(std::move(so), s.job_sinks[i],
                                                                 s.metrics, &SystemClock::Get());
      st = src->Start();
      s.syslogs.push_back(std::move(src));
    } else if (sc.gelf) {
      sources::gelf::GelfSourceOptions go;
      go.job_name = sc.job_name;
      go.config = *sc.gelf;
      go.relabel = s.jobs[i].relabel;
      go.pipeline = s.jobs[i].pipeline;
      auto src = std::make_unique<sources::gelf::GelfSource>(std::move(go), s.job_sinks[i],
                                                             s.metrics, &SystemClock::Get());
      st = src->Start();
      s.gelfs.push_back(std::move(src));
    }
    if (!st.ok()) {
      return Status(st.code(), fmt::format("{}: {}", JobWhere(sc, i), st.message()));
    }
  }
  return Status::Ok();
}

Status Runtime::StartHttp(std::function<Status()> reload_request) {
  State& s = *s_;
  if (!s.cfg.server.disable) {
    telemetry::HttpServerOptions ho;
    ho.listen_address = s.cfg.server.http_listen_address;
    ho.port = s.cfg.server.http_listen_port;
    // An Alloy config has no key for it: Alloy takes the address from a flag too.
    ho.port_key = config::IsAlloyConfig(s.flags.config_format, s.flags.config_file)
                      ? "-server.http-listen-port"
                      : "server.http_listen_port or -server.http-listen-port";
    ho.path_prefix = s.cfg.server.http_path_prefix;
    ho.enable_reload = s.cfg.server.enable_runtime_reload;
    ho.max_connections = s.cfg.server.http_listen_conn_limit;
    ho.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        s.cfg.server.http_server_read_timeout);
    ho.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        s.cfg.server.http_server_idle_timeout);
    ho.tls = s.http_tls;
    if (!ho.tls && !s.cfg.server.http_tls_config.cert_file.empty()) {  // never plain instead
      return Internal("server.http_tls_config: the certificate was not loaded");
    }
    telemetry::HttpHandlers handlers;
    handlers.not_ready_reason = [this]() -> std::string {
      if (s_->cfg.server.health_check_target && s_->targets && s_->targets->Size() == 0 &&
          s_->journals.empty() && s_->pushes.empty() && s_->syslogs.empty() && s_->gelfs.empty() &&
          s_->dockers.empty() && s_->kube_events.empty()) {
        return "no targets yet";
      }
      return "";
    };
    handlers.targets = [this] {
      std::string out = s_->targets ? s_->targets->Describe() : "stdin\n";
      for (const auto& d : s_->dockers) out += d->Describe();
      return out;
    };
    handlers.reload = std::move(reload_request);
    s.http = std::make_unique<telemetry::HttpServer>(ho, &s.metrics->registry, handlers);
    auto port = s.http->Start();
    if (!port) return port.error();
    LOG_INFO("serving metrics", {{"port", std::to_string(*port)},
                                 {"scheme", ho.tls ? "https" : "http"},
                                 {"max_connections", std::to_string(s.http->max_connections())}});
  }
  return Status::Ok();
}

std::chrono::milliseconds Runtime::Tick() {
  State& s = *s_;
  auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration wait = kMaxTickGap;
  // Files of pods discovery has not reported yet (see targets.h); a readdir or two.
  if (s.targets && s.targets->ScansPodLogs()) {
    if (now - s.last_pod_scan >= kPodScanPeriod) {
      s.last_pod_scan = now;
      s.targets->ScanPodLogs();
    }
    wait = std::min(wait, s.last_pod_scan + kPodScanPeriod - now);
  }
  if (!s.source || s.flags.dry_run) return Ms(wait);
  if (s.woken.exchange(false)) s.settled = false;  // read again: back to kMaxSaveGap
  // While anything is in flight, positions are saved soon after acknowledgements (Save writes
  // only when something changed), so that a crash re-sends little more than the batch in
  // flight: sync_period (Promtail's 10s default) would re-send everything acknowledged since
  // the last save. With nothing in flight the source changes nothing until it reads again, and
  // sync_period (the promise: a change is saved within it) is all an idle agent waits for.
  // (The main loop never ticked faster than kMaxSaveGap: a shorter sync_period saves at that.)
  // The busy interval grows with the positions file (PositionsSaveGap): at 10,000 files the
  // file is ~2 MB, and writing it 4 times a second during a backlog was ~3 % of the agent's CPU
  // (and 8 MB/s of disk writes); a crash then re-sends up to 2 s of acknowledged lines.
  const config::Duration busy_period = PositionsSaveGap(s.positions->saved_bytes());
  const config::Duration idle_period =
      std::max<config::Duration>(s.cfg.positions.sync_period, busy_period);
  auto period = [&]() -> config::Duration { return s.settled ? idle_period : busy_period; };
  if (now - s.last_save < period()) return Ms(std::min(wait, s.last_save + period() - now));
  s.last_save = now;
  s.settled =
      s.source->SyncPositions() && s.journals.empty() && s.dockers.empty() && s.kube_events.empty();
  for (auto& j : s.journals) j->SyncPositions();
  for (auto& k : s.kube_events) k->SyncPositions();
  for (auto& d : s.dockers) d->SyncPositions();
  // Files' last seen sizes alone (every read of a growing file changes one) are written at the
  // idle period: what a restart resumes from is written at the busy one.
  const bool sizes_due = now - s.last_sizes_save >= idle_period;
  if (sizes_due) s.last_sizes_save = now;
  Status st = s.positions->Save(sizes_due ? sources::Positions::SaveWhen::kAnyChange
                                          : sources::Positions::SaveWhen::kResumeChange);
  if (!st.ok() && (st.message() != s.last_save_error || now - s.last_save_log >= kErrorLogGap)) {
    LOG_ERROR("cannot save positions, keeping them in memory",
              {{"error", st.message()},
               {"fix",
                "positions.filename must be in a directory the agent may write (the packaged "
                "systemd unit allows /var/lib/skidder only; copy a Promtail positions.yaml "
                "there to import it)"}});
    s.last_save_log = now;
  }
  s.last_save_error = st.ok() ? "" : st.message();
  if (!st.ok()) s.settled = false;  // try again soon
  return Ms(std::min<std::chrono::steady_clock::duration>(wait, period()));
}

bool Runtime::Shutdown() {
  State& s = *s_;
  if (!s.started) return true;
  s.started = false;
  // server.graceful_shutdown_timeout (10s unless set): Promtail's shutdown grace, for the whole
  // shutdown (the file source may use half of it to read deleted files to the end).
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::milliseconds>(s.cfg.server.graceful_shutdown_timeout);
  for (auto& d : s.discoveries) d->Stop();
  for (auto& d : s.file_sds) d->Stop();
  if (s.stdin_source) s.stdin_source->Stop();
  if (s.source) s.source->Stop();
  for (auto& j : s.journals) j->Stop();
  for (auto& k : s.kube_events) k->Stop();
  for (auto& d : s.dockers) d->Stop();
  for (auto& l : s.syslogs) l->Stop();
  for (auto& g : s.gelfs) g->Stop();
  // Pushes waiting for Loki may still get their 204 while the clients flush; new ones get 503.
  for (auto& p : s.pushes) p->Drain();
  bool clean = true;
  for (auto& c : s.clients) c->BeginStop();  // all flush at once, within the one deadline
  for (auto& c : s.clients) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!c->Stop(std::max(left, std::chrono::milliseconds(0)))) clean = false;
  }
  // Pushes still waiting are answered 503: their senders keep the entries and retry.
  for (auto& p : s.pushes) p->Stop();
  // /ready and /metrics are served until here: a reload while Loki is down waits out the
  // clients' flush (up to graceful_shutdown_timeout), and readiness probes and scrapes during it
  // failed when the server stopped first. The new config's server starts right after.
  if (s.http) s.http->Stop();
  if (s.source && !s.flags.dry_run) {
    s.source->SyncPositions();
    for (auto& j : s.journals) j->SyncPositions();
    for (auto& k : s.kube_events) k->SyncPositions();
    for (auto& d : s.dockers) d->SyncPositions();
    if (Status st = s.positions->Save(); !st.ok()) {
      LOG_ERROR("cannot save positions at shutdown", {{"error", st.message()}});
      clean = false;
    }
  }
  if (!clean && s.stdin_source) {
    LOG_ERROR("standard input could not be delivered in full; it cannot be read again");
  } else if (!clean) {
    LOG_WARN("exited with unacknowledged entries; they will be re-read on next start");
  }
  return clean;
}

}  // namespace skidder::app
