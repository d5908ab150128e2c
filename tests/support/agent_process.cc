#include "support/agent_process.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

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
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (!env_.contains(std::string(kv.substr(0, kv.find('='))))) env_s.emplace_back(kv);
  }
  for (const auto& [name, value] : env_) {
    if (!value.empty()) env_s.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& kv : env_s) envp.push_back(kv.data());
  envp.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (!stdin_file_.empty()) dup2(open(stdin_file_.c_str(), O_RDONLY), 0);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execve(binary_.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return true;
}

void AgentProcess::SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }

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
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);  // as a shell reports it
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

std::optional<int> AgentProcess::MetricsPort(int nth) {
  static const std::regex re(R"(msg="serving metrics" port=(\d+))");
  std::optional<int> found;
  WaitFor([&] {
    std::string err = Stderr();
    int seen = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), re); it != std::sregex_iterator();
         ++it) {
      if (++seen == nth) found = std::stoi((*it)[1]);
    }
    return found.has_value() || !Running();
  });
  if (found) port_ = found;
  return found;
}

std::string AgentProcess::HttpGet(const std::string& path) {
  auto port = port_ ? port_ : MetricsPort();
  if (!port) return "";
  httplib::Client cli("127.0.0.1", *port);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(path.c_str());
  if (!res) return "";
  return res->body;
}

std::pair<int, std::string> AgentProcess::HttpPost(const std::string& path) {
  auto port = port_ ? port_ : MetricsPort();
  if (!port) return {0, ""};
  httplib::Client cli("127.0.0.1", *port);
  cli.set_read_timeout(30, 0);
  auto res = cli.Post(path.c_str());
  if (!res) return {0, ""};
  return {res->status, res->body};
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
