// EntrySink: where finished entries go (the Loki clients, or stdout under -dry-run).
//
// Push never blocks: readers check Saturated() between chunks and stop reading while it is true,
// so the files on disk, not memory, hold the backlog during an outage.
#pragma once

#include "model/entry.h"

namespace skidder {

class EntrySink {
 public:
  virtual ~EntrySink() = default;
  // Takes the entry. Thread-safe.
  virtual void Push(Entry&& e) = 0;
  // True while the sink holds as much as it may; readers pause until it is false again.
  virtual bool Saturated() const = 0;
};

}  // namespace skidder
