// Batch: what a Loki client holds for one push request, its entries already in wire form.
//
// An entry is encoded (an EntryAdapter field of logproto.PushRequest, see encoder.h) into its
// stream's buffer when it reaches the client, on the reading thread, while its line is still in
// that core's cache; the client keeps no copy of the Entry itself. The sender thread then only
// frames the streams and compresses. Before, each line was copied into a heap string of its own
// on the reading thread and copied again, from memory by then, into the request on the sending
// thread: the allocation, the free on the other thread and the cold copy were a fifth of the
// agent's CPU on a backlog. The batch keeps no more than the bytes Loki will receive.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/ack.h"
#include "model/entry.h"
#include "model/labels.h"

namespace skidder::sink {

using SteadyTime = std::chrono::steady_clock::time_point;

// An entry's wire bytes beyond its line, about: field tags and lengths, seconds and nanoseconds.
inline constexpr size_t kEntryWireOverhead = 20;

// One entry of a batch: where its bytes are, and the hold on the source bytes it came from.
struct BatchEntry {
  AckRef ack;           // released once Loki has it (or it is dropped): the position advances
  uint32_t stream = 0;  // index into Batch::streams
  uint32_t begin = 0;   // its EntryAdapter field in that stream's `data`
  uint32_t end = 0;
  uint32_t line_bytes = 0;  // the batchsize measure
  uint32_t memory = 0;      // bytes the batch allocated when this entry arrived (see Add)
};

// One stream of a batch: its labels and its entries' wire form, back to back in arrival order.
struct BatchStream {
  Labels labels;     // final: external labels merged, no "__" labels
  std::string text;  // Prometheus text form, valid UTF-8
  std::string data;  // EntryAdapter fields (tag, length, payload)
};

// The tenant of entries whose pipeline named a tenant Loki would refuse when the client has no
// tenant_id to fall back on: sent without X-Scope-OrgID (a Loki without auth takes them), in
// batches of their own, and dropped (invalid_tenant) if Loki wants a tenant (401, 403) rather
// than retried for ever with every other tenant's batches waiting behind them. Not a valid
// tenant ID, so it names no real tenant.
inline constexpr std::string_view kInvalidTenant = "\x01invalid";

struct Batch {
  std::string tenant;                // X-Scope-OrgID; "" or kInvalidTenant = none
  std::vector<BatchStream> streams;  // in order of first appearance
  std::vector<BatchEntry> entries;   // arrival order
  int64_t line_bytes = 0;            // sum of line sizes (the batchsize measure)
  // A stream's hash-index node (key, value, hash, link), charged to its first entry.
  static constexpr size_t kStreamIndexBytes = 64;
  SteadyTime created{};  // when the first entry arrived

  // Encodes e with `line` (the line as it will be sent) into the stream of `labels`, opening that
  // stream, and keeps `ack`, the reference to e's checkpoint: moved from e when the caller is
  // done with it (one reference-count update less per entry on each side), a copy when other
  // clients get e too. Returns the entry's memory measure: what the batch allocated for it
  // (buffer and vector growth, a new stream), so that the measures of all entries add up to the
  // batch's allocations, capacity included.
  // `reserve`: the wire bytes the stream is about to get (this entry's and the rest of its run in
  // one hand-over, about kEntryWireOverhead + line each): its buffer grows once to hold them
  // instead of doubling its way there from empty, copying everything at each step (a 20 KB file
  // was 11 allocations and 20 KB of copying; 10,000 such files were a tenth of the allocations of
  // a run). 0: grow as appended.
  // `text`: StreamText(labels), when the caller keeps it (a new stream copies it); empty: made
  // here.
  // (Defined in encoder.cc, beside the wire format it writes.)
  int64_t Add(const Labels& labels, const Entry& e, std::string_view line, AckRef ack,
              size_t reserve = 0, std::string_view text = {});
  bool HasStream(const Labels& labels) const { return index_.contains(labels); }

  // Once the request for the whole batch is compressed, the entries' bytes are in the body and
  // needed again only if Loki answers 413 (the halves are encoded from them): frees every
  // stream's buffer, label set and index node while the body is in flight, so a retried or slow
  // push holds its compressed size instead of its raw size plus capacity. Returns the bytes Add
  // charged for what was freed. Call only on a closed batch (no Add after it).
  int64_t DropData();
  // Puts the stream buffers back from `body`, the compressed request of the whole batch as
  // EncodePush(*this, 0, entries.size()) wrote it before DropData. Returns the bytes the buffers
  // take again (to be charged), or -1 with the batch unchanged when `body` is not that request.
  int64_t RestoreData(std::string_view body);
  bool data_dropped() const { return data_dropped_; }

 private:
  std::unordered_map<Labels, uint32_t, LabelsHash> index_;  // stream of each label set
  uint32_t last_stream_ = 0;                                // the stream of the previous entry
  bool data_dropped_ = false;
};

// A stream's label set as a request carries it: Prometheus text form, valid UTF-8.
std::string StreamText(const Labels& labels);

// The memory measure of an entry (Batch::Add): released when the entry is.
inline int64_t BatchEntryMemory(const BatchEntry& e) { return e.memory; }

}  // namespace skidder::sink
