// Encoder: the wire form of Loki push requests (logproto.PushRequest, snappy block format).
// Entries are encoded one at a time as they join a batch (AppendEntryField, on the reading
// thread); a request frames the batch's streams around those bytes and compresses (the sender).
//
// Callable from any thread (scratch buffers are per thread, reused so a push allocates nothing in
// steady state). Entries must already carry their final stream labels (FinalizeLabels).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "model/entry.h"
#include "sink/loki/batch.h"

namespace skidder::sink {

// Gives an entry the label set Loki will index: the client's external labels merged in (the
// entry's own labels win, as in Promtail), then every "__" label removed. Returns the value of
// __tenant_id__ (or "" when absent), read before it is removed.
std::string FinalizeLabels(Labels* labels, const Labels& external);

struct EncodeStats {
  int64_t entries = 0;
  int64_t line_bytes = 0;
  int64_t streams = 0;
};

// Appends e as one StreamAdapter.entries field (EntryAdapter: timestamp, `line`, structured
// metadata made valid UTF-8) to *out. `line` is the line as sent, expected to be valid UTF-8.
void AppendEntryField(std::string* out, const Entry& e, std::string_view line);

// The serialised logproto.PushRequest of entries [begin, end) of a batch into *raw (replacing its
// content): one StreamAdapter per stream with entries in that range, entries in arrival order.
void EncodePushRequest(const Batch& batch, size_t begin, size_t end, std::string* raw,
                       EncodeStats* stats = nullptr);
// The same, snappy-compressed (block format) into *body (replacing its content).
void EncodePush(const Batch& batch, size_t begin, size_t end, std::string* body,
                EncodeStats* stats = nullptr);

// For entries that already carry their final labels (tests, benchmarks): streams in order of
// first appearance, entries of a stream in the order given.
void EncodePushRequest(std::span<const Entry> entries, std::string* raw,
                       EncodeStats* stats = nullptr);
void EncodePush(std::span<const Entry> entries, std::string* body, EncodeStats* stats = nullptr);

}  // namespace skidder::sink
