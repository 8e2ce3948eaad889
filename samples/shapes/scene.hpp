#pragma once
// The "shapes" scenes and their yes/no questions (samples/shapes/README.md). A scene is one
// to four coloured shapes on a background, 64x64 RGB8; a question asks about it in one of
// seven templates and has a true answer. Two looks: Classic (dark grey backgrounds, filled
// shapes, 4x4 supersampled, five templates: the contract the first model was trained on) and
// Varied (any background, outlines, rounded squares, thin and fat triangles, aliased or not,
// blur, JPEG, drawn larger and resized: what pictures from other programs look like).
//
// Everything comes from one std::mt19937_64 seeded with the generator's seed, through its raw
// 64-bit outputs and this file's own uniform mappings (the std distributions differ between
// standard libraries). Geometry is kept on a 1/8-pixel grid, so every coordinate, distance
// and coverage test is exact integer arithmetic: the same seed gives the same bytes on every
// platform and compiler.
//
// This header is the whole API: it includes the image and vocabulary headers.
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <glm/vec2.hpp>
#include <glm/vec3.hpp>
#include <glm/gtc/type_precision.hpp>

#include "shapes/image.hpp"
#include "shapes/vocab.hpp"

namespace shapes {

enum class Color : uint8_t { Red, Green, Blue, Yellow };
enum class Shape : uint8_t { Circle, Square, Triangle };
constexpr int kNumColors = 4, kNumShapes = 3;
constexpr int kMaxObjects = 4;  // per scene

const char* color_name(Color c);    // "red"
const char* shape_name(Shape s);    // "circle"
const char* shape_plural(Shape s);  // "circles"
glm::u8vec3 base_rgb(Color c);      // the colour before the per-object jitter

// Object sizes and spacing, in pixels (the contract's numbers).
constexpr float kMinRadius = 6.f, kMaxRadius = 12.f;
constexpr float kVariedMinRadius = 5.f, kVariedMaxRadius = 15.f;
constexpr float kMinGap = 2.f;      // between bounding circles
constexpr float kLeftOfMinDx = 4.f;  // left_of never asks about centres closer in x
constexpr int kColorJitter = 12;     // per channel, +-, around base_rgb
constexpr int kMinBackground = 20, kMaxBackground = 60;

struct Object {
  Color color;
  Shape shape;
  // Centre and "radius" (half the extent) in pixels, x right and y down, pixel (x, y)
  // covering [x, x + 1) x [y, y + 1). Both are multiples of 1/8 px. The extent is the square
  // centre +- radius for every shape: a circle of that radius, that square, or the upright
  // triangle with its apex at the top middle and its base the bottom side.
  glm::vec2 center;
  float radius;
  glm::u8vec3 rgb;  // fill colour
  // Varied look only (zero in Classic): a square's corner radius, and a triangle's half base
  // width and half height (each at most radius; zero means radius), in pixels.
  float corner = 0, half_width = 0, half_height = 0;

  // Radius of the circle about the centre that holds the whole shape (r, or r * sqrt(2) for
  // the square and the triangle's base corners), rounded up to the 1/8 px grid.
  float bounding_radius() const;
};

enum class Look : uint8_t { Classic, Varied };

// How a Varied scene is drawn (render_varied); Classic scenes use only `background`.
struct Style {
  enum class Fill : uint8_t { Solid, Outline, SolidOutlined };
  glm::u8vec3 background0{0}, background1{0};  // a linear gradient from 0 to 1 (equal: flat)
  int gradient_angle = 0;                      // degrees, 0 = left to right
  int noise = 0;                               // per-channel uniform noise, +- this
  Fill fill = Fill::Solid;
  float stroke = 0;                            // outline width, pixels of the 64x64 scene
  glm::u8vec3 outline_rgb{0};                  // SolidOutlined: the outline's colour
  bool antialias = true;                       // 4x4 samples a pixel, else one at its centre
  int width = kImageSize, height = kImageSize;  // drawn at this size, then resized to 64x64
  bool bicubic = false;                        // that resize: PIL bicubic, else area
  bool blur = false;                           // a 3x3 binomial blur at the drawn size
  int jpeg_quality = 0;                        // 0: none, else JPEG-encoded and decoded
  uint64_t noise_seed = 0;
};

struct Scene {
  uint8_t background = 0;       // Classic: grey level of the background
  std::vector<Object> objects;  // 1 to kMaxObjects; each (color, shape) at most once; none overlap
  Style style;                  // Varied
  Image image;                  // render(objects, background), or render_varied(objects, style)
};

// One line: "3 objects on grey 37: red circle at (20.5, 31) r 8, ...".
std::string describe(const Scene& scene);

// 64x64, 4x4 supersampled: each pixel takes its colour as the mean of 16 samples at
// (x + (2i + 1) / 8, y + (2j + 1) / 8), a sample on an object's edge counting as inside.
// Centres and radii are rounded to the 1/8 px grid first. vkfuse::Error for a radius outside
// (0, 64] or a centre coordinate outside [-128, 128].
Image render(const std::vector<Object>& objects, uint8_t background);

// The Varied look (render_varied.cpp): drawn at style.width x style.height with the objects'
// 64x64 geometry scaled to it, then blurred, JPEG-coded and resized to 64x64 as the style says.
Image render_varied(const std::vector<Object>& objects, const Style& style);

enum class Template : uint8_t {
  ExistsColorShape, ExistsColor, ExistsShape, LeftOf, CountTwo,  // Classic and Varied
  LargestColor, RightOfAny                                        // Varied only
};
constexpr int kNumTemplates = 7;
constexpr int kNumClassicTemplates = 5;
int num_templates(Look look);
// "exists_color_shape", "exists_color", "exists_shape", "left_of", "count_two",
// "largest_color" ("is the largest shape red"; asked only when the largest shape's area is at
// least 1.4 times the next), "right_of_any" ("is there a shape right of the red circle")
// (index = id).
const std::vector<std::string>& template_names();

struct Question {
  Template templ;
  std::string text;  // lower case, no punctuation: "is the red circle left of the blue square"
  bool answer;       // true = yes
};

// Scenes and questions from a seed. scene() and questions() draw from one random stream, so
// the same seed and the same sequence of calls give the same scenes and questions.
class Generator {
 public:
  explicit Generator(uint64_t seed, Look look = Look::Classic);

  Scene scene();

  // count distinct questions about scene. Each question's (template, answer) cell is dealt
  // from shuffled decks of all templates x 2 cells; a cell that this scene cannot serve
  // (no left_of without two objects apart in x, no "yes" to count_two without a pair, ...)
  // waits in a queue and is served first by a later scene that can. So over many scenes the
  // templates (of the look) are equally frequent and each is half yes, to within the few requests still
  // queued. That holds for count up to 7: past it the scenes cannot supply the rare cells
  // (count_two "yes", exists_shape "no") as often as they are asked for, the queue drops its
  // oldest requests beyond 100, and those cells fall short (at 16, count_two is 30% yes).
  // vkfuse::Error if the scene has fewer than count distinct questions (every scene has at
  // least 16).
  std::vector<Question> questions(const Scene& scene, int count);

  // Requests still queued (for a caller's summary).
  size_t pending() const { return backlog_.size(); }

 private:
  void vary(Scene& s);  // the Varied look's draws after the layout

  std::mt19937_64 rng_;
  Look look_;
  std::vector<int> deck_;    // fresh cells still to be drawn, last first
  std::deque<int> backlog_;  // cells (template * 2 + answer) waiting, oldest first
};

}  // namespace shapes
