// Double-quoted string escaping shared by the label text Loki parses (Go's %q style) and the
// agent's own JSON/logfmt log lines. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace skidder {

// How control characters other than \n, \r and \t are written.
enum class ControlEscape {
  kJson,  // \u00hh; ill-formed UTF-8 bytes become \ufffd
  kGo,    // \xhh, DEL included (what Go's %q and Prometheus' label parser expect)
};

// Appends "value" with ", \ and control characters escaped.
void AppendQuotedEscaped(std::string& out, std::string_view value, ControlEscape style);

}  // namespace skidder
