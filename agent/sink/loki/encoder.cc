#include "sink/loki/encoder.h"

#include <snappy-sinksource.h>
#include <snappy.h>

#include <cstring>

#include <unordered_map>
#include <vector>

#include "formats/utf8.h"

namespace skidder::sink {
namespace {

// The wire format of logproto.PushRequest (proto/push.proto), written directly: building the
// generated messages copied every line into an arena string, freed it again and validated its
// UTF-8 a second time during serialisation, which together cost as much CPU as the whole
// pipeline. The bytes are those protobuf's own serialiser writes for the same request (fields in
// number order, proto3 defaults omitted, the timestamp message always present); the unit tests
// compare both byte for byte, and the fake Loki decodes with the generated code.
//
// Field tags: (field number << 3) | wire type; 2 = length-delimited, 0 = varint.
constexpr char kStreamsTag = 0x0A;   // PushRequest.streams = 1
constexpr char kLabelsTag = 0x0A;    // StreamAdapter.labels = 1
constexpr char kEntriesTag = 0x12;   // StreamAdapter.entries = 2
constexpr char kTimeTag = 0x0A;      // EntryAdapter.timestamp = 1
constexpr char kLineTag = 0x12;      // EntryAdapter.line = 2
constexpr char kMetadataTag = 0x1A;  // EntryAdapter.structuredMetadata = 3
constexpr char kNameTag = 0x0A;      // LabelPairAdapter.name = 1
constexpr char kValueTag = 0x12;     // LabelPairAdapter.value = 2
constexpr char kSecondsTag = 0x08;   // Timestamp.seconds = 1
constexpr char kNanosTag = 0x10;     // Timestamp.nanos = 2

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Size of a length-delimited field (tag, length, payload) with a payload of n bytes.
size_t FieldSize(size_t n) { return 1 + VarintSize(n) + n; }

void PutField(std::string& out, char tag, std::string_view payload) {
  out.push_back(tag);
  PutVarint(out, payload.size());
  out.append(payload);
}

struct Timestamp {
  int64_t seconds;
  int32_t nanos;
};

// Floor division keeps nanos in [0, 1e9) for timestamps before 1970 too.
Timestamp Split(int64_t ns) {
  int64_t secs = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  return {secs, static_cast<int32_t>(nanos)};
}

size_t TimestampSize(Timestamp t) {
  // Negative int64 varints take ten bytes (two's complement), as protobuf writes them.
  return (t.seconds != 0 ? 1 + VarintSize(static_cast<uint64_t>(t.seconds)) : 0) +
         (t.nanos != 0 ? 1 + VarintSize(static_cast<uint64_t>(t.nanos)) : 0);
}

// Structured metadata as sent: valid UTF-8. Valid pairs (nearly all) are used in place; an
// invalid one is repaired into a copy kept by the Request for the duration of the encoding.
struct Pair {
  std::string_view name, value;
};

// One request being encoded: streams in order of first appearance, each with its entries in the
// order given and every entry's encoded size, computed once and used for both the length prefixes
// and the writing. Reused across pushes on the sender thread, so steady state allocates nothing.
struct Request {
  struct Stream {
    std::string labels;             // the Prometheus text form, valid UTF-8
    std::vector<uint32_t> entries;  // indices into the span
    size_t size = 0;                // StreamAdapter payload bytes
  };
  std::vector<Stream> streams;
  size_t used = 0;                   // live streams; the rest are spare
  std::vector<uint32_t> entry_size;  // EntryAdapter payload bytes, per entry
  std::vector<uint32_t> first_pair;  // per entry: index of its first metadata pair in `pairs`
  std::vector<Pair> pairs;           // metadata of all entries, in entry order
  std::vector<std::string> repaired;

