// image_run: runs a program inside an unpacked image's root filesystem the way the Helm chart's
// pod runs the agent, without a container runtime (the test machine has no working one):
//
//   image_run ROOTFS [--ro SRC:DST]... [--rw SRC:DST]... [--user UID:GID] [--cwd DIR]
//             [--env NAME=VALUE]... -- PROGRAM [ARG]...
//
// In a private mount namespace: ROOTFS bind-mounted on itself, the host's /proc and /dev under
// it, the volumes (--ro, --rw) at their places, then ROOTFS remounted read-only
// (readOnlyRootFilesystem); chroot; no_new_privs (allowPrivilegeEscalation: false); every
// capability dropped from the bounding, permitted, effective, inheritable and ambient sets
// (capabilities.drop: [ALL]); the image's user; only the given environment; exec. The
// network namespace is the host's, so the agent reaches the fake Loki on 127.0.0.1.
// Any failed step prints "image_run: <step>: <error>" and exits 127.
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& step) {
  std::fprintf(stderr, "image_run: %s: %s\n", step.c_str(), std::strerror(errno));
  std::_Exit(127);
}

struct Volume {
  std::string src, dst;
  bool read_only;
};

struct Options {
  std::string rootfs, cwd = "/";
  std::vector<Volume> volumes;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::string> env, argv;
};

Options Parse(int argc, char** argv) {
  Options o;
  if (argc < 4) errno = EINVAL, Die("usage: image_run ROOTFS [options] -- PROGRAM [ARG]...");
  o.rootfs = argv[1];
  int i = 2;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; i += 2) {
    if (i + 1 >= argc) errno = EINVAL, Die(std::string("missing value for ") + argv[i]);
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--ro" || flag == "--rw") {
      size_t colon = value.find(':');
      o.volumes.push_back({value.substr(0, colon), value.substr(colon + 1), flag == "--ro"});
    } else if (flag == "--user") {
      o.uid = std::stoul(value);
      o.gid = std::stoul(value.substr(value.find(':') + 1));
    } else if (flag == "--cwd") {
      o.cwd = value;
    } else if (flag == "--env") {
      o.env.push_back(value);
    } else {
      errno = EINVAL, Die("unknown option " + flag);
    }
  }
  for (++i; i < argc; ++i) o.argv.push_back(argv[i]);
  if (o.argv.empty()) errno = EINVAL, Die("no program after --");
  return o;
}

// As a runtime does: a volume's mount point is made in the root filesystem when the image
// lacks it (a directory, or an empty file for a file such as /etc/machine-id).
void MakeMountPoint(const std::string& src, const std::string& dst) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dst, ec)) return;
  if (fs::is_directory(src, ec)) {
    fs::create_directories(dst, ec);
  } else {
    fs::create_directories(fs::path(dst).parent_path(), ec);
    std::ofstream{dst};
  }
}

void Bind(const std::string& src, const std::string& dst, bool read_only) {
  MakeMountPoint(src, dst);
  if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Die("bind " + src + " on " + dst);
  }
  if (read_only && ::mount(nullptr, dst.c_str(), nullptr,
                           MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    Die("remount read-only " + dst);
  }
}

// The mounts a runtime makes, in a namespace of our own; the root goes read-only last, after
// its mount points were filled.
void MountRoot(const Options& o) {
  if (::unshare(CLONE_NEWNS) != 0) Die("unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Die("make / private");
  Bind(o.rootfs, o.rootfs, false);
  Bind("/proc", o.rootfs + "/proc", false);
  Bind("/dev", o.rootfs + "/dev", false);
  for (const Volume& v : o.volumes) Bind(v.src, o.rootfs + v.dst, v.read_only);
  if (::mount(nullptr, o.rootfs.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    Die("remount the root filesystem read-only");
  }
  if (::chroot(o.rootfs.c_str()) != 0) Die("chroot " + o.rootfs);
  if (::chdir(o.cwd.c_str()) != 0) Die("chdir " + o.cwd);
}

int LastCap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  f >> last;
  return last;
}

void DropPrivileges(const Options& o) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die("no_new_privs");
  for (int cap = 0, last = LastCap(); cap <= last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) Die("drop capability from bounding set");
  }
  if (::setgroups(0, nullptr) != 0) Die("setgroups");
  if (::setgid(o.gid) != 0) Die("setgid");
  if (::setuid(o.uid) != 0) Die("setuid");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, data) != 0) Die("capset (clear all)");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) Die("clear ambient");
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  MountRoot(o);
  DropPrivileges(o);
  std::vector<char*> args, env;
  for (std::string& a : o.argv) args.push_back(a.data());
  for (std::string& e : o.env) env.push_back(e.data());
  args.push_back(nullptr);
  env.push_back(nullptr);
  ::execve(args[0], args.data(), env.data());
  Die("exec " + o.argv[0]);
}
