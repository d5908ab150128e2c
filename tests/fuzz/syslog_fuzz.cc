// libFuzzer target: a syslog byte stream through the framer, RFC and raw (fed in two pieces at
// an input-chosen split, as TCP may deliver it), every message through the three parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "sources/syslog/framer.h"
#include "sources/syslog/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::sources::syslog;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t max_len = 64 + (size % 512);
  const size_t split = size == 0 ? 0 : (data[0] * 7919u) % (size + 1);
  SyslogMessage msg;
  size_t seen = 0;
  auto on = [&](StreamFramer::Event, std::string_view frame) {
    FUZZ_CHECK(frame.size() <= max_len);
    seen += frame.size();
    for (int format : {0, 1, 2}) {
      skidder::Status st = format == 0   ? ParseRfc5424(frame, &msg)
                           : format == 1 ? ParseRfc3164(frame, 1'700'000'000'000'000'000, &msg)
                                         : ParseRaw(frame, &msg);
      FUZZ_CHECK(format != 2 || st.ok());  // raw never fails
      if (format == 2 && msg.priority < 0) {
        if (msg.message) {
          FUZZ_CHECK(!msg.message->empty());
          FUZZ_CHECK(msg.message->data() >= frame.data() &&
                     msg.message->data() + msg.message->size() <= frame.data() + frame.size());
        }
        continue;
      }
      if (!st.ok()) continue;
      FUZZ_CHECK(msg.priority >= 0 && msg.priority <= 191);
      FUZZ_CHECK(!SeverityName(msg.priority % 8).empty());
      FUZZ_CHECK(!FacilityName(msg.priority / 8).empty());
      if (msg.message) {
        FUZZ_CHECK(!msg.message->empty());
        FUZZ_CHECK(msg.message->data() >= frame.data() &&
                   msg.message->data() + msg.message->size() <= frame.data() + frame.size());
      }
    }
  };
  for (int mode : {0, 1, 2}) {  // RFC framing; raw with '\n'; raw with '\0'
    StreamFramer framer =
        mode == 0 ? StreamFramer(max_len) : StreamFramer(max_len, mode == 1 ? '\n' : '\0');
    seen = 0;
    auto err = framer.Feed(in.substr(0, split), false, on);
    // Never more than one message and one read held between reads.
    FUZZ_CHECK(framer.buffered() <= max_len + 16 || err != StreamFramer::Error::kNone);
    if (err == StreamFramer::Error::kNone) err = framer.Feed(in.substr(split), true, on);
    FUZZ_CHECK(seen <= size);
    FUZZ_CHECK(framer.buffered() == 0 || err != StreamFramer::Error::kNone);
  }
  return 0;
}
