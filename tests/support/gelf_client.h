// GELF datagrams for tests: one chunk of a chunked message (send them with SendUdp from
// syslog_client.h; GelfPort there finds the port a gelf job of the agent bound).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace skidder::testing {

// Magic 0x1e 0x0f, the 8-byte message id, the sequence number, the chunk count, the data.
inline std::string GelfChunk(uint64_t id, int seq, int count, std::string_view data) {
  std::string c = "\x1e\x0f";
  c.append(reinterpret_cast<const char*>(&id), sizeof id);
  c.push_back(static_cast<char>(seq));
  c.push_back(static_cast<char>(count));
  c.append(data);
  return c;
}

}  // namespace skidder::testing
