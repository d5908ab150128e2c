#include "formats/docker.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "formats/timestamp.h"
#include "util/json_parse.h"

namespace skidder::formats {
namespace {

// SAX handler: keeps the three top-level string fields, skips anything else (e.g. "attrs").
class Handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Handler> {
 public:
  enum Field { kNone, kLog, kStream, kTime };

  explicit Handler(DockerRecord* out) : out_(out) {}

  bool StartObject() {
    if (field_ != kNone) return TypeError();
    return Enter();
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) return false;  // top level must be an object
    if (field_ != kNone) return TypeError();
    return Enter();
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    std::string_view k(s, n);
    field_ = depth_ != 1     ? kNone
             : k == "log"    ? kLog
             : k == "stream" ? kStream
             : k == "time"   ? kTime
                             : kNone;
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 0) return false;
    std::string_view v(s, n);
    switch (field_) {
      case kLog:
        out_->message.assign(v);
        seen_ |= 1;
        break;
      case kStream:
        stream_ = v == "stdout" ? 1 : v == "stderr" ? 2 : 3;
        seen_ |= 2;
        break;
      case kTime:
        out_->time.assign(v);
        seen_ |= 4;
        break;
      case kNone:
        break;
    }
    field_ = kNone;
    return true;
  }
  // Any other scalar: fine inside the object, but a known field must be a string.
  bool Default() {
    if (field_ != kNone) return TypeError();
    return depth_ != 0;
  }
  bool TypeError() {
    bad_type_ = true;
    return false;
  }
  // Extra keys may hold anything; nesting is bounded like every JSON the agent reads.
  bool Enter() {
    if (++depth_ <= static_cast<int>(kMaxJsonDepth)) return true;
    too_deep_ = true;
    return false;
  }

  int seen_ = 0;
  int stream_ = 0;  // 1 stdout, 2 stderr, 3 other
  bool bad_type_ = false;
  bool too_deep_ = false;

 private:
  DockerRecord* out_;
  int depth_ = 0;
  Field field_ = kNone;
};

}  // namespace

Status ParseDockerJson(std::string_view line, DockerRecord* out) {
  // A small arena on the stack serves the parser's stack for ordinary lines.
  char arena[1024];
  rapidjson::MemoryPoolAllocator<> alloc(arena, sizeof(arena));
  rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>
      reader(&alloc, 256);
  rapidjson::MemoryStream ms(line.data(), line.size());
  Handler h(out);
  // Iterative: the recursive parser would use the thread's stack for each nesting level.
  rapidjson::ParseResult ok =
      reader.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(ms, h);
  if (h.too_deep_) {
    return InvalidArgument("docker: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " at offset " + std::to_string(ok.Offset()));
  }
  if (h.bad_type_) return InvalidArgument("docker: log, stream and time must be strings");
  if (!ok) {
    return InvalidArgument(std::string("docker: bad JSON at offset ") +
                           std::to_string(ok.Offset()) + ": " +
                           rapidjson::GetParseError_En(ok.Code()));
  }
  // Only whitespace may follow the object.
  for (size_t i = ms.Tell(); i < line.size(); ++i) {
    char c = line[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return InvalidArgument("docker: trailing characters after the JSON object");
    }
  }
  if (!(h.seen_ & 1)) return InvalidArgument("docker: missing \"log\"");
  if (!(h.seen_ & 2)) return InvalidArgument("docker: missing \"stream\"");
  if (!(h.seen_ & 4)) return InvalidArgument("docker: missing \"time\"");
  if (h.stream_ == 3) return InvalidArgument("docker: stream is neither stdout nor stderr");
  out->stream = h.stream_ == 1 ? Stream::kStdout : Stream::kStderr;
  const char* why = nullptr;
  if (!ParseRfc3339Nano(out->time, &out->timestamp_ns, &why)) {
    return InvalidArgument(std::string("docker: bad time: ") + why);
  }
  out->partial = out->message.empty() || out->message.back() != '\n';
  if (!out->partial) out->message.pop_back();
  return Status::Ok();
}

Result<DockerRecord> ParseDockerJson(std::string_view line) {
  DockerRecord r;
  Status s = ParseDockerJson(line, &r);
  if (!s.ok()) return Err(std::move(s));
  return r;
}

}  // namespace skidder::formats
