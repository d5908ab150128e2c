#include "sources/push/heroku.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

#include "formats/timestamp.h"

namespace skidder::sources::push {
namespace {

struct Header {
  int64_t timestamp_ns = 0;
  std::string_view host, app, proc, log_id, message;
};

// The next space-terminated field of `rest`; false when there is no space left.
bool Field(std::string_view& rest, std::string_view* out) {
  const size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return false;
  *out = rest.substr(0, sp);
  rest.remove_prefix(sp + 1);
  return true;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID MSG", as heroku/x's logplex parser reads
// it: six fields, then the rest of the frame verbatim.
Status ParseHeader(std::string_view frame, Header* h) {
  std::string_view pri, stamp;
  if (!Field(frame, &pri) || !Field(frame, &stamp) || !Field(frame, &h->host) ||
      !Field(frame, &h->app) || !Field(frame, &h->proc) || !Field(frame, &h->log_id)) {
    return InvalidArgument("a message needs <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID");
  }
  const size_t close = pri.find('>');
  int value = 256;
  if (pri.size() < 4 || pri[0] != '<' || close == std::string_view::npos ||
      !AllDigits(pri.substr(1, close - 1)) || close > 4 || !AllDigits(pri.substr(close + 1))) {
    return InvalidArgument(fmt::format("invalid PRI and VERSION {:?}", pri.substr(0, 16)));
  }
  std::from_chars(pri.data() + 1, pri.data() + close, value);
  if (value > 255) return InvalidArgument(fmt::format("PRI {} is over 255", value));
  const char* why = nullptr;
  if (!formats::ParseRfc3339Nano(stamp, &h->timestamp_ns, &why)) {
    return InvalidArgument(fmt::format("timestamp {:?}: {}", stamp.substr(0, 40), why));
  }
  if (frame.ends_with('\n')) frame.remove_suffix(1);
  if (frame.ends_with('\r')) frame.remove_suffix(1);
  h->message = frame;
  return Status::Ok();
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

DrainBody DecodeDrain(std::string_view body,
                      const std::vector<std::pair<std::string, std::string>>& query,
                      size_t max_decoded) {
  DrainBody out;
  // Go's url.Values: a name's values in order, joined with ",".
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : query) {
    auto [it, fresh] = params.try_emplace(name, value);
    if (!fresh) it->second.append(",").append(value);
  }
  Labels query_labels;
  size_t query_bytes = 0;  // what every stream's copy of the query's labels takes
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    query_labels.Set("__heroku_drain_param_" + name, value);
    query_bytes += name.size() + value.size() + 64;
  }
  // Charged as the frames are decoded: each stream holds a copy of the query's labels, and
  // frames alternating between two dynos make a stream each, so 1 MB of small frames under a
  // long query string took gigabytes.
  size_t memory = 0;  // objects, against ObjectBudget (the body's size is the server's limit)
  const size_t budget = ObjectBudget(max_decoded);
  std::string_view last_host, last_app, last_proc, last_log_id;
  const size_t size = body.size();
  for (size_t frame_no = 1;; ++frame_no) {
    // Newlines between frames are not Heroku's, but a hand-made body (curl) has them.
    while (!body.empty() && IsSpace(body.front())) body.remove_prefix(1);
    if (body.empty()) break;
    const size_t offset = size - body.size();
    auto fail = [&](std::string why) {
      out.error = InvalidArgument(
          fmt::format("logplex frame {} (byte {}): {}", frame_no, offset, std::move(why)));
    };
    const size_t sp = body.find(' ');
    size_t len = 0;
    std::string_view digits = body.substr(0, sp);
    if (sp == std::string_view::npos || !AllDigits(digits) || digits.size() > 9) {
      fail("a frame starts with its length in bytes and a space");
      break;
    }
    std::from_chars(digits.data(), digits.data() + digits.size(), len);
    body.remove_prefix(sp + 1);
    if (len > body.size()) {
      fail(fmt::format("the frame says {} bytes, the body has {} left", len, body.size()));
      break;
    }
    Header h;
    if (Status st = ParseHeader(body.substr(0, len), &h); !st.ok()) {
      fail(st.message());
      break;
    }
    body.remove_prefix(len);
    const bool new_stream = out.streams.empty() || h.host != last_host || h.app != last_app ||
                            h.proc != last_proc || h.log_id != last_log_id;
    memory += kEntryMemory + (new_stream ? kEntryMemory + query_bytes : 0);
    if (memory > budget) {
      out = DrainBody{};
      out.error = Status(
          StatusCode::kResourceExhausted,
          fmt::format("drain request of {} bytes takes more than {} bytes as "
                      "entries ({} times the {} bytes limit; each message counts "
                      "{} bytes, each run of one dyno's messages {} and the "
                      "query's labels)",
                      size, budget, kObjectBudgetFactor, max_decoded, kEntryMemory, kEntryMemory));
      return out;
    }
    if (new_stream) {
      LabelsBuilder b(query_labels);
      const std::pair<const char*, std::string_view> meta[] = {{"__heroku_drain_host", h.host},
                                                               {"__heroku_drain_app", h.app},
                                                               {"__heroku_drain_proc", h.proc},
                                                               {"__heroku_drain_log_id", h.log_id}};
      for (const auto& [name, value] : meta) {
        if (!value.empty()) b.Add(name, std::string(value));
      }
      out.streams.push_back(PushedStream{b.Build(), {}});
      last_host = h.host;
      last_app = h.app;
      last_proc = h.proc;
      last_log_id = h.log_id;
    }
    out.streams.back().entries.push_back({h.timestamp_ns, std::string(h.message), {}});
    ++out.messages;
  }
  return out;
}

}  // namespace skidder::sources::push
