// The pipeline cache file in a directory anyone may have planted things in: a FIFO, a link
// to /dev/zero, a directory, an oversized file or a link at a temporary name costs one
// warning and a run without the cache, never a hang, an error or a write through a link.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gpu_test.hpp"
#include "runtime/cache_file.h"
#include "runtime/context_impl.h"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// A context whose cache lives in `dir`, under the validation layer: its cache warnings are
// collected, and any other message (a validation message) fails the test.
struct Cached {
  std::vector<std::string> warnings;
  std::unique_ptr<vkfuse::Context> ctx;
  explicit Cached(const fs::path& dir) {
    vkfuse::Options o;
    o.pipeline_cache_dir = dir.string();
    o.validation = true;
    o.on_message = [this](vkfuse::MessageSeverity, const std::string& m) {
      if (m.rfind("pipeline cache ", 0) == 0)
        warnings.push_back(m);
      else
        ADD_FAILURE() << "validation: " << m;
    };
    ctx = std::make_unique<vkfuse::Context>(o);
  }
  std::string path() const { return ctx->impl()->pipelines->path(); }
  size_t loaded() const { return ctx->impl()->pipelines->loaded_bytes(); }
  // One matmul through a pipeline, checked: the context works without its cache.
  void runs() {
    auto a = vkt::random_vec(8 * 8, 1), b = vkt::random_vec(8 * 8, 2);
    vkfuse::Tensor ta = ctx->tensor({8, 8}, a), tb = ctx->tensor({8, 8}, b), tc = ctx->tensor({8, 8});
    vkt::run_once(*ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, tc); });
    std::vector<float> want(64);
    vkfuse::ref::matmul(a.data(), b.data(), want.data(), 1, 8, 8, 8, {}, nullptr, false);
    EXPECT_TRUE(vkt::near_all(tc.read(), want, 1e-5f, 0.f));
  }
  bool warned(const std::string& needle) const {
    for (const auto& w : warnings)
      if (w.find(needle) != std::string::npos) return true;
    return false;
  }
};

// The cache file's name for this device, found by a context on a clean directory.
fs::path cache_file(const fs::path& dir) {
  fs::remove_all(dir);
  Cached c(dir);
  const fs::path p = c.path();
  c.ctx.reset();  // saves
  EXPECT_TRUE(fs::is_regular_file(p)) << p;
  fs::remove(p);
  return p;
}

TEST(PipelineCacheFile, SavedAndLoadedAsARegularFile) {
  const fs::path dir = vkt::temp_dir() / "cache_ok";
  const fs::path p = cache_file(dir);
  {
    Cached c(dir);
    c.runs();
  }
  ASSERT_TRUE(fs::is_regular_file(p));
  Cached again(dir);
  EXPECT_GT(again.loaded(), 0u);
  EXPECT_TRUE(again.warnings.empty());
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path(), p) << "a temporary was left behind";
}

TEST(PipelineCacheFile, FifoAtItsPathIsAWarningNotAHang) {
  const fs::path dir = vkt::temp_dir() / "cache_fifo", p = cache_file(dir);
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  {
    Cached c(dir);
    c.runs();
    EXPECT_TRUE(c.warned("is not a regular file; running without it"));
    c.ctx.reset();
    EXPECT_TRUE(c.warned("is not a regular file; the cache is not saved"));
  }
  EXPECT_TRUE(fs::is_fifo(p));
}

TEST(PipelineCacheFile, LinkToDevZeroIsNotFollowed) {
  const fs::path dir = vkt::temp_dir() / "cache_zero", p = cache_file(dir);
  fs::create_symlink("/dev/zero", p);
  Cached c(dir);
  c.runs();
  EXPECT_EQ(c.loaded(), 0u);
  EXPECT_TRUE(c.warned("is a symbolic link"));
  c.ctx.reset();
  EXPECT_TRUE(fs::is_symlink(p)) << "the link was replaced or written through";
}

TEST(PipelineCacheFile, DirectoryAtItsPathIsSkipped) {
  const fs::path dir = vkt::temp_dir() / "cache_dir", p = cache_file(dir);
  fs::create_directory(p);
  Cached c(dir);
  c.runs();
  EXPECT_TRUE(c.warned("is not a regular file"));
  c.ctx.reset();
  EXPECT_TRUE(fs::is_directory(p));
}

TEST(PipelineCacheFile, OversizedFileIsNotRead) {
  const fs::path dir = vkt::temp_dir() / "cache_big", p = cache_file(dir);
  { std::ofstream(p.string()) << "x"; }
  fs::resize_file(p, (64u << 20) + 1);  // sparse
  Cached c(dir);
  c.runs();
  EXPECT_EQ(c.loaded(), 0u);
  EXPECT_TRUE(c.warned("over the 64 MiB a cache file may hold"));
}

// A link planted at the temporary's name must not make the save write through it into a
// file of the user's (the old code wrote <file>.tmp<pid> without O_EXCL|O_NOFOLLOW). The
// temporary's name is random now; write_cache_file is given the planted one here.
TEST(PipelineCacheFile, PlantedTemporaryLinkIsNeverWrittenThrough) {
  const fs::path dir = vkt::temp_dir() / "cache_plant";
  fs::create_directories(dir);
  const fs::path p = dir / "pipelines.bin", tmp = dir / "pipelines.bin.tmp";
  const fs::path victim = vkt::temp_dir() / "precious.txt";
  { std::ofstream(victim.string()) << "precious"; }
  fs::create_symlink(victim, tmp);
  std::vector<std::string> warnings;
  vkfuse::detail::write_cache_file(p.string(), {'c', 'a', 'c', 'h', 'e'},
                                   [&](const std::string& m) { warnings.push_back(m); }, tmp.string());
  std::ifstream f(victim.string());
  std::string got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "precious");
  EXPECT_TRUE(fs::is_symlink(tmp));
  EXPECT_FALSE(fs::exists(p)) << "the save went on through the planted name";
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cannot create"), std::string::npos) << warnings[0];
  // And the ordinary save, through a random name, leaves only the cache file.
  fs::remove(tmp);
  vkfuse::detail::write_cache_file(p.string(), {'c'}, [&](const std::string& m) { warnings.push_back(m); });
  EXPECT_TRUE(fs::is_regular_file(p));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

}  // namespace
