// Heroku's HTTPS log drain body, as Promtail's heroku_drain target (and Alloy's
// loki.source.heroku) reads it: logplex frames, each "<length> <message>" where the message is
// an RFC 5424 header without structured data (Heroku writes none) and the rest of the frame:
//
//   83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n
//
// Pure functions: no I/O, any thread; fuzzed with the push decoders (tests/fuzz).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/push/decode.h"
#include "util/status.h"

namespace skidder::sources::push {

inline constexpr const char* kHerokuDrainPath = "/heroku/api/v1/drain";

struct DrainBody {
  // Consecutive messages of one dyno share a stream. Labels: __heroku_drain_host, _app, _proc
  // and _log_id (HOSTNAME, APP-NAME, PROCID, MSGID; none when empty) and, per query parameter,
  // __heroku_drain_param_<name> (repeated names' values joined with ","). Each entry's line is
  // the message without its final newline; its timestamp the header's.
  std::vector<PushedStream> streams;
  // The first malformed frame, by number and offset. What came before it is in streams (as in
  // Promtail, which sends on the frames it read before the error and answers 400).
  // kResourceExhausted: the messages and streams would take more than ObjectBudget(max_decoded)
  // bytes (each message kEntryMemory besides its text; each stream kEntryMemory and its labels,
  // the query's included); streams is then empty.
  Status error;
  size_t messages = 0;
};

DrainBody DecodeDrain(std::string_view body,
                      const std::vector<std::pair<std::string, std::string>>& query,
                      size_t max_decoded = 100 << 20);

}  // namespace skidder::sources::push
