// Entry: one log line on its way from a source to Loki.
//
// A value that moves (Entry&&) through the pipeline stages to the batcher. `ack` ties it to the
// source bytes it came from: releasing it (sending, dropping) lets the file's position advance.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/ack.h"
#include "model/labels.h"

namespace skidder {

struct Entry {
  int64_t timestamp_ns = 0;                // Unix nanoseconds; from the log line or the read time
  std::string line;                        // the log line, without its trailing newline
  Labels labels;                           // stream labels, incl. internal "__" ones until sent
  std::vector<Label> structured_metadata;  // Loki 3 per-entry metadata, not indexed
  AckRef ack;                              // the source bytes this entry covers
  // The clients that get this entry: bit i is `clients[i]` of the config (clients past the 64th
  // always get it). All by default; the fanout stage narrows it where an Alloy forward_to sends
  // a path to some loki.write components only.
  uint64_t clients = ~uint64_t{0};
};

// Drops the label sets and ack refs `entries` hold, a run of entries sharing them at a time (the
// entries of one read share both): one atomic update per run rather than two per entry. The
// entries themselves stay, without labels and ack.
inline void ReleaseRefs(std::span<Entry> entries) {
  AckReleaser acks;
  LabelsReleaser labels;
  for (Entry& e : entries) {
    acks.Take(e.ack);
    labels.Take(e.labels);
  }
}

// Internal labels with a meaning to the agent.
inline constexpr const char* kTenantLabel = "__tenant_id__";
inline constexpr const char* kPathLabel = "__path__";
inline constexpr const char* kPathExcludeLabel = "__path_exclude__";
inline constexpr const char* kFilenameLabel = "filename";

}  // namespace skidder
