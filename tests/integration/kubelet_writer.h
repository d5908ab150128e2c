// KubeletWriter: what a node does to container log files, for chaos tests of the real binary.
//
// Containers under a /var/log/pods-like tree (<ns>_<pod>_<uid>/<container>/0.log) write CRI
// records as containerd does: one write() per record, lines over 16 KiB split into P records
// and a closing F record. Every line carries a unique sequence number, so a test can tell which
// lines arrived, how often, and which file held them. Each 0.log is rotated as the kubelet's
// container log manager rotates it (pkg/kubelet/logs): delete the oldest rotated files beyond
// max_files - 2, gzip every uncompressed rotated file (into <name>.tmp, renamed to <name>.gz,
// then the original is removed), rename 0.log to 0.log.<YYYYMMDD-hhmmss>, and the runtime
// writes a few more records into the renamed file before it reopens a new 0.log.
//
// Rotation happens between complete lines (never between a P and its F) when 0.log has grown
// past max_size, so a seed gives the same files and names on every run, whatever the timing.
// Not thread-safe except written(): one thread writes, others may watch the count.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace skidder::testing {

struct KubeletWriterOptions {
  int containers = 6;
  size_t max_size = 256 * 1024;  // containerLogMaxSize: 0.log is rotated once larger
  int max_files = 5;             // containerLogMaxFiles: 0.log plus max_files - 1 rotated
  int long_per_mille = 10;       // lines over 16 KiB, written as P records and an F record
  int lines_after_rename = 3;    // records the runtime writes before it reopens 0.log
  uint32_t seed = 1;
};

class KubeletWriter {
 public:
  using Clock = std::chrono::steady_clock;

  // One generation of a container's 0.log: created as 0.log, later renamed, compressed and
  // deleted. `deleted` is when its last copy (the file or its .gz) was removed.
  struct File {
    std::string path;  // where it lives now (0.log, 0.log.<stamp> or 0.log.<stamp>.gz)
    std::optional<Clock::time_point> deleted;
  };
  struct Line {
    int file;                   // index into files()
    uint32_t bytes;             // length of the message (the line Loki should get)
    Clock::time_point written;  // when its last record was written
  };

  KubeletWriter(std::string root, KubeletWriterOptions options);
  ~KubeletWriter();
  KubeletWriter(const KubeletWriter&) = delete;
  KubeletWriter& operator=(const KubeletWriter&) = delete;

  // Writes the next line to a container picked at random, then rotates that container's 0.log
  // if it grew past max_size.
  void WriteLine();
  // Lines written so far; any thread.
  int64_t written() const { return written_.load(); }

  const std::vector<Line>& lines() const { return lines_; }
  const std::vector<File>& files() const { return files_; }
  int rotations() const { return rotations_; }
  // The sequence number at the start of a delivered line; nullopt when it has none.
  static std::optional<int64_t> SequenceOf(std::string_view line);

 private:
  struct Rotated {
    std::string name;  // 0.log.<stamp>, without .gz
    bool compressed = false;
    int file = 0;
  };
  struct Container {
    std::string dir;
    int fd = -1;
    int file = 0;  // generation now written as 0.log
    size_t size = 0;
    int stamps = 0;               // rotations so far, the seconds of the next stamp
    std::deque<Rotated> rotated;  // oldest first
  };

  void WriteTo(Container& c);
  std::string Message(int64_t seq);
  void Rotate(Container& c);
  void OpenLive(Container& c);
  void Compress(Rotated& r);

  std::string root_;
  KubeletWriterOptions options_;
  std::mt19937 rng_;
  std::vector<Container> containers_;
  std::vector<File> files_;
  std::vector<Line> lines_;
  std::atomic<int64_t> written_{0};
  int rotations_ = 0;
};

}  // namespace skidder::testing
