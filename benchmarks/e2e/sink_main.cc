// A minimal local Loki for the end-to-end benchmark: accepts pushes, decodes them with the
// generated protobuf code (so a wrong encoding fails the run) and counts entries and line bytes.
// GET /count -> "<entries> <line bytes> <requests>".
// Lines that carry "wt=<unix ns>" (e2e.py --latency writes them) also record their delivery
// latency, write to decoded here; GET /latency -> "<count> <p50 ms> <p99 ms> <max ms>".
#include <httplib.h>
#include <snappy.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "push.pb.h"

namespace {

int64_t WriteTimeNs(const std::string& line) {
  size_t at = line.find("wt=");
  if (at == std::string::npos) return 0;
  return std::strtoll(line.c_str() + at + 3, nullptr, 10);
}

std::string Percentiles(std::vector<int64_t> v) {
  if (v.empty()) return "0 0 0 0\n";
  std::sort(v.begin(), v.end());
  auto ms = [&](double q) {
    return std::to_string(v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))] / 1e6);
  };
  return std::to_string(v.size()) + " " + ms(0.5) + " " + ms(0.99) + " " + ms(1.0) + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::atomic<uint64_t> entries{0}, bytes{0}, requests{0};
  std::mutex latency_mu;
  std::vector<int64_t> latencies_ns;
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
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<int64_t> lat;
    for (const auto& s : push.streams()) {
      for (const auto& e : s.entries()) {
        ++n;
        b += e.line().size();
        if (int64_t wt = WriteTimeNs(e.line()); wt > 0) lat.push_back(now - wt);
      }
    }
    if (!lat.empty()) {
      std::lock_guard lock(latency_mu);
      latencies_ns.insert(latencies_ns.end(), lat.begin(), lat.end());
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
  server.Get("/latency", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(latency_mu);
    res.set_content(Percentiles(latencies_ns), "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::printf("%d\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}
