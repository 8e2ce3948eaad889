#pragma once
// The samples' progress line on stderr: on a terminal one line, redrawn per batch; in a log,
// five lines at most.
#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace shapes {

struct Progress {
  const char* what;   // "GPU", "indexing"
  const char* units;  // "questions", "pictures"
  size_t n;
  bool tty = isatty(2) != 0;
  size_t next = 0;
  void operator()(size_t done) {
    if (tty) {
      std::fprintf(stderr, "\r  %s: %zu/%zu %s%s", what, done, n, units, done == n ? "\n" : "");
    } else if (done >= next || done == n) {
      std::fprintf(stderr, "  %s: %zu/%zu %s\n", what, done, n, units);
      next = done + (n + 3) / 4;
    }
  }
};

}  // namespace shapes
