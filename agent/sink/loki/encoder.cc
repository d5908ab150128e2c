#include "sink/loki/encoder.h"

#include <snappy-sinksource.h>
#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <span>
#include <unordered_map>
#include <vector>

#include "formats/utf8.h"
#include "util/varint.h"

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

// Seven bits a byte: one count of the significant bits instead of a loop (sizes are taken
// twice per entry, its timestamp's seconds alone being five bytes).
size_t VarintSize(uint64_t v) { return (static_cast<size_t>(std::bit_width(v | 1)) + 6) / 7; }

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Size of a length-delimited field (tag, length, payload) with a payload of n bytes.
size_t FieldSize(size_t n) { return 1 + VarintSize(n) + n; }

char* PutField(char* p, char tag, std::string_view payload) {
  *p++ = tag;
  p = PutVarint(p, payload.size());
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  return p + payload.size();
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

size_t PairSize(std::string_view name, std::string_view value) {
  return (name.empty() ? 0 : FieldSize(name.size())) +
         (value.empty() ? 0 : FieldSize(value.size()));
}

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

namespace {

// An entry's field with metadata that is valid UTF-8 (checked, or repaired, by the caller: the
// write happens inside resize_and_overwrite's callback, which must not throw, so nothing in it
// may allocate).
void AppendValidEntryField(std::string* out, int64_t timestamp_ns, std::string_view line,
                           std::span<const Label> metadata) {
  const Timestamp t = Split(timestamp_ns);
  const size_t ts = TimestampSize(t);
  size_t payload = FieldSize(ts) + (line.empty() ? 0 : FieldSize(line.size()));
  for (const Label& md : metadata) payload += FieldSize(PairSize(md.name, md.value));
  // Every byte of the field is written below: resize_and_overwrite grows the buffer as resize
  // would (doubling) without zero-filling what is overwritten at once. (GCC 12's libstdc++
  // passes the grown capacity, not the size asked for, as the second argument: unused.)
  const size_t at = out->size(), size = at + FieldSize(payload);
  out->resize_and_overwrite(size, [&](char* base, size_t) {
    char* p = base + at;
    *p++ = kEntriesTag;
    p = PutVarint(p, payload);
    *p++ = kTimeTag;
    p = PutVarint(p, ts);
    if (t.seconds != 0) {
      *p++ = kSecondsTag;
      p = PutVarint(p, static_cast<uint64_t>(t.seconds));
    }
    if (t.nanos != 0) {
      *p++ = kNanosTag;
      p = PutVarint(p, static_cast<uint64_t>(t.nanos));
    }
    if (!line.empty()) p = PutField(p, kLineTag, line);
    for (const Label& md : metadata) {
      *p++ = kMetadataTag;
      p = PutVarint(p, PairSize(md.name, md.value));
      if (!md.name.empty()) p = PutField(p, kNameTag, md.name);
      if (!md.value.empty()) p = PutField(p, kValueTag, md.value);
    }
    return size;
  });
}

}  // namespace

void AppendEntryField(std::string* out, const Entry& e, std::string_view line) {
  const auto valid = [](const Label& md) {
    return formats::IsValidUtf8(md.name) && formats::IsValidUtf8(md.value);
  };
  if (std::all_of(e.structured_metadata.begin(), e.structured_metadata.end(), valid)) {
    AppendValidEntryField(out, e.timestamp_ns, line, e.structured_metadata);
    return;
  }
  // Rare (invalid metadata from an incoming push or a stage): sent as protobuf would accept it,
  // with U+FFFD for what is not UTF-8.
  std::vector<Label> repaired = e.structured_metadata;
  for (Label& md : repaired) {
    formats::SanitizeUtf8(md.name);
    formats::SanitizeUtf8(md.value);
  }
  AppendValidEntryField(out, e.timestamp_ns, line, repaired);
}

std::string StreamText(const Labels& labels) {
  std::string text = labels.ToString();
  formats::SanitizeUtf8(text);
  return text;
}

int64_t Batch::Add(const Labels& labels, const Entry& e, std::string_view line, AckRef ack,
                   size_t reserve, std::string_view text) {
  // The memory measure is what the batch allocates: an entry is charged with the growth it
  // causes (a new stream, a larger buffer or vector), so the client's budget bounds real bytes.
  const size_t entries_cap = entries.capacity(), streams_cap = streams.capacity();
  size_t charged = 0;
  // Consecutive entries of one stream share one label set: no hashing for them.
  if (streams.empty() || !labels.SameAs(streams[last_stream_].labels)) {
    auto [it, inserted] = index_.try_emplace(labels, static_cast<uint32_t>(streams.size()));
    if (inserted) {
      BatchStream& s = streams.emplace_back();
      s.labels = labels;
      s.text = text.empty() ? StreamText(labels) : std::string(text);
      charged += s.text.capacity() + kStreamIndexBytes;
    }
    last_stream_ = it->second;
  }
  BatchStream& s = streams[last_stream_];
  const size_t data_cap = s.data.capacity();
  if (reserve > data_cap - s.data.size()) s.data.reserve(s.data.size() + reserve);
  BatchEntry& be = entries.emplace_back();
  be.ack = std::move(ack);
  be.stream = last_stream_;
  be.begin = static_cast<uint32_t>(s.data.size());
  AppendEntryField(&s.data, e, line);
  be.end = static_cast<uint32_t>(s.data.size());
  be.line_bytes = static_cast<uint32_t>(line.size());
  charged += (s.data.capacity() - data_cap) +
             (entries.capacity() - entries_cap) * sizeof(BatchEntry) +
             (streams.capacity() - streams_cap) * sizeof(BatchStream);
  be.memory = static_cast<uint32_t>(charged);
  line_bytes += static_cast<int64_t>(line.size());
  return static_cast<int64_t>(charged);
}

namespace {

// What a stream buffer's allocation was charged by Add: its growth from an empty string's
// (inline) capacity.
int64_t ChargedCapacity(const std::string& s) {
  return static_cast<int64_t>(s.capacity() - std::string().capacity());
}

// Reads a length-delimited field with tag `tag` at *p: its payload.
bool GetField(const char** p, const char* end, char tag, std::string_view* payload) {
  uint64_t n = 0;
  if (*p == end || *(*p)++ != tag || !ReadVarint(p, end, &n) ||
      n > static_cast<uint64_t>(end - *p)) {
    return false;
  }
  *payload = std::string_view(*p, n);
  *p += n;
  return true;
}

}  // namespace

int64_t Batch::DropData() {
  int64_t freed = 0;
  for (BatchStream& s : streams) {
    freed += ChargedCapacity(s.data) + static_cast<int64_t>(kStreamIndexBytes);
    std::string().swap(s.data);  // (assigning an empty string would keep the allocation)
    s.labels = Labels();
  }
  decltype(index_)().swap(index_);
  data_dropped_ = true;
  return freed;
}

int64_t Batch::RestoreData(std::string_view body) {
  std::string raw;
  if (!data_dropped_ || !snappy::Uncompress(body.data(), body.size(), &raw)) return -1;
  // The request of the whole batch: one StreamAdapter per stream in index order (every stream
  // of a batch has an entry), each its labels then its entries' bytes exactly as the buffer held
  // them. Each is checked against what the batch knows before anything is changed.
  std::vector<std::string_view> data(streams.size());
  const char* p = raw.data();
  const char* const end = p + raw.size();
  for (size_t k = 0; k < streams.size(); ++k) {
    std::string_view stream, text;
    if (!GetField(&p, end, kStreamsTag, &stream)) return -1;
    const char* q = stream.data();
    if (!GetField(&q, stream.data() + stream.size(), kLabelsTag, &text) ||
        text != streams[k].text) {
      return -1;
    }
    data[k] = std::string_view(q, stream.data() + stream.size() - q);
  }
  if (p != end) return -1;
  // A stream's entries fill its buffer: the last one ends where the buffer did.
  std::vector<uint32_t> ends(streams.size(), 0);
  for (const BatchEntry& e : entries) {
    if (e.stream >= streams.size()) return -1;
    ends[e.stream] = std::max(ends[e.stream], e.end);
  }
  for (size_t k = 0; k < streams.size(); ++k) {
    if (ends[k] != data[k].size()) return -1;
  }
  int64_t charged = 0;
  for (size_t k = 0; k < streams.size(); ++k) {
    streams[k].data.assign(data[k]);
    charged += ChargedCapacity(streams[k].data);
  }
  data_dropped_ = false;
  return charged;
}

namespace {

// A request as a list of pieces in order, none of them copied: per stream its header (the
// StreamAdapter tag and length, the labels tag and length, kept in `headers`), its label text, and
// the range of its entries' bytes in the batch. Entries of one stream within [begin, end) are
// contiguous in its buffer: they arrived in order.
struct Framing {
  std::vector<std::string_view> pieces;
  std::string headers;
  size_t total = 0;
};

Framing& Frame(const Batch& batch, size_t begin, size_t end, EncodeStats* stats) {
  thread_local Framing f;                                         // reused on the sender thread
  thread_local std::vector<std::pair<uint32_t, uint32_t>> range;  // per stream: [lo, hi)
  constexpr uint32_t kUnused = UINT32_MAX;
  constexpr size_t kMaxHeader = 2 + 2 * 10;  // two tags, two varints
  range.assign(batch.streams.size(), {kUnused, 0});
  EncodeStats local;
  for (size_t i = begin; i < end; ++i) {
    const BatchEntry& e = batch.entries[i];
    auto& r = range[e.stream];
    if (r.first == kUnused) r.first = e.begin;
    r.second = e.end;
    local.line_bytes += e.line_bytes;
  }
  f.pieces.clear();
  f.headers.resize(kMaxHeader * range.size());  // views into it stay valid: no growth below
  f.total = 0;
  char* h = f.headers.data();
  for (size_t k = 0; k < range.size(); ++k) {
    const auto [lo, hi] = range[k];
    if (lo == kUnused) continue;
    const BatchStream& s = batch.streams[k];
    char* const start = h;
    *h++ = kStreamsTag;
    h = PutVarint(h, FieldSize(s.text.size()) + hi - lo);
    *h++ = kLabelsTag;
    h = PutVarint(h, s.text.size());
    f.pieces.emplace_back(start, h - start);
    f.pieces.emplace_back(s.text);
    f.pieces.emplace_back(s.data.data() + lo, hi - lo);
    f.total += static_cast<size_t>(h - start) + s.text.size() + (hi - lo);
    ++local.streams;
  }
  local.entries = static_cast<int64_t>(end - begin);
  if (stats != nullptr) *stats = local;
  return f;
}

// Hands the pieces to snappy as they are: it compresses 64 KiB blocks straight from a piece that
// holds one and gathers only the blocks that straddle pieces, so no serialised copy of the
// request (a MiB per push) exists beside the batch.
class PiecesSource final : public snappy::Source {
 public:
  explicit PiecesSource(const Framing& f) : pieces_(f.pieces), left_(f.total) {}
  size_t Available() const override { return left_; }
  const char* Peek(size_t* len) override {
    while (i_ < pieces_.size() && off_ == pieces_[i_].size()) {
      ++i_;
      off_ = 0;
    }
    if (i_ == pieces_.size()) {
      *len = 0;
      return nullptr;
    }
    *len = pieces_[i_].size() - off_;
    return pieces_[i_].data() + off_;
  }
  void Skip(size_t n) override {
    left_ -= n;
    while (n > 0) {
      const size_t k = std::min(n, pieces_[i_].size() - off_);
      off_ += k;
      n -= k;
      if (off_ == pieces_[i_].size() && n > 0) {
        ++i_;
        off_ = 0;
      }
    }
  }

 private:
  const std::vector<std::string_view>& pieces_;
  size_t left_;
  size_t i_ = 0, off_ = 0;
};

// Appends each compressed block to the body, which grows to the compressed size only.
class AppendSink final : public snappy::Sink {
 public:
  explicit AppendSink(std::string* out) : out_(out) {}
  void Append(const char* bytes, size_t n) override { out_->append(bytes, n); }

 private:
  std::string* out_;
};

}  // namespace

void EncodePushRequest(const Batch& batch, size_t begin, size_t end, std::string* raw,
                       EncodeStats* stats) {
  const Framing& f = Frame(batch, begin, end, stats);
  raw->clear();
  raw->reserve(f.total);
  for (std::string_view piece : f.pieces) raw->append(piece);
}

void EncodePush(const Batch& batch, size_t begin, size_t end, std::string* body,
                EncodeStats* stats) {
  PiecesSource source(Frame(batch, begin, end, stats));
  AppendSink sink(body);
  body->clear();  // keeps its capacity: the sender reuses one body across pushes
  snappy::Compress(&source, &sink);
}

namespace {

Batch BatchOf(std::span<const Entry> entries) {
  Batch batch;
  for (const Entry& e : entries) batch.Add(e.labels, e, e.line, e.ack);
  return batch;
}

}  // namespace

void EncodePushRequest(std::span<const Entry> entries, std::string* raw, EncodeStats* stats) {
  EncodePushRequest(BatchOf(entries), 0, entries.size(), raw, stats);
}

void EncodePush(std::span<const Entry> entries, std::string* body, EncodeStats* stats) {
  EncodePush(BatchOf(entries), 0, entries.size(), body, stats);
}

}  // namespace skidder::sink
