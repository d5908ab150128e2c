#include "io/proxy.h"

#include "io/http_client.h"

namespace skidder::io {

std::vector<std::string> ProxyConnectHeaderLines(
    const std::map<std::string, std::vector<std::string>>& headers) {
  std::vector<std::string> lines;
  for (const auto& [name, values] : headers) {
    for (const std::string& value : values) {
      if (ValidHeader(name, value)) lines.push_back(name + ": " + value);
    }
  }
  return lines;
}

}  // namespace skidder::io
