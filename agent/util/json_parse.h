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
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) { return d_.RawNumber(s, n, copy); }
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

}  // namespace json_internal

// Parses text into doc (whose previous value is kept when parsing fails). The reader's working
// stack comes from stack_alloc (nullptr: the heap); the json stage passes its per-entry arena.
// Text after the value is an error, as with Document::Parse, unless first_value_only: then the
// parse stops after the first value and ignores the rest, as Go's json.Decoder.Decode reads.
template <typename Doc, typename StackAlloc = rapidjson::CrtAllocator>
JsonParseResult ParseJsonBounded(Doc& doc, std::string_view text, StackAlloc* stack_alloc = nullptr,
                                 unsigned max_depth = kMaxJsonDepth,
                                 bool first_value_only = false) {
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  rapidjson::GenericReader<rapidjson::UTF8<>, typename Doc::EncodingType, StackAlloc> reader(
      stack_alloc);
  JsonParseResult out;
  auto generate = [&](Doc& d) {
    json_internal::DepthGuard<Doc> guard(d, max_depth);
    constexpr unsigned kIterative = rapidjson::kParseIterativeFlag;
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
