#include "kubelet_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "support/test_util.h"

namespace skidder::testing {
namespace {

constexpr size_t kCriMaxRecord = 16 * 1024;  // containerd's max_container_log_line_size

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) throw std::runtime_error(fmt::format("write: errno {}", errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// 2026-12-01T10:00:00Z plus one millisecond per line: increasing, and the same on every run.
std::string CriTimestamp(int64_t seq) {
  int64_t s = seq / 1000;
  return fmt::format("2026-12-01T{:02}:{:02}:{:02}.{:03}000000Z", 10 + s / 3600, s / 60 % 60,
                     s % 60, seq % 1000);
}

// The kubelet's rotated-file suffix (Go layout 20060102-150405), one second per rotation.
std::string Stamp(int n) {
  return fmt::format("20261201-{:02}{:02}{:02}", 10 + n / 3600, n / 60 % 60, n % 60);
}

}  // namespace

KubeletWriter::KubeletWriter(std::string root, KubeletWriterOptions options)
    : root_(std::move(root)), options_(options), rng_(options.seed) {
  containers_.resize(static_cast<size_t>(options_.containers));
  for (int i = 0; i < options_.containers; ++i) {
    Container& c = containers_[static_cast<size_t>(i)];
    c.dir = fmt::format("{}/ns{}_pod{}-7d9f5_0b48a727-0000-4000-8000-{:012}/app", root_, i, i, i);
    MakeDirs(c.dir);
    OpenLive(c);
  }
}

KubeletWriter::~KubeletWriter() {
  for (Container& c : containers_) ::close(c.fd);
}

std::optional<int64_t> KubeletWriter::SequenceOf(std::string_view line) {
  int64_t seq = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), seq);
  if (ec != std::errc() || end == line.data() || end == line.data() + line.size() || *end != ' ') {
    return std::nullopt;
  }
  return seq;
}

void KubeletWriter::WriteLine() {
  Container& c = containers_[rng_() % containers_.size()];
  WriteTo(c);
  if (c.size > options_.max_size) Rotate(c);
}

std::string KubeletWriter::Message(int64_t seq) {
  size_t length = 20 + rng_() % 280;
  if (static_cast<int>(rng_() % 1000) < options_.long_per_mille) {
    length = 2 * kCriMaxRecord + 1 + rng_() % 8000;  // two P records and an F record
  }
  std::string m = fmt::format("{:08} ", seq);
  char fill = static_cast<char>('a' + seq % 26);
  m.resize(std::max(length, m.size() + 1), fill);
  return m;
}

void KubeletWriter::WriteTo(Container& c) {
  const int64_t seq = written_.load();
  const std::string message = Message(seq);
  const std::string head = CriTimestamp(seq) + (rng_() % 4 == 0 ? " stderr " : " stdout ");
  std::string_view rest = message;
  while (rest.size() > kCriMaxRecord) {  // one write per record, as the runtime writes them
    std::string record = head + "P " + std::string(rest.substr(0, kCriMaxRecord)) + "\n";
    WriteAll(c.fd, record);
    c.size += record.size();
    rest.remove_prefix(kCriMaxRecord);
  }
  std::string record = head + "F " + std::string(rest) + "\n";
  WriteAll(c.fd, record);
  c.size += record.size();
  lines_.push_back({c.file, static_cast<uint32_t>(message.size()), Clock::now()});
  written_.store(seq + 1);
}

void KubeletWriter::OpenLive(Container& c) {
  std::string path = c.dir + "/0.log";
  c.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (c.fd < 0) throw std::runtime_error(fmt::format("open {}: errno {}", path, errno));
  c.file = static_cast<int>(files_.size());
  c.size = 0;
  files_.push_back({path, std::nullopt});
}

// The kubelet's rotateLog: remove excess rotated files (oldest first), compress the rest, then
// rename the live file; the runtime writes on until it reopens.
void KubeletWriter::Rotate(Container& c) {
  const size_t keep = static_cast<size_t>(std::max(options_.max_files - 2, 0));
  while (c.rotated.size() > keep) {
    Rotated& old = c.rotated.front();
    std::string path = old.compressed ? old.name + ".gz" : old.name;
    if (::unlink(path.c_str()) != 0) throw std::runtime_error("unlink " + path);
    files_[static_cast<size_t>(old.file)].deleted = Clock::now();
    c.rotated.pop_front();
  }
  for (Rotated& r : c.rotated) {
    if (!r.compressed) Compress(r);
  }
  Rotated r{c.dir + "/0.log." + Stamp(c.stamps++), false, c.file};
  if (::rename((c.dir + "/0.log").c_str(), r.name.c_str()) != 0) {
    throw std::runtime_error("rename to " + r.name);
  }
  files_[static_cast<size_t>(c.file)].path = r.name;
  c.rotated.push_back(r);
  for (int i = 0; i < options_.lines_after_rename; ++i) WriteTo(c);
  ::close(c.fd);
  OpenLive(c);
  ++rotations_;
}

// The kubelet's compressLog: gzip into <name>.tmp, rename it to <name>.gz, remove <name>.
void KubeletWriter::Compress(Rotated& r) {
  const std::string content = ReadFile(r.name);
  const std::string tmp = r.name + ".tmp";
  gzFile gz = gzopen(tmp.c_str(), "wb");
  if (gz == nullptr) throw std::runtime_error("gzopen " + tmp);
  if (!content.empty() && gzwrite(gz, content.data(), static_cast<unsigned>(content.size())) <= 0) {
    throw std::runtime_error("gzwrite " + tmp);
  }
  if (gzclose(gz) != Z_OK) throw std::runtime_error("gzclose " + tmp);
  if (::rename(tmp.c_str(), (r.name + ".gz").c_str()) != 0) throw std::runtime_error("rename");
  if (::unlink(r.name.c_str()) != 0) throw std::runtime_error("unlink " + r.name);
  files_[static_cast<size_t>(r.file)].path = r.name + ".gz";
  r.compressed = true;
}

}  // namespace skidder::testing
