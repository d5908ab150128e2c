// Runs the real skidder binary as a child process for integration tests.
//
// stdout and stderr go to files in the test's temp dir so a failing test can print them; the
// metrics port is read from the agent's own "serving metrics" log line (the agent is started on
// port 0), so tests never race for ports.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace skidder::testing {

class AgentProcess {
 public:
  // binary: path to skidder; dir: where stdout.txt/stderr.txt are written.
  AgentProcess(std::string binary, std::string dir);
  ~AgentProcess();

  // Starts `binary args...`; returns false if fork/exec failed.
  bool Start(const std::vector<std::string>& args);
  // Sets (or, with an empty value, unsets) a variable in the environment of later Start()s;
  // the rest of the test's environment is inherited.
  void SetEnv(const std::string& name, const std::string& value);
  // Later Start()s read standard input from this file ("" = inherit).
  void SetStdinFile(std::string path) { stdin_file_ = std::move(path); }
  // Sends SIGKILL and reaps.
  void Kill();
  // Sends SIGTERM and waits up to timeout for exit; returns the exit code (or -1 on timeout/kill).
  int Terminate(int timeout_ms = 30000);
  // Waits for exit without signalling (e.g. -check-syntax); returns the exit code, 128 + the
  // signal when a signal ended it, or -1 on timeout.
  int Wait(int timeout_ms = 30000);
  bool Running();
  pid_t pid() const { return pid_; }

  std::string Stdout() const;
  std::string Stderr() const;
  // Port from the nth "serving metrics" log line of this run (a reload logs another), waiting
  // up to 20 s for it.
  std::optional<int> MetricsPort(int nth = 1);
  // GET http://127.0.0.1:<port><path>; "" on failure.
  std::string HttpGet(const std::string& path);
  // POST with an empty body; returns {status, body}, status 0 when the request failed.
  std::pair<int, std::string> HttpPost(const std::string& path);
  // Sum of the values of metric `name` over the series whose label block contains every one of
  // `labels` (e.g. {"reason=\"too_old\""}); 0 when absent.
  double Metric(const std::string& name, const std::vector<std::string>& labels = {});

 private:
  std::string binary_, dir_;
  pid_t pid_ = -1;
  int run_ = 0;  // restarts: stdout/stderr files are numbered per run
  std::optional<int> port_;
  std::map<std::string, std::string> env_;  // overrides; "" = unset
  std::string stdin_file_;
};

}  // namespace skidder::testing
