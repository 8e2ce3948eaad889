// Pictures in (include/vkfuse/image.hpp) against what PIL and Hugging Face's
// CLIPImageProcessor steps make of the same files (tools/gen_image_cases.py wrote
// tests/data/image/): decoding exactly as PIL's convert("RGB"), PIL's resampling bit for bit,
// the preprocessing to fp32 rounding; and one clear error for each bad file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "temp_dir.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"
#include "vkfuse/safetensors.hpp"

namespace fs = std::filesystem;
using vkfuse::Image;

namespace {

const fs::path kDir = fs::path(VKFUSE_TEST_DATA) / "image";

const vkfuse::SafetensorsFile& expected() {
  static const auto f = vkfuse::SafetensorsFile::open((kDir / "expected.safetensors").string());
  return f;
}

std::vector<uint8_t> u8(const std::string& name) {
  const auto& t = expected().tensor(name);
  const auto* p = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(p, p + vkfuse::shape_numel(t.shape));
}

TEST(Image, DecodesPngLikePilConvertRgb) {
  for (const char* name : {"rgb", "rgba", "grey", "palette"}) {
    Image im = vkfuse::read_image((kDir / (std::string(name) + ".png")).string());
    const auto& want = expected().tensor(std::string("pixels_") + name);
    EXPECT_EQ(im.height, want.shape[0]) << name;
    EXPECT_EQ(im.width, want.shape[1]) << name;
    EXPECT_EQ(im.rgb, u8(std::string("pixels_") + name)) << name;
  }
}

TEST(Image, DecodesJpegCloseToTheOriginal) {
  // stb's JPEG decoder is not libjpeg's (PIL's): its IDCT and chroma upsampling differ by a
  // few levels (measured: at most MAX_JPEG_DIFF below, mean under 1).
  Image jpg = vkfuse::read_image((kDir / "rgb.jpg").string());
  const auto want = u8("pixels_rgb_jpg");
  ASSERT_EQ(jpg.rgb.size(), want.size());
  int worst = 0;
  double sum = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(int(jpg.rgb[i]) - int(want[i])));
    sum += std::abs(int(jpg.rgb[i]) - int(want[i]));
  }
  std::printf("stb vs libjpeg: max %d, mean %.3f levels\n", worst, sum / want.size());
  EXPECT_LE(worst, 8);
  EXPECT_LT(sum / want.size(), 1.0);
}

TEST(Image, ResizeIsPilsBitForBit) {
  Image rgb = vkfuse::read_image((kDir / "rgb.png").string());
  int checked = 0;
  for (const auto& name : expected().names()) {
    if (name.rfind("resize_rgb_", 0) != 0) continue;
    const bool cubic = name.find("bicubic") != std::string::npos;
    const auto& t = expected().tensor(name);
    Image got = vkfuse::resize(rgb, int(t.shape[1]), int(t.shape[0]),
                               cubic ? vkfuse::Resample::Bicubic : vkfuse::Resample::Bilinear);
    EXPECT_EQ(got.rgb, u8(name)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 10);
}

TEST(Image, PreprocessingMatchesClipImageProcessor) {
  const auto& md = expected().metadata();
  int checked = 0;
  for (const char* pic : {"rgb", "rgba", "grey", "palette"}) {
    Image im = vkfuse::read_image((kDir / (std::string(pic) + ".png")).string());
    for (const char* c : {"clip", "up", "pad", "plain"}) {
      auto pre = vkfuse::ImagePreprocess::from_json(md.at(std::string("case.") + c), c);
      int h = 0, w = 0;
      std::vector<float> got = pre.apply(im, h, w);
      const std::string name = std::string("pre_") + pic + "_" + c;
      const auto& t = expected().tensor(name);
      ASSERT_EQ((vkfuse::Shape{3, h, w}), t.shape) << name;
      auto want = expected().to_f32(name);
      float worst = 0;
      for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
      EXPECT_LE(worst, 1e-6f) << name;  // the same float32 operations in the same order
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);
}

TEST(Image, HandWorkedPreprocessing) {
  // One 2x1 picture, no resize: pixel 255 -> 255/255 = 1 -> (1 - 0.5) / 0.25 = 2; pixel 0 -> -2.
  Image im{2, 1, {255, 0, 51, 0, 255, 102}};
  auto pre = vkfuse::ImagePreprocess::from_json(R"({"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]})", "t");
  int h = 0, w = 0;
  auto v = pre.apply(im, h, w);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_FLOAT_EQ(v[0], 2.f);   // R of pixel 0
  EXPECT_FLOAT_EQ(v[1], -2.f);  // R of pixel 1
  EXPECT_FLOAT_EQ(v[2], -2.f);  // G of pixel 0
  EXPECT_NEAR(v[4], (51.f / 255.f - 0.5f) / 0.25f, 1e-6f);
}

