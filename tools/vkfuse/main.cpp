// vkfuse: the command line (docs/model-format.md §3).
#include <cstdio>
#include <new>
#include <string>

#include "commands.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/version.h"

int main(int argc, char** argv) {
  CLI::App app{"vkfuse: transformer encoders and vision-text fusion on any Vulkan GPU"};
  app.set_version_flag("--version", std::string("vkfuse ") + VKFUSE_VERSION_STRING + " (" + VKFUSE_COMMIT_STRING + ")");
  app.require_subcommand(1);
  add_devices_command(app);
  add_bench_command(app);
  add_run_command(app);
  add_tokenize_command(app);
  add_retrieval_commands(app);
  add_check_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::bad_alloc&) {
    // Inputs and models are checked against their bytes before anything is sized by them;
    // what is left is a machine that is really out of memory.
    std::fputs("vkfuse: error: out of host memory running 'vkfuse", stderr);  // nothing allocated here
    for (int i = 1; i < argc; ++i) std::fprintf(stderr, " %s", argv[i]);
    std::fputs("'\n", stderr);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkfuse: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
