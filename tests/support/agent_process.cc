#include "support/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "support/test_util.h"

namespace skidder::testing {

AgentProcess::AgentProcess(std::string binary, std::string dir)
    : binary_(std::move(binary)), dir_(std::move(dir)) {}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) Kill();
}

bool AgentProcess::Start(const std::vector<std::string>& args) {
  ++run_;
  port_.reset();
  std::string out = dir_ + "/stdout." + std::to_string(run_) + ".txt";
  std::string err = dir_ + "/stderr." + std::to_string(run_) + ".txt";
  std::vector<std::string> argv_s = {binary_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary_.c_str(), argv.data());
    _exit(127);
  }
  return true;
}

void AgentProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int AgentProcess::Wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int AgentProcess::Terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int code = Wait(timeout_ms);
  if (pid_ > 0) Kill();
  return code;
}

bool AgentProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string AgentProcess::Stdout() const {
  return ReadFile(dir_ + "/stdout." + std::to_string(run_) + ".txt");
}

std::string AgentProcess::Stderr() const {
  return ReadFile(dir_ + "/stderr." + std::to_string(run_) + ".txt");
}

std::optional<int> AgentProcess::MetricsPort() {
  if (port_) return port_;
  static const std::regex re(R"(msg="serving metrics" port=(\d+))");
  WaitFor([&] {
    std::smatch m;
    std::string err = Stderr();
    if (std::regex_search(err, m, re)) port_ = std::stoi(m[1]);
    return port_.has_value() || !Running();
  });
  return port_;
}

std::string AgentProcess::HttpGet(const std::string& path) {
  auto port = MetricsPort();
  if (!port) return "";
  httplib::Client cli("127.0.0.1", *port);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(path.c_str());
  if (!res) return "";
  return res->body;
}

double AgentProcess::Metric(const std::string& name, const std::vector<std::string>& labels) {
  std::istringstream in(HttpGet("/metrics"));
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;  // a longer name sharing the prefix
    size_t sp = line.rfind(' ');
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) < sp;
    if (all) sum += std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return sum;
}

}  // namespace skidder::testing
