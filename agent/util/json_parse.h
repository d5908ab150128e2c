// Bounded JSON parsing for text the agent does not control: log lines, API server bodies, state
// files. rapidjson's default parser recurses once per nesting level, so a 200 KB line of '['
// overflows the stack; and code that walks or serialises a document (Value::Accept) recurses
// too. ParseJsonBounded uses the iterative parser and refuses documents nested deeper than
// kMaxJsonDepth, so everything downstream may recurse safely. Header-only; any thread.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace skidder {

// Go's encoding/json (which Promtail and the API server use) stops at 10000 levels; no log line
// or Kubernetes object is legitimately nested anywhere near 1000, and 1000 keeps recursive walks
// of a parsed document far from any thread's stack limit, sanitizers included.
inline constexpr unsigned kMaxJsonDepth = 1000;

struct JsonParseResult {
  rapidjson::ParseResult result;  // kParseErrorTermination when too deep
  bool too_deep = false;

  bool ok() const { return !result.IsError(); }
  // "nesting deeper than 1000 at offset 1000" or rapidjson's message with its offset.
  std::string Describe() const {
    if (too_deep) {
      return "nesting deeper than " + std::to_string(kMaxJsonDepth) + " at offset " +
             std::to_string(result.Offset());
    }
    return std::string(rapidjson::GetParseError_En(result.Code())) + " at offset " +
           std::to_string(result.Offset());
  }
};

namespace json_internal {

// Forwards SAX events to a document (rapidjson's own handler), counting nesting.
template <typename Doc>
class DepthGuard {
 public:
  using Ch = typename Doc::Ch;
  DepthGuard(Doc& d, unsigned max_depth) : d_(d), max_depth_(max_depth) {}

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned i) { return d_.Uint(i); }
  bool Int64(int64_t i) { return d_.Int64(i); }
  bool Uint64(uint64_t i) { return d_.Uint64(i); }
  bool Double(double v) { return d_.Double(v); }
  // Every number comes as text (kParseNumbersAsStringsFlag): integers as rapidjson would store
  // them (but -0, a float64 -0 in Go), other numbers rounded exactly as Go's strconv.ParseFloat
  // does (std::from_chars; a value below the smallest denormal is 0, as in Go). One too big for
  // a double (rapidjson's own check lets 9e308 through) fails the parse, as Go's range error.
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      if (*s == '-') {
        int64_t v = 0;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end) {
          if (v == 0) return d_.Double(-0.0);
          return v >= INT32_MIN ? d_.Int(static_cast<int>(v)) : d_.Int64(v);
        }
      } else {
        uint64_t v = 0;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end) {
          return v <= UINT32_MAX ? d_.Uint(static_cast<unsigned>(v)) : d_.Uint64(v);
        }
      }
    }
    double v = 0;
    const auto r = std::from_chars(s, end, v);
    if (r.ec == std::errc::result_out_of_range) {
      v = std::strtod(std::string(s, n).c_str(), nullptr);  // an underflow: 0 or a denormal
      if (std::isinf(v)) return false;
    } else if (r.ec != std::errc() || r.ptr != end) {
      return false;
    }
    return d_.Double(v);
  }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy) { return d_.String(s, n, copy); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return d_.Key(s, n, copy); }
  bool StartObject() { return Enter() && d_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return --depth_, d_.EndObject(n); }
  bool StartArray() { return Enter() && d_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return --depth_, d_.EndArray(n); }

  bool too_deep() const { return too_deep_; }

 private:
  bool Enter() {
    if (++depth_ <= max_depth_) return true;
    too_deep_ = true;
    return false;
  }

  Doc& d_;
  unsigned max_depth_;
  unsigned depth_ = 0;
  bool too_deep_ = false;
};

// Go's encoding/json (Promtail, Loki, the API server) decodes the \u escape of a lone UTF-16
// surrogate as U+FFFD; JavaScript's JSON.stringify writes one for a string cut inside an emoji.
// rapidjson 1.1 refuses a lone high surrogate (the whole document: a whole push request) and
// turns a lone low one into bytes that are not UTF-8. Copies text into *out with each such
// escape rewritten to \uFFFD (the same length, so the offsets of errors stay right) and returns
// true; returns false, copying nothing, when there is none (the usual case: one memchr per
// backslash).
inline bool ReplaceLoneSurrogates(std::string_view text, std::string* out) {
  // The code unit of the \uXXXX escape at `at`, or -1.
  auto unit_at = [text](size_t at) -> int {
    if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') return -1;
    int v = 0;
    for (size_t i = at + 2; i < at + 6; ++i) {
      const char c = text[i];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  };
  auto is_high = [](int u) { return u >= 0xD800 && u <= 0xDBFF; };
  auto is_low = [](int u) { return u >= 0xDC00 && u <= 0xDFFF; };
  bool copied = false;
  for (size_t at = text.find('\\'); at != std::string_view::npos;) {
    const int unit = unit_at(at);
    size_t next = at + 2;  // past "\x" (a backslash escapes exactly one character but in \u)
    if (unit >= 0) {
      next = at + 6;
      bool lone = is_low(unit);
      if (is_high(unit)) {
        lone = !is_low(unit_at(next));
        if (!lone) next += 6;  // a pair
      }
      if (lone) {
        if (!copied) out->assign(text);
        copied = true;
        out->replace(at + 2, 4, "FFFD");
      }
    }
    at = next < text.size() ? text.find('\\', next) : std::string_view::npos;
  }
  return copied;
}

}  // namespace json_internal

// Parses text into doc (whose previous value is kept when parsing fails). The reader's working
// stack comes from stack_alloc (nullptr: the heap); the json stage passes its per-entry arena.
// Text after the value is an error, as with Document::Parse, unless first_value_only: then the
// parse stops after the first value and ignores the rest, as Go's json.Decoder.Decode reads.
template <typename Doc, typename StackAlloc = rapidjson::CrtAllocator>
JsonParseResult ParseJsonBounded(Doc& doc, std::string_view text, StackAlloc* stack_alloc = nullptr,
                                 unsigned max_depth = kMaxJsonDepth,
                                 bool first_value_only = false) {
  std::string repaired;  // strings are copied into doc: it may go once parsed
  if (json_internal::ReplaceLoneSurrogates(text, &repaired)) text = repaired;
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  rapidjson::GenericReader<rapidjson::UTF8<>, typename Doc::EncodingType, StackAlloc> reader(
      stack_alloc);
  JsonParseResult out;
  auto generate = [&](Doc& d) {
    json_internal::DepthGuard<Doc> guard(d, max_depth);
    // Numbers as text, converted by DepthGuard::RawNumber: Go's ParseFloat rounds exactly where
    // rapidjson's default parse is a few ulps off for 16 and more significant digits, and its
    // kParseFullPrecisionFlag overflows in StrtodDiyFp on some such inputs in Debian's rapidjson
    // (1.1.0; upstream fix of 2024), which hostile lines would reach.
    constexpr unsigned kIterative =
        rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
    out.result =
        first_value_only
            ? reader.template Parse<kIterative | rapidjson::kParseStopWhenDoneFlag>(is, guard)
            : reader.template Parse<kIterative>(is, guard);
    out.too_deep = guard.too_deep();
    return !out.result.IsError();
  };
  doc.Populate(generate);
  return out;
}

}  // namespace skidder