  void Reset(size_t entries) {
    used = 0;
    entry_size.resize(entries);
    first_pair.resize(entries);
    pairs.clear();
    repaired.clear();
  }
  Stream& Add(const Labels& labels) {
    if (used == streams.size()) streams.emplace_back();
    Stream& s = streams[used++];
    s.labels = labels.ToString();
    formats::SanitizeUtf8(s.labels);
    s.entries.clear();
    s.size = FieldSize(s.labels.size());
    return s;
  }
};

// Entries of one stream share equal Labels objects; key the map by pointer to the entry's labels
// but hash and compare by value, so no label set is copied.
struct PtrHash {
  size_t operator()(const Labels* l) const { return l->Hash(); }
};
struct PtrEq {
  bool operator()(const Labels* a, const Labels* b) const { return *a == *b; }
};

std::string_view Valid(const std::string& s, std::vector<std::string>& repaired) {
  if (formats::IsValidUtf8(s)) return s;
  repaired.push_back(s);  // rare: invalid metadata from an incoming push or a stage
  formats::SanitizeUtf8(repaired.back());
  return repaired.back();
}

size_t EntrySize(const Entry& e, Request& req) {
  size_t n = FieldSize(TimestampSize(Split(e.timestamp_ns)));
  if (!e.line.empty()) n += FieldSize(e.line.size());
  for (const Label& md : e.structured_metadata) {
    Pair p{Valid(md.name, req.repaired), Valid(md.value, req.repaired)};
    const size_t pair = (p.name.empty() ? 0 : FieldSize(p.name.size())) +
                        (p.value.empty() ? 0 : FieldSize(p.value.size()));
    n += FieldSize(pair);
    req.pairs.push_back(p);
  }
  return n;
}

void PutEntry(std::string& out, const Entry& e, size_t size, const Pair*& pair) {
  out.push_back(kEntriesTag);
  PutVarint(out, size);
  const Timestamp t = Split(e.timestamp_ns);
  out.push_back(kTimeTag);
  PutVarint(out, TimestampSize(t));
  if (t.seconds != 0) {
    out.push_back(kSecondsTag);
    PutVarint(out, static_cast<uint64_t>(t.seconds));
  }
  if (t.nanos != 0) {
    out.push_back(kNanosTag);
    PutVarint(out, static_cast<uint64_t>(t.nanos));
  }
  if (!e.line.empty()) PutField(out, kLineTag, e.line);
  for (size_t i = 0; i < e.structured_metadata.size(); ++i, ++pair) {
    const size_t n = (pair->name.empty() ? 0 : FieldSize(pair->name.size())) +
                     (pair->value.empty() ? 0 : FieldSize(pair->value.size()));
    out.push_back(kMetadataTag);
    PutVarint(out, n);
    if (!pair->name.empty()) PutField(out, kNameTag, pair->name);
    if (!pair->value.empty()) PutField(out, kValueTag, pair->value);
  }
}

// Sizes every stream and entry of the request (the length prefixes need them before any byte is
// written). Per thread, reused: steady state allocates nothing.
Request& Plan(std::span<const Entry> entries, EncodeStats* stats) {
  thread_local Request req;
  thread_local std::unordered_map<const Labels*, uint32_t, PtrHash, PtrEq> index;
  req.Reset(entries.size());
  index.clear();
  EncodeStats local;
  for (uint32_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    auto [it, inserted] = index.try_emplace(&e.labels, static_cast<uint32_t>(req.used));
    Request::Stream& s = inserted ? req.Add(e.labels) : req.streams[it->second];
    req.first_pair[i] = static_cast<uint32_t>(req.pairs.size());
    req.entry_size[i] = static_cast<uint32_t>(EntrySize(e, req));
    s.entries.push_back(i);
    s.size += FieldSize(req.entry_size[i]);
    local.line_bytes += static_cast<int64_t>(e.line.size());
  }
  local.entries = static_cast<int64_t>(entries.size());
  local.streams = static_cast<int64_t>(req.used);
  if (stats != nullptr) *stats = local;
  return req;
}

size_t TotalSize(const Request& req) {
  size_t total = 0;
  for (size_t k = 0; k < req.used; ++k) total += FieldSize(req.streams[k].size);
  return total;
}

// Writes a planned request piece by piece, in order: a stream's header, then its entries.
class Writer {
 public:
  Writer(const Request& req, std::span<const Entry> entries) : req_(req), entries_(entries) {}
  bool done() const { return stream_ == req_.used; }
  // Appends the next piece (a stream header or one entry) to out.
  void Next(std::string& out) {
    const Request::Stream& s = req_.streams[stream_];
    if (!header_done_) {
      out.push_back(kStreamsTag);
      PutVarint(out, s.size);
      PutField(out, kLabelsTag, s.labels);
      header_done_ = true;
    } else {
      const uint32_t i = s.entries[entry_];
      const Pair* pair = req_.pairs.data() + req_.first_pair[i];
      PutEntry(out, entries_[i], req_.entry_size[i], pair);
      ++entry_;
    }
    if (header_done_ && entry_ == s.entries.size()) {
      ++stream_;
      entry_ = 0;
      header_done_ = false;
    }
  }