TEST(Image, CropPaddingHuggingFaceAndTorchvision) {
  // One white pixel cropped to 4x4: Hugging Face pads ceil(3/2) = 2 rows and columns before
  // it, torchvision (crop_offset "round") (4 - 1) // 2 = 1.
  Image im{1, 1, {255, 255, 255}};
  for (const char* mode : {"floor", "round"}) {
    auto pre = vkfuse::ImagePreprocess::from_json(
        std::string(R"({"crop":[4,4],"crop_offset":")") + mode + R"(","mean":[0,0,0],"std":[1,1,1]})", mode);
    int h = 0, w = 0;
    auto v = pre.apply(im, h, w);
    ASSERT_EQ(h * w, 16);
    const int at = std::string(mode) == "floor" ? 2 : 1;
    for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(v[i], i == at * 4 + at ? 1.f : 0.f) << mode << " " << i;
  }
  // A picture larger than the crop by an odd amount: 7 -> 4 leaves 3, floor 1 and round 2
  // (1.5 to even); 9 -> 4 leaves 5, 2 and 2 (2.5 to even).
  for (int side : {7, 9}) {
    Image big{side, 1, {}};
    for (int x = 0; x < side; ++x) big.rgb.insert(big.rgb.end(), {uint8_t(x), uint8_t(x), uint8_t(x)});
    for (const char* mode : {"floor", "round"}) {
      auto pre = vkfuse::ImagePreprocess::from_json(
          std::string(R"({"crop":[1,4],"crop_offset":")") + mode + R"(","rescale_factor":1,"mean":[0,0,0],"std":[1,1,1]})",
          mode);
      int h = 0, w = 0;
      auto v = pre.apply(big, h, w);
      const int want = side == 7 ? (std::string(mode) == "floor" ? 1 : 2) : 2;
      EXPECT_FLOAT_EQ(v[0], float(want)) << side << " " << mode;
    }
  }
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing '" << part << "'";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << " (wanted '" << part << "')";
  }
}

TEST(Image, BadFilesGiveOneClearError) {
  const fs::path dir = vkt::temp_dir() / "image";
  fs::create_directories(dir);
  expect_error([&] { vkfuse::read_image((dir / "missing.png").string()); }, "cannot open");
  auto write = [&](const char* name, const std::string& bytes) {
    std::ofstream((dir / name).string(), std::ios::binary) << bytes;
    return (dir / name).string();
  };
  expect_error([&] { vkfuse::read_image(write("text.png", "hello, not a picture")); }, "not a picture");
  std::ifstream f((kDir / "rgb.png").string(), std::ios::binary);
  std::string png((std::istreambuf_iterator<char>(f)), {});
  expect_error([&] { vkfuse::read_image(write("cut.png", png.substr(0, png.size() / 2))); }, "does not decode");
  // A header declaring 17000 x 17000 pixels (the IHDR width and height fields), over
  // kMaxImagePixels: refused before anything is decoded.
  std::string huge = png;
  const char dims[8] = {0, 0, 0x42, 0x68, 0, 0, 0x42, 0x68};
  huge.replace(16, 8, dims, 8);
  expect_error([&] { vkfuse::read_image(write("huge.png", huge)); }, "pixels");
  // 5000 x 5000 (75 MB decoded) declared by a 2 KB file: more than its bytes can hold.
  const char dims2[8] = {0, 0, 0x13, (char)0x88, 0, 0, 0x13, (char)0x88};
  std::string big = png;
  big.replace(16, 8, dims2, 8);
  expect_error([&] { vkfuse::read_image(write("big.png", big)); }, "bytes can hold");
  expect_error([&] { vkfuse::read_image(dir.string()); }, "a directory");
  // An empty IDAT chunk (length 0, then its CRC) right after IHDR, before the image data:
  // refused (stb_image would memcpy to a null pointer); the same chunk after the data decodes.
  const std::string empty_idat("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12);
  std::string early = png;
  early.insert(33, empty_idat);  // the signature (8) and IHDR (25)
  expect_error([&] { vkfuse::read_image(write("empty_idat.png", early)); }, "empty IDAT");
  // An IDAT declaring 1 GiB in a file of a few KiB: refused before stb_image sizes its buffer
  // by it (it asked for 2 GiB; tests/fuzz/fuzz_image found it).
  const std::string giant_idat("\x40\0\0\0IDATx\x9c", 10);
  std::string giant = png;
  giant.insert(33, giant_idat);
  expect_error([&] { vkfuse::read_image(write("giant_idat.png", giant)); }, "more bytes than the file has left");
  std::string late = png;
  late.insert(late.size() - 12, empty_idat);  // before IEND
  const vkfuse::Image ok = vkfuse::read_image(write("late_empty_idat.png", late));
  EXPECT_EQ(ok.rgb, vkfuse::read_image((kDir / "rgb.png").string()).rgb);
}

TEST(Image, BadPreprocessingJsonGivesOneClearError) {
  expect_error([] { vkfuse::ImagePreprocess::from_json(R"({"mean":[0,0,0]})", "m"); }, "'std' is missing");
  expect_error([] { vkfuse::ImagePreprocess::from_json(R"({"mean":[0,0],"std":[1,1,1]})", "m"); }, "3 numbers");
  expect_error([] { vkfuse::ImagePreprocess::from_json(R"({"mean":[0,0,0],"std":[1,0,1]})", "m"); }, "positive");
  expect_error([] { vkfuse::ImagePreprocess::from_json(R"({"mean":[0,0,0],"std":[1,1,1],"resample":"lanczos"})", "m"); },
               "resample");
  expect_error([] { vkfuse::ImagePreprocess::from_json(R"({"mean":[0,0,0],"std":[1,1,1],"do_flip":true})", "m"); },
               "do_flip");
  expect_error([] { vkfuse::ImagePreprocess::from_json("{", "m"); }, "m");
}

}  // namespace
