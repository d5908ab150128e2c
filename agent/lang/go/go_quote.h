// Text quoted as Go's strconv.Quote (and fmt's %q) writes it, for output that must match what
// Promtail's templates and Alloy's components write. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace skidder::lang::go {

// Appends s between `quote`s ('"' for strconv.Quote, '\'' for QuoteRune): the quote and '\'
// escaped, \a \b \f \n \r \t \v, other control bytes and each byte of invalid UTF-8 as \xNN,
// characters Go does not print (C1 controls, non-ASCII spaces, line and paragraph separators,
// format characters such as U+200B and U+FEFF, private use) as \uNNNN or \UNNNNNNNN, others as
// they are. Unassigned code points, which Go escapes too, are written as they are.
void AppendGoQuoted(std::string_view s, char quote, std::string* out);

}  // namespace skidder::lang::go