 private:
  const Request& req_;
  std::span<const Entry> entries_;
  size_t stream_ = 0, entry_ = 0;
  bool header_done_ = false;
};

// Hands the request to snappy as it is written, a block at a time, instead of serialising the
// whole request first: snappy compresses 64 KiB blocks independently, so a MiB-sized batch
// needs a 64 KiB window (plus at most one piece) instead of a MiB-sized copy of every line and a
// MaxCompressedLength-sized output buffer (together ~4-5 MB of the 10-file peak RSS, heaptrack).
// The bytes are exactly snappy::RawCompress of EncodePushRequest's output.
class RequestSource : public snappy::Source {
 public:
  static constexpr size_t kWindow = 64 << 10;  // snappy's block size (kBlockSize)
  RequestSource(Writer& w, size_t total, std::string& buf) : w_(w), left_(total), buf_(buf) {
    buf_.clear();
  }
  size_t Available() const override { return left_; }
  // Always at least a full block (or the rest of the request), so snappy never copies a block
  // together from short fragments.
  const char* Peek(size_t* len) override {
    if (buf_.size() - pos_ < kWindow && !w_.done()) {
      const size_t rest = buf_.size() - pos_;  // the tail of the last piece
      std::memmove(buf_.data(), buf_.data() + pos_, rest);
      buf_.resize(rest);
      pos_ = 0;
      while (buf_.size() < kWindow && !w_.done()) w_.Next(buf_);
    }
    *len = buf_.size() - pos_;
    return buf_.data() + pos_;
  }
  void Skip(size_t n) override {
    pos_ += n;
    left_ -= n;
  }

 private:
  Writer& w_;
  size_t left_;
  std::string& buf_;
  size_t pos_ = 0;
};

// Appends each compressed block to the body, which grows to the compressed size only.
class StringSink : public snappy::Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void Append(const char* bytes, size_t n) override { out_->append(bytes, n); }

 private:
  std::string* out_;
};

}  // namespace

std::string FinalizeLabels(Labels* labels, const Labels& external) {
  std::string tenant;
  if (const std::string* t = labels->Get(kTenantLabel)) tenant = *t;
  for (const Label& l : external) {
    if (!labels->Has(l.name)) labels->Set(l.name, l.value);
  }
  labels->RemoveInternal();
  return tenant;
}

void EncodePushRequest(std::span<const Entry> entries, std::string* raw, EncodeStats* stats) {
  const Request& req = Plan(entries, stats);
  raw->clear();
  raw->reserve(TotalSize(req));
  for (Writer w(req, entries); !w.done();) w.Next(*raw);
}

void EncodePush(std::span<const Entry> entries, std::string* body, EncodeStats* stats) {
  const Request& req = Plan(entries, stats);
  Writer w(req, entries);
  // The window is reused across pushes on the sender thread; a piece larger than the window (a
  // long line) grows it, and a window grown past 1 MiB is given back after the push.
  thread_local std::string window;
  RequestSource source(w, TotalSize(req), window);
  body->clear();
  StringSink sink(body);
  snappy::Compress(&source, &sink);
  if (window.capacity() > (1 << 20)) std::string().swap(window);
}

}  // namespace skidder::sink
