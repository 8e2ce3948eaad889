#pragma once
// The command line run as a user runs it, from a test: exit status, everything it printed,
// how long it took, and the peak resident memory of the programs run so far.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace vkt {

struct CliResult {
  int status = -1;
  std::string out;
  double seconds = 0;
  double peak_mib = 0;  // the largest resident set of the command (and what it ran)
  bool exited_with_error() const { return WIFEXITED(status) && WEXITSTATUS(status) != 0; }
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// `env` is prepended to the command line (VAR=value ...). Runs through /bin/sh, stdout and
// stderr together; wait4 gives the command's own peak memory.
inline CliResult cli(const std::string& args, const std::string& env = "") {
  CliResult r;
  const std::string cmd = "exec env " + env + " " + std::string(VKFUSE_CLI) + " " + args + " 2>&1";
  int fds[2];
  if (::pipe(fds) != 0) return r;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, size_t(n));
  ::close(fds[0]);
  struct rusage u {};
  ::wait4(pid, &r.status, 0, &u);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.peak_mib = double(u.ru_maxrss) / 1024.0;
  return r;
}

// A normal non-zero exit with one line naming `needle`.
inline ::testing::AssertionResult one_line_error(const CliResult& r, const std::string& needle) {
  if (!WIFEXITED(r.status)) return ::testing::AssertionFailure() << "crashed (status " << r.status << "): " << r.out;
  if (WEXITSTATUS(r.status) == 0) return ::testing::AssertionFailure() << "exit 0: " << r.out;
  if (r.out.empty() || r.out.find('\n') != r.out.size() - 1)
    return ::testing::AssertionFailure() << "not one line: " << r.out;
  if (r.out.find(needle) == std::string::npos)
    return ::testing::AssertionFailure() << "'" << needle << "' not in: " << r.out;
  return ::testing::AssertionSuccess();
}

}  // namespace vkt
