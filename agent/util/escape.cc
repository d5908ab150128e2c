#include "util/escape.h"

#include <fmt/format.h>

namespace skidder {

void AppendQuotedEscaped(std::string& out, std::string_view value, ControlEscape style) {
  out.push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (style == ControlEscape::kJson && c < 0x20) {
          out.append(fmt::format("\\u{:04x}", c));
        } else if (style == ControlEscape::kGo && (c < 0x20 || c == 0x7f)) {
          out.append(fmt::format("\\x{:02x}", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace skidder
