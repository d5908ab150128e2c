// A minimal local Loki for the end-to-end benchmark: accepts pushes, decodes them with the
// generated protobuf code (so a wrong encoding fails the run) and counts entries and line bytes.
// GET /count -> "<entries> <line bytes>".
#include <httplib.h>
#include <snappy.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "push.pb.h"

int main(int argc, char** argv) {
  std::atomic<uint64_t> entries{0}, bytes{0}, requests{0};
  httplib::Server server;
  server.Post("/loki/api/v1/push", [&](const httplib::Request& req, httplib::Response& res) {
    std::string raw;
    logproto::PushRequest push;
    if (!snappy::Uncompress(req.body.data(), req.body.size(), &raw) || !push.ParseFromString(raw)) {
      res.status = 400;
      res.set_content("bad request body", "text/plain");
      return;
    }
    uint64_t n = 0, b = 0;
    for (const auto& s : push.streams()) {
      for (const auto& e : s.entries()) {
        ++n;
        b += e.line().size();
      }
    }
    entries += n;
    bytes += b;
    ++requests;
    res.status = 204;
  });
  server.Get("/count", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::to_string(entries.load()) + " " + std::to_string(bytes.load()) + " " +
                        std::to_string(requests.load()) + "\n",
                    "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::printf("%d\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}
