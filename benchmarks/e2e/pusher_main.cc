// The sender of the push-API benchmark (benchmarks/push_e2e.py): builds REQUESTS snappy protobuf
// pushes of ENTRIES access-log lines (~200 bytes, 10 streams each), then
//   1. the baseline: what a relay must at least do with them, in this process: snappy-decompress,
//      parse, serialise and snappy-compress each body again (CPU time of this thread);
//   2. pushes them to 127.0.0.1:PORT over CONNS connections, each request retried on 429/503
//      until it gets its 2xx, as Promtail's client does.
// Prints "<entries> <baseline cpu seconds> <push wall seconds>".
// Usage: bench_pusher PORT [REQUESTS=2000] [ENTRIES=500] [CONNS=4]
#include <httplib.h>
#include <snappy.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "push.pb.h"

namespace {

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string Body(std::mt19937_64& rng, int entries, int64_t ts) {
  static const char* kPaths[] = {"/api/v1/orders", "/api/v1/users", "/healthz",
                                 "/api/v2/search", "/login",        "/api/v1/payments"};
  static const char* kUsers[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
  logproto::PushRequest req;
  for (int s = 0; s < 10; ++s) {
    logproto::StreamAdapter* st = req.add_streams();
    st->set_labels("{app=\"bench\", namespace=\"ns" + std::to_string(s) + "\", pod=\"pod-" +
                   std::to_string(s) + "\"}");
    for (int i = 0; i < entries / 10; ++i, ++ts) {
      logproto::EntryAdapter* e = st->add_entries();
      e->mutable_timestamp()->set_seconds(ts / 1'000'000'000);
      e->mutable_timestamp()->set_nanos(static_cast<int32_t>(ts % 1'000'000'000));
      char line[256];
      std::snprintf(line, sizeof line,
                    "GET %s/%08llx 200 %llums user=%s@example.com trace=%016llx span=%08llx "
                    "ua=\"Mozilla/5.0 (X11; Linux x86_64) rv:120.0\" bytes=%llu",
                    kPaths[rng() % 6], static_cast<unsigned long long>(rng() % 0xffffffff),
                    static_cast<unsigned long long>(rng() % 2500), kUsers[rng() % 6],
                    static_cast<unsigned long long>(rng()),
                    static_cast<unsigned long long>(rng() % 0xffffffff),
                    static_cast<unsigned long long>(rng() % 90000));
      e->set_line(line);
    }
  }
  std::string raw = req.SerializeAsString(), out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const int port = std::atoi(argv[1]);
  const int requests = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int entries = argc > 3 ? std::atoi(argv[3]) : 500;
  const int conns = argc > 4 ? std::atoi(argv[4]) : 4;
  std::mt19937_64 rng(1);
  std::vector<std::string> bodies;
  int64_t ts = 1'764'000'000'000'000'000;
  for (int r = 0; r < requests; ++r, ts += entries) bodies.push_back(Body(rng, entries, ts));

  const double cpu0 = ThreadCpu();
  size_t check = 0;
  for (const std::string& b : bodies) {
    std::string raw, again;
    logproto::PushRequest req;
    snappy::Uncompress(b.data(), b.size(), &raw);
    req.ParseFromString(raw);
    req.SerializeToString(&raw);
    snappy::Compress(raw.data(), raw.size(), &again);
    check += again.size();
  }
  const double baseline_cpu = ThreadCpu() - cpu0;

  std::atomic<int> next{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(60, 0);
      for (int i = next++; i < requests; i = next++) {
        while (true) {
          auto res = cli.Post("/loki/api/v1/push", bodies[i], "application/x-protobuf");
          if (res && res->status / 100 == 2) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(res ? 50 : 200));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%lld %.3f %.3f %zu\n", static_cast<long long>(requests) * entries, baseline_cpu,
              wall, check);
  return 0;
}
