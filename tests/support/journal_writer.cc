#include "support/journal_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace skidder::testing {
namespace {

constexpr const char* kJournalRemote = "/lib/systemd/systemd-journal-remote";
constexpr const char* kBootId = "6c7c6013a8314f68b8d4e7e5e4e5e0f5";
constexpr uint64_t kBootUs = 1'600'000'000'000'000;  // when that boot happened

bool NeedsBinary(const std::string& v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7f) return true;
  }
  return false;
}

}  // namespace

uint64_t NowUs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string ExportFormat(const std::vector<JournalEntry>& entries) {
  std::string out;
  for (const JournalEntry& e : entries) {
    // One boot: the monotonic clock must agree with the realtime one across files, since
    // sd-journal orders entries of different files (sequences) of one boot by it.
    const uint64_t mono = e.realtime_us > kBootUs ? e.realtime_us - kBootUs : 1;
    out += "__REALTIME_TIMESTAMP=" + std::to_string(e.realtime_us) + "\n";
    out += "__MONOTONIC_TIMESTAMP=" + std::to_string(mono) + "\n";
    out += std::string("_BOOT_ID=") + kBootId + "\n";
    for (const auto& [name, value] : e.fields) {
      if (!NeedsBinary(value)) {
        out += name + "=" + value + "\n";
        continue;
      }
      out += name + "\n";
      uint64_t n = value.size();
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
      out += value + "\n";
    }
    out += "\n";
  }
  return out;
}

void WriteJournal(const std::string& file, const std::vector<JournalEntry>& entries) {
  std::string cmd = std::string(kJournalRemote) + " -o '" + file + "' - 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "w");
  ASSERT_NE(p, nullptr) << "cannot run " << kJournalRemote;
  std::string data = ExportFormat(entries);
  size_t written = std::fwrite(data.data(), 1, data.size(), p);
  int rc = ::pclose(p);
  ASSERT_EQ(written, data.size());
  ASSERT_EQ(rc, 0) << kJournalRemote << " failed (apt-get install systemd-journal-remote)";
}

}  // namespace skidder::testing
