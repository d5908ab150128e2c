// Encoder: turns a run of batched entries into the body of a Loki push request
// (logproto.PushRequest, snappy block format), grouping entries by stream.
//
// Callable from any thread (scratch buffers are per thread, reused so a push allocates nothing in
// steady state); the sender thread calls them once per request. Entries must already carry their
// final stream labels (FinalizeLabels).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "model/entry.h"

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

// The serialised logproto.PushRequest into *raw (replacing its content): one StreamAdapter per
// distinct label set in order of first appearance, entries of a stream in the order given. Label
// strings and metadata are made valid UTF-8; lines are expected to be already.
void EncodePushRequest(std::span<const Entry> entries, std::string* raw,
                       EncodeStats* stats = nullptr);

// EncodePushRequest, snappy-compressed (block format) into *body (replacing its content).
void EncodePush(std::span<const Entry> entries, std::string* body, EncodeStats* stats = nullptr);

}  // namespace skidder::sink
