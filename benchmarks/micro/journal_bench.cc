// Reading the systemd journal: entries per CPU-second through sd-journal and the entry builder
// (meta labels, the chart's relabel rules, MESSAGE as the line), on a 1M-entry journal of
// realistic records made once with systemd-journal-remote. The sink and Loki are not included.
// The baseline in the same run is bare sd-journal: every field of every entry, its time and its
// cursor, the least any sd-journal reader does; the README gives skidder as a ratio to it.
// SKIDDER_JOURNAL_BENCH_ENTRIES=N changes the journal's size.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "kubernetes/relabel.h"
#include "sources/journal/entry_builder.h"
#include "sources/journal/reader.h"

namespace {

using skidder::sources::journal::EntryBuilder;
using skidder::sources::journal::JournalReader;
using skidder::sources::journal::JournalRecord;

int Entries() {
  const char* n = std::getenv("SKIDDER_JOURNAL_BENCH_ENTRIES");
  return n != nullptr ? std::atoi(n) : 1'000'000;
}

// A temp directory holding the journal (about 500 MB for 1M entries), made on first use and
// removed at exit.
struct TempJournal {
  std::string dir;
  ~TempJournal() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

const std::string& JournalDir() {
  static const TempJournal journal{[] {
    char tmpl[] = "/tmp/skidder-journal-bench-XXXXXX";
    std::string d = ::mkdtemp(tmpl);
    FILE* p = ::popen(
        fmt::format("/lib/systemd/systemd-journal-remote -o {}/bench.journal - 2>/dev/null", d)
            .c_str(),
        "w");
    const char* units[] = {"kubelet.service", "containerd.service", "sshd.service", "kernel"};
    const uint64_t start_us = 1'750'000'000'000'000;
    for (int i = 0, n = Entries(); i < n; ++i) {
      std::string e = fmt::format(
          "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n"
          "_BOOT_ID=6c7c6013a8314f68b8d4e7e5e4e5e0f5\n_MACHINE_ID="
          "0f5c3a1b2d4e4f6a8b9c0d1e2f3a4b5c\n"
          "_HOSTNAME=node-1\n_TRANSPORT=stdout\nPRIORITY={}\nSYSLOG_FACILITY=3\n"
          "SYSLOG_IDENTIFIER=kubelet\n_PID=1234\n_UID=0\n_GID=0\n_COMM=kubelet\n"
          "_EXE=/usr/bin/kubelet\n_CMDLINE=/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml\n"
          "_SYSTEMD_UNIT={}\n_SYSTEMD_SLICE=system.slice\n"
          "MESSAGE=I1124 10:40:12.542{:06d} 1234 kubelet.go:2454] \"SyncLoop (PLEG): event for "
          "pod\" pod=\"default/web-7d9f8b6c5-x2x4z\" event=ContainerStarted\n\n",
          start_us + i, 1'000'000 + i, 3 + i % 5, units[i % 4], i);
      std::fwrite(e.data(), 1, e.size(), p);
    }
    if (::pclose(p) != 0) std::abort();  // systemd-journal-remote is missing
    return d;
  }()};
  return journal.dir;
}

skidder::kubernetes::RelabelRules ChartRules() {
  std::vector<skidder::config::RelabelConfig> cfgs(2);
  cfgs[0].source_labels = {"__journal__systemd_unit"};
  cfgs[0].target_label = "unit";
  cfgs[1].source_labels = {"__journal_priority_keyword"};
  cfgs[1].target_label = "level";
  return *skidder::kubernetes::CompileRelabel(cfgs);
}

void BM_JournalReadEntries(benchmark::State& state) {
  const std::string& dir = JournalDir();
  skidder::config::JournalConfig cfg;
  cfg.labels.Set("job", "systemd-journal");
  cfg.json = state.range(0) != 0;
  const auto rules = ChartRules();
  int64_t entries = 0, bytes = 0;
  for (auto _ : state) {
    auto reader = JournalReader::Open(dir, 4 << 20);
    if (!reader || !(*reader)->SeekHead().ok()) std::abort();
    EntryBuilder builder(cfg, rules);
    JournalRecord rec;
    skidder::Entry e;
    while ((*reader)->Next().value_or(false)) {
      if (!(*reader)->Read(&rec).ok()) std::abort();
      builder.Build(rec, &e);
      bytes += static_cast<int64_t>(rec.bytes);
      ++entries;
    }
  }
  state.SetItemsProcessed(entries);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_JournalReadEntries)->Arg(0)->Arg(1)->ArgNames({"json"})->Unit(benchmark::kMillisecond);

// The baseline: libsystemd alone walks the same journal, reading each entry's time, cursor and
// every field (summed so the reads cannot be optimised away), and builds nothing.
void BM_SdJournalBaseline(benchmark::State& state) {
  const std::string& dir = JournalDir();
  int64_t entries = 0, bytes = 0;
  for (auto _ : state) {
    sd_journal* j = nullptr;
    if (sd_journal_open_directory(&j, dir.c_str(), 0) < 0) std::abort();
    sd_journal_set_data_threshold(j, 0);
    uint64_t sum = 0;
    while (sd_journal_next(j) > 0) {
      uint64_t t = 0;
      char* cursor = nullptr;
      if (sd_journal_get_realtime_usec(j, &t) < 0 || sd_journal_get_cursor(j, &cursor) < 0) {
        std::abort();
      }
      sum += t + static_cast<unsigned char>(cursor[0]);
      std::free(cursor);
      const void* data = nullptr;
      size_t len = 0;
      SD_JOURNAL_FOREACH_DATA(j, data, len) {
        sum += static_cast<const unsigned char*>(data)[len - 1];
        bytes += static_cast<int64_t>(len);
      }
      ++entries;
    }
    benchmark::DoNotOptimize(sum);
    sd_journal_close(j);
  }
  state.SetItemsProcessed(entries);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_SdJournalBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
