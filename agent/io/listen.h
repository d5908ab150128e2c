// Listening sockets for the receivers (syslog, GELF): Go's "host:port" addresses, as Promtail
// binds them. Every fd is non-blocking and close-on-exec. Any thread.
#pragma once

#include <string_view>

#include "util/status.h"

namespace skidder::io {

// Binds "host:port" (Go's form: "[::1]:514", ":514" = every interface, IPv4 and IPv6: "::"
// dual-stack, or 0.0.0.0 where the kernel has no IPv6; "0.0.0.0:514" = IPv4 only) for tcp
// or udp; the socket listens (tcp) or has a 1 MiB receive buffer (udp). Returns the fd. Errors
// name the address, not the key that gave it (Promtail's listen_address, Alloy's address): no
// port, an unknown host, or the address in use.
Result<int> BindListener(std::string_view address, bool udp);
// The bound port of a socket; -1 on error.
int LocalPort(int fd);

}  // namespace skidder::io
