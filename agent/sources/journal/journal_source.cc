#include "sources/journal/journal_source.h"

#include <fmt/format.h>
#include <unistd.h>

#include "util/log.h"

namespace skidder::sources::journal {
namespace {

constexpr size_t kBatchBytes = 1 << 20;
constexpr uint64_t kWaitUs = 100'000;  // how often an idle reader checks for Stop()

}  // namespace

JournalSource::JournalSource(JournalSourceOptions opts, Positions* positions, EntrySink* sink,
                             telemetry::AgentMetrics* metrics, const Clock* clock)
    : opts_(std::move(opts)), positions_(positions), sink_(sink), metrics_(metrics), clock_(clock) {
  builder_ = std::make_unique<EntryBuilder>(opts_.config, opts_.relabel);
  // At zero from the start, so that increase() (SkidderJournalEntriesLost) sees the first loss.
  if (metrics_ != nullptr) metrics_->journal_lost_entries.With({opts_.job_name});
}

Status JournalSource::Start() {
  std::string every_machine;
  if (opts_.config.path.empty()) {
    const LocalChoice choice = ChooseLocal(opts_.local);
    if (!choice.note.empty()) LOG_WARN(choice.note, {{"job", opts_.job_name}});
    if (choice.every_machine) every_machine = opts_.local.root;
  }
  auto reader = JournalReader::Open(opts_.config.path, opts_.max_field_bytes, every_machine);
  if (!reader) return reader.error();
  reader_ = std::move(*reader);
  // Asked before the matches apply, which hide the saved entry when they changed (see Seek).
  saved_entry_present_ = !opts_.config.matches.empty() && SavedEntryPresent();
  if (Status st = reader_->AddMatches(opts_.config.matches); !st.ok()) return st;
  if (Status st = Seek(); !st.ok()) return st;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void JournalSource::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

// Whether the entry of the saved cursor is still in the journal, whatever the matches say.
bool JournalSource::SavedEntryPresent() {
  std::optional<std::string> saved = positions_->GetCursor(PositionKey(opts_.job_name));
  if (!saved || saved->empty() || !reader_->SeekCursor(*saved).ok()) return false;
  auto found = reader_->Next();
  return found && *found && reader_->AtCursor(*saved);
}

// Where to start: after the saved cursor, or max_age ago (see the header).
Status JournalSource::Seek() {
  const uint64_t now_us = static_cast<uint64_t>(clock_->NowNs() / 1000);
  const auto max_age_us = static_cast<uint64_t>(opts_.config.max_age.count() / 1000);
  const uint64_t since_us = now_us > max_age_us ? now_us - max_age_us : 0;
  const std::string key = PositionKey(opts_.job_name);
  std::optional<std::string> saved = positions_->GetCursor(key);
  if (!saved || saved->empty()) return reader_->SeekRealtime(since_us);
  if (Status st = reader_->SeekCursor(*saved); !st.ok()) {
    // A cursor libsystemd cannot parse (the positions file edited or damaged): said, as Promtail
    // says it, since entries may be read again or skipped from here.
    LOG_WARN("cannot seek to the saved journal cursor; starting max_age ago",
             {{"job", opts_.job_name}, {"cursor", *saved}, {"error", st.message()}});
    return reader_->SeekRealtime(since_us);
  }
  // A journal file damaged at the saved cursor (an unclean shutdown of journald or of the node)
  // must not fail every start of the agent, and with it every other source: reading goes on
  // from the cursor as it does after a read error while running (ReadBatch), and an entry that
  // cannot be read is skipped and counted, whether the saved one (sent already) or a later one.
  auto found = reader_->Next();
  if (!found) {
    LOG_WARN("cannot read the journal at the saved cursor; reading on from it",
             {{"job", opts_.job_name}, {"error", found.error().message()}});
    return Status::Ok();
  }
  if (!*found) return Status::Ok();  // nothing at or after the cursor yet
  // An entry whose fields cannot be read still has its time and cursor (Read takes them first):
  // it is skipped and counted, and where it stands decides the rest as for any other.
  record_.cursor.clear();
  const Status read = reader_->Read(&record_);
  if (!read.ok()) Unreadable(read);
  if (record_.cursor.empty()) return Status::Ok();  // not even those: read on from it
  if (reader_->AtCursor(*saved)) {
    if (record_.realtime_us >= since_us) return Status::Ok();  // resume after it
    return reader_->SeekRealtime(since_us);
  }
  // With matches, the entry found is the first one after the cursor that matches. If the saved
  // entry is still there, the matches changed and it matches no more: nothing was removed.
  const bool filtered = !opts_.config.matches.empty();
  if (saved_entry_present_) {
    if (record_.realtime_us < since_us) return reader_->SeekRealtime(since_us);
    have_current_ = read.ok();  // else the next Next() moves past it
    return Status::Ok();
  }
  // The saved entry is gone (vacuumed or rotated away): this is the oldest one after it. The
  // gap in sequence numbers counts every entry removed unread; with matches, how many of them
  // matched is not known: counted all the same (the journal was vacuumed past what the job had
  // read, which the alert is about), and the log says "up to".
  const int64_t lost = EntriesBetween(ParseCursor(*saved), ParseCursor(record_.cursor));
  if (lost > 0 && metrics_ != nullptr) {
    metrics_->journal_lost_entries.With({opts_.job_name})->Add(static_cast<double>(lost));
  }
  // Still nothing older than max_age, as Promtail checks the next entry's age here too.
  const bool too_old = record_.realtime_us < since_us;
  LOG_WARN(
      "journal entries after the saved cursor were removed before they were read; resuming at "
      "the oldest entry left, or max_age ago if that is older",
      {{"job", opts_.job_name},
       {"lost_entries", lost < 0 ? std::string("unknown")
                        : filtered
                            ? fmt::format("up to {} (matches: how many matched is unknown)", lost)
                            : std::to_string(lost)},
       {"resume", too_old ? "max_age" : "oldest"}});
  if (too_old) return reader_->SeekRealtime(since_us);
  have_current_ = read.ok();  // else the next Next() moves past it
  return Status::Ok();
}

void JournalSource::Unreadable(const Status& st) {
  if (metrics_ != nullptr) {
    metrics_->journal_dropped_entries.With({opts_.job_name, "unreadable"})->Add(1);
  }
  if (int64_t times = 0; read_errors_.Allow(&times)) {
    LOG_WARN("skipping an unreadable journal entry",
             {{"job", opts_.job_name}, {"error", st.message()}, {"times", std::to_string(times)}});
  }
}

size_t JournalSource::ReadBatch(pipeline::Emitter& out) {
  if (!have_current_) {
    auto more = reader_->Next();
    int64_t times = 0;
    if (!more) {
      if (read_errors_.Allow(&times)) {
        LOG_ERROR("cannot read the journal", {{"job", opts_.job_name},
                                              {"error", more.error().message()},
                                              {"times", std::to_string(times)}});
      }
      return 0;
    }
    if (!*more) return 0;
    if (Status st = reader_->Read(&record_); !st.ok()) {
      Unreadable(st);
      return 1;
    }
  }
  have_current_ = false;
  AckRef hold = tracker_->Open(++seq_);
  const BatchTime now = BatchTime::Of(*clock_);
  size_t n = 0, bytes = 0;
  uint64_t newest_us = 0;
  std::string last_cursor;
  while (true) {
    ++n;
    bytes += record_.bytes;
    if (record_.cut_fields > 0 && metrics_ != nullptr && !opts_.cuts_counted_later) {
      metrics_->truncated_lines.With({})->Add(static_cast<double>(record_.cut_fields));
    }
    newest_us = std::max(newest_us, record_.realtime_us);
    Entry e;
    if (const char* why = nullptr; builder_->Build(record_, &e, &why)) {
      e.ack = hold;
      opts_.pipeline->Process(std::move(e), now, out);
    } else if (metrics_ != nullptr) {
      metrics_->journal_dropped_entries.With({opts_.job_name, why})->Add(1);
    }
    last_cursor.swap(record_.cursor);
    if (n >= opts_.batch_entries || bytes >= kBatchBytes) break;
    auto more = reader_->Next();
    if (!more || !*more) break;
    if (Status st = reader_->Read(&record_); !st.ok()) {
      Unreadable(st);  // the next Next() moves past it
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    cursors_.emplace_back(seq_, std::move(last_cursor));
  }
  hold.Reset();
  if (metrics_ != nullptr) {
    metrics_->journal_entries.With({opts_.job_name})->Add(static_cast<double>(n));
    metrics_->journal_bytes.With({opts_.job_name})->Add(static_cast<double>(bytes));
    const int64_t lag_us = clock_->NowNs() / 1000 - static_cast<int64_t>(newest_us);
    metrics_->journal_lag.With({opts_.job_name})
        ->Set(static_cast<double>(std::max<int64_t>(lag_us, 0)) / 1e6);
  }
  return n;
}

void JournalSource::Run() {
  pipeline::BatchEmitter out(sink_);
  while (!stop_) {
    // Backpressure, the journal holding the backlog: a full sink, or a limit stage (drop: false)
    // over its rate.
    if (sink_->Saturated() || opts_.pipeline->ReadyInNs(BatchTime::Of(*clock_).steady_ns) > 0) {
      usleep(10'000);
      continue;
    }
    const size_t n = ReadBatch(out);
    out.Flush();  // one sink batch per journal batch
    if (n == 0) {
      opts_.pipeline->Flush(clock_->NowNs(), /*force=*/false, out);
      out.Flush();
      reader_->Wait(kWaitUs);
    }
  }
  opts_.pipeline->Flush(clock_->NowNs(), /*force=*/true, out);
  out.Flush();
}

void JournalSource::SyncPositions() {
  const uint64_t committed = tracker_->Committed();
  std::string cursor;
  {
    std::lock_guard lock(mu_);
    while (!cursors_.empty() && cursors_.front().first <= committed) {
      cursor = std::move(cursors_.front().second);
      cursors_.pop_front();
    }
  }
  if (!cursor.empty()) positions_->PutCursor(PositionKey(opts_.job_name), cursor);
}

}  // namespace skidder::sources::journal
