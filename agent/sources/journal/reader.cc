#include "sources/journal/reader.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace skidder::sources::journal {
namespace {

std::string Why(int r) { return std::strerror(r < 0 ? -r : r); }

bool ParseHex(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

// libsystemd is loaded when the first journal is opened, not at start-up: linked, it and the
// libraries it needs (libgcrypt, libgpg-error, liblzma, liblz4, libcap) cost every agent about
// 0.7 MB of mapped pages although most configurations read no journal (benchmarks/README.md,
// "Memory"). systemd documents dlopen as the way to use it optionally.
struct SdApi {
  decltype(&sd_journal_add_disjunction) add_disjunction = nullptr;
  decltype(&sd_journal_add_match) add_match = nullptr;
  decltype(&sd_journal_close) close = nullptr;
  decltype(&sd_journal_enumerate_available_data) enumerate_available_data = nullptr;
  decltype(&sd_journal_get_cursor) get_cursor = nullptr;
  decltype(&sd_journal_get_realtime_usec) get_realtime_usec = nullptr;
  decltype(&sd_journal_next) next = nullptr;
  decltype(&sd_journal_open) open = nullptr;
  decltype(&sd_journal_open_directory) open_directory = nullptr;
  decltype(&sd_journal_restart_data) restart_data = nullptr;
  decltype(&sd_journal_seek_cursor) seek_cursor = nullptr;
  decltype(&sd_journal_seek_head) seek_head = nullptr;
  decltype(&sd_journal_seek_realtime_usec) seek_realtime_usec = nullptr;
  decltype(&sd_journal_set_data_threshold) set_data_threshold = nullptr;
  decltype(&sd_journal_test_cursor) test_cursor = nullptr;
  decltype(&sd_journal_wait) wait = nullptr;
};

template <typename F>
bool Load(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

struct Loaded {
  const SdApi* api = nullptr;  // null when libsystemd.so.0 or one of its symbols is missing
  std::string error;
};

// Loaded once, on first use, and never unloaded.
const Loaded& LoadSd() {
  static const Loaded loaded = [] {
    static SdApi api;
    Loaded out;
    void* h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    bool ok = h != nullptr;
    ok = ok && Load(h, "sd_journal_add_disjunction", &api.add_disjunction);
    ok = ok && Load(h, "sd_journal_add_match", &api.add_match);
    ok = ok && Load(h, "sd_journal_close", &api.close);
    // systemd 246 and later; before it (RHEL 8's 239, Ubuntu 20.04's 245) the call that fails
    // on a field it cannot read, where this one skips the field: that record is then lost.
    ok = ok && (Load(h, "sd_journal_enumerate_available_data", &api.enumerate_available_data) ||
                Load(h, "sd_journal_enumerate_data", &api.enumerate_available_data));
    ok = ok && Load(h, "sd_journal_get_cursor", &api.get_cursor);
    ok = ok && Load(h, "sd_journal_get_realtime_usec", &api.get_realtime_usec);
    ok = ok && Load(h, "sd_journal_next", &api.next);
    ok = ok && Load(h, "sd_journal_open", &api.open);
    ok = ok && Load(h, "sd_journal_open_directory", &api.open_directory);
    ok = ok && Load(h, "sd_journal_restart_data", &api.restart_data);
    ok = ok && Load(h, "sd_journal_seek_cursor", &api.seek_cursor);
    ok = ok && Load(h, "sd_journal_seek_head", &api.seek_head);
    ok = ok && Load(h, "sd_journal_seek_realtime_usec", &api.seek_realtime_usec);
    ok = ok && Load(h, "sd_journal_set_data_threshold", &api.set_data_threshold);
    ok = ok && Load(h, "sd_journal_test_cursor", &api.test_cursor);
    ok = ok && Load(h, "sd_journal_wait", &api.wait);
    if (ok) {
      out.api = &api;
    } else {
      const char* why = dlerror();
      out.error = why != nullptr ? why : "libsystemd.so.0";
    }
    return out;
  }();
  return loaded;
}

// Only called on a reader that Open() created, which needs the API loaded.
const SdApi& Sd() { return *LoadSd().api; }

}  // namespace

CursorPosition ParseCursor(std::string_view cursor) {
  CursorPosition pos;
  bool have_s = false, have_i = false;
  while (!cursor.empty()) {
    size_t semi = cursor.find(';');
    std::string_view item = cursor.substr(0, semi);
    cursor = semi == std::string_view::npos ? std::string_view() : cursor.substr(semi + 1);
    if (item.size() < 2 || item[1] != '=') continue;
    std::string_view v = item.substr(2);
    if (item[0] == 's') {
      pos.seqnum_id.assign(v);
      have_s = !v.empty();
    } else if (item[0] == 'i') {
      have_i = ParseHex(v, &pos.seqnum);
    } else if (item[0] == 't') {
      ParseHex(v, &pos.realtime_us);
    }
  }
  pos.valid = have_s && have_i;
  return pos;
}

int64_t EntriesBetween(const CursorPosition& saved, const CursorPosition& next) {
  if (!saved.valid || !next.valid || saved.seqnum_id != next.seqnum_id) return -1;
  if (next.seqnum <= saved.seqnum) return -1;
  return static_cast<int64_t>(next.seqnum - saved.seqnum - 1);
}

Result<std::unique_ptr<JournalReader>> JournalReader::Open(const std::string& path,
                                                           size_t max_field_bytes,
                                                           const std::string& every_machine_root) {
  if (LoadSd().api == nullptr) {
    return Err(Unavailable("open journal: cannot load libsystemd: " + LoadSd().error));
  }
  sd_journal* j = nullptr;
  int r = !path.empty() ? Sd().open_directory(&j, path.c_str(), 0)
          : !every_machine_root.empty()
              ? Sd().open_directory(&j, every_machine_root.c_str(), SD_JOURNAL_OS_ROOT)
              : Sd().open(&j, SD_JOURNAL_LOCAL_ONLY);
  if (r < 0) {
    const std::string what = !path.empty()                 ? path
                             : !every_machine_root.empty() ? every_machine_root + " (every machine)"
                                                           : "(local)";
    return Err(Unavailable(fmt::format("open journal {}: {}", what, Why(r))));
  }
  // The default threshold cuts compressed fields at 64 KiB, where a log line must arrive whole;
  // ours is the cap Read() applies to every field (libsystemd returns uncompressed fields
  // whole, whatever the threshold).
  Sd().set_data_threshold(j, max_field_bytes);
  return std::unique_ptr<JournalReader>(new JournalReader(j, max_field_bytes));
}

JournalReader::~JournalReader() { Sd().close(j_); }

Status JournalReader::AddMatches(std::string_view matches) {
  while (!matches.empty()) {
    size_t sp = matches.find(' ');
    std::string_view m = matches.substr(0, sp);
    matches = sp == std::string_view::npos ? std::string_view() : matches.substr(sp + 1);
    if (m.empty()) continue;
    int r = m == "+" ? Sd().add_disjunction(j_) : Sd().add_match(j_, m.data(), m.size());
    if (r < 0) return InvalidArgument(fmt::format("journal match {}: {}", m, Why(r)));
  }
  return Status::Ok();
}

Status JournalReader::SeekHead() {
  int r = Sd().seek_head(j_);
  return r < 0 ? Unavailable("seek journal head: " + Why(r)) : Status::Ok();
}

Status JournalReader::SeekRealtime(uint64_t usec) {
  int r = Sd().seek_realtime_usec(j_, usec);
  return r < 0 ? Unavailable("seek journal time: " + Why(r)) : Status::Ok();
}

Status JournalReader::SeekCursor(const std::string& cursor) {
  int r = Sd().seek_cursor(j_, cursor.c_str());
  return r < 0 ? InvalidArgument("seek journal cursor: " + Why(r)) : Status::Ok();
}

bool JournalReader::AtCursor(const std::string& cursor) {
  return Sd().test_cursor(j_, cursor.c_str()) > 0;
}

Result<bool> JournalReader::Next() {
  int r = Sd().next(j_);
  if (r < 0) return Err(Unavailable("read journal: " + Why(r)));
  return r > 0;
}

Status JournalReader::Read(JournalRecord* out) {
  int r = Sd().get_realtime_usec(j_, &out->realtime_us);
  if (r < 0) return DataLoss("journal entry without time: " + Why(r));
  char* cursor = nullptr;
  r = Sd().get_cursor(j_, &cursor);
  if (r < 0) return DataLoss("journal entry without cursor: " + Why(r));
  out->cursor.assign(cursor);
  std::free(cursor);
  // Copy first, make views after: the buffer may move while it grows.
  out->data.clear();
  out->bytes = 0;
  out->cut_fields = 0;
  std::vector<std::pair<size_t, size_t>> spans;  // (start, size) of each NAME=value
  const void* data = nullptr;
  size_t size = 0;
  Sd().restart_data(j_);
  // enumerate_available_data skips fields it cannot read (corrupt, unknown compression).
  while ((r = Sd().enumerate_available_data(j_, &data, &size)) > 0) {
    if (size > max_field_bytes_) {
      size = max_field_bytes_;
      ++out->cut_fields;
    }
    spans.emplace_back(out->data.size(), size);
    out->data.append(static_cast<const char*>(data), size);
    out->bytes += size;
  }
  if (r < 0) return DataLoss("read journal fields: " + Why(r));
  out->fields.clear();
  for (auto [start, len] : spans) {
    std::string_view kv(out->data.data() + start, len);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out->fields.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  return Status::Ok();
}

void JournalReader::Wait(uint64_t timeout_us) { Sd().wait(j_, timeout_us); }

}  // namespace skidder::sources::journal
