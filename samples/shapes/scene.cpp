// Shapes scenes: random layout, supersampled rasterization, and the question templates.
#include "shapes/scene.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <glm/common.hpp>
#include <glm/vec2.hpp>
#include <set>

#include "vkfuse/error.hpp"

namespace shapes {

namespace {

using Rng = std::mt19937_64;

// Uniform in [0, n) for n > 0. Raw outputs below 2^64 mod n are redrawn; the 2^64 - (2^64 mod n)
// values left are a whole number of runs of n, so x % n is exactly uniform.
uint64_t below(Rng& rng, uint64_t n) {
  const uint64_t reject = (0 - n) % n;  // 2^64 mod n, in 64-bit wrap-around arithmetic
  for (;;) {
    const uint64_t x = rng();
    if (x >= reject) return x % n;
  }
}

int between(Rng& rng, int lo, int hi) { return lo + int(below(rng, uint64_t(hi - lo + 1))); }

bool coin(Rng& rng) { return (rng() >> 63) != 0; }

template <class T>
void shuffle(Rng& rng, std::vector<T>& v) {  // Fisher-Yates
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(below(rng, i))]);
}

// The 1/8 px grid: coordinates in grid steps are integers, and so are the sample positions
// 8x + 2i + 1, so every inside test below is exact.
constexpr int kGrid = 8;
constexpr int kImageGrid = kImageSize * kGrid;

glm::ivec2 grid_center(const Object& o) {
  return glm::ivec2(std::lround(o.center.x * kGrid), std::lround(o.center.y * kGrid));
}
int grid_radius(const Object& o) { return int(std::lround(o.radius * kGrid)); }

// 1449 / 1024 = 1.41504 > sqrt(2), so this never under-bounds a square's or triangle's corners.
int grid_bound(Shape s, int r) { return s == Shape::Circle ? r : (r * 1449 + 1023) / 1024; }

// d = sample - centre, r = radius, in grid steps. The triangle's half-width grows from 0 at
// the apex (d.y = -r) to r at the base (d.y = r): |d.x| <= (d.y + r) / 2. (Classic objects
// only: render_varied.cpp draws the Varied ones.)
bool inside(Shape s, glm::ivec2 d, int r) {
  const glm::ivec2 a = glm::abs(d);
  switch (s) {
    case Shape::Circle: return d.x * d.x + d.y * d.y <= r * r;
    case Shape::Square: return a.x <= r && a.y <= r;
    case Shape::Triangle: return d.y >= -r && d.y <= r && 2 * a.x <= d.y + r;
  }
  return false;
}

// Area of an object's shape in px^2 (largest_color compares these).
float area(const Object& o) {
  const float r = o.radius;
  switch (o.shape) {
    case Shape::Circle: return 3.14159265f * r * r;
    case Shape::Square: return 4 * r * r - (4 - 3.14159265f) * o.corner * o.corner;
    case Shape::Triangle:
      return 2 * (o.half_width > 0 ? o.half_width : r) * (o.half_height > 0 ? o.half_height : r);
  }
  return 0;
}
constexpr float kLargestRatio = 1.4f;

const glm::u8vec3 kBase[kNumColors] = {
    {215, 45, 45}, {45, 185, 65}, {55, 95, 225}, {225, 205, 50}};

}  // namespace

const char* color_name(Color c) {
  static const char* const n[] = {"red", "green", "blue", "yellow"};
  return n[int(c)];
}
const char* shape_name(Shape s) {
  static const char* const n[] = {"circle", "square", "triangle"};
  return n[int(s)];
}
const char* shape_plural(Shape s) {
  static const char* const n[] = {"circles", "squares", "triangles"};
  return n[int(s)];
}
glm::u8vec3 base_rgb(Color c) { return kBase[int(c)]; }

const std::vector<std::string>& template_names() {
  static const std::vector<std::string> n = {"exists_color_shape", "exists_color",
                                             "exists_shape", "left_of",
                                             "count_two", "largest_color",
                                             "right_of_any"};
  return n;
}

int num_templates(Look look) { return look == Look::Classic ? kNumClassicTemplates : kNumTemplates; }

float Object::bounding_radius() const {
  return float(grid_bound(shape, grid_radius(*this))) / kGrid;
}

std::string describe(const Scene& scene) {
  std::string s = std::to_string(scene.objects.size()) +
                  (scene.objects.size() == 1 ? " object" : " objects") + " on grey " +
                  std::to_string(int(scene.background)) + ":";
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    const Object& o = scene.objects[i];
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %s %s at (%g, %g) r %g", i ? "," : "", color_name(o.color),
                  shape_name(o.shape), double(o.center.x), double(o.center.y), double(o.radius));
    s += buf;
  }
  return s;
}

Image render(const std::vector<Object>& objects, uint8_t background) {
  Image img(kImageSize, kImageSize, background);
  for (size_t index = 0; index < objects.size(); ++index) {
    const Object& o = objects[index];
    // Bounds that keep the grid arithmetic far from int overflow; no scene comes near them.
    const float far = 2 * kImageSize;
    const bool sane = o.radius > 0 && o.radius <= kImageSize && std::fabs(o.center.x) <= far &&
                      std::fabs(o.center.y) <= far;
    if (!sane)
      throw vkfuse::Error("shapes::render: object " + std::to_string(index) + " has radius " +
                          std::to_string(o.radius) + " or centre (" + std::to_string(o.center.x) +
                          ", " + std::to_string(o.center.y) +
                          ") outside (0, 64] and [-128, 128]");
    const glm::ivec2 c = grid_center(o);
    const int r = grid_radius(o);
    // Pixels whose samples can be inside: those meeting the extent centre +- r.
    const glm::ivec2 lo = glm::clamp((c - r) / kGrid, 0, kImageSize - 1);
    const glm::ivec2 hi = glm::clamp((c + r) / kGrid, 0, kImageSize - 1);
    for (int y = lo.y; y <= hi.y; ++y)
      for (int x = lo.x; x <= hi.x; ++x) {
        int n = 0;
        for (int j = 0; j < 4; ++j)
          for (int i = 0; i < 4; ++i)
            n += inside(o.shape, glm::ivec2(kGrid * x + 2 * i + 1, kGrid * y + 2 * j + 1) - c, r);
        if (n == 0) continue;
        // Coverage n/16 blends the fill over what is there, rounded to nearest.
        uint8_t* p = img.at(x, y);
        for (int k = 0; k < 3; ++k) p[k] = uint8_t((p[k] * (16 - n) + o.rgb[k] * n + 8) / 16);
      }
  }
  return img;
}

Generator::Generator(uint64_t seed, Look look) : rng_(seed), look_(look) {}

Scene Generator::scene() {
  Scene s;
  // One object with probability 1/8, else 2, 3 or 4 equally: a lone object can be asked no
  // left_of and no "yes" count_two, so such scenes are kept rare.
  const uint64_t v = below(rng_, 24);
  const int n = v < 3 ? 1 : 2 + int((v - 3) / 7);
  s.background = uint8_t(between(rng_, kMinBackground, kMaxBackground));

  // Distinct (colour, shape) pairs, pair p = colour * 3 + shape. Half the scenes with two or
  // more objects are made to hold exactly two of one shape, so count_two can be answered
  // "yes" often enough for its yes/no balance.
  std::vector<int> pairs;
  if (n >= 2 && coin(rng_)) {
    const int shape = int(below(rng_, kNumShapes));
    std::vector<int> colors = {0, 1, 2, 3}, others;
    shuffle(rng_, colors);
    for (int p = 0; p < kNumColors * kNumShapes; ++p)
      if (p % kNumShapes != shape) others.push_back(p);
    shuffle(rng_, others);
    pairs = {colors[0] * kNumShapes + shape, colors[1] * kNumShapes + shape};
    pairs.insert(pairs.end(), others.begin(), others.begin() + (n - 2));
  } else {
    std::vector<int> all(kNumColors * kNumShapes);
    for (int p = 0; p < int(all.size()); ++p) all[size_t(p)] = p;
    shuffle(rng_, all);
    pairs.assign(all.begin(), all.begin() + n);
  }
  shuffle(rng_, pairs);  // placement order sets sizes (late objects find less room)

  for (int p : pairs) {
    Object o{};
    o.color = Color(p / kNumShapes);
    o.shape = Shape(p % kNumShapes);
    const glm::ivec3 base(kBase[p / kNumShapes]);
    glm::ivec3 jitter;
    for (int k = 0; k < 3; ++k) jitter[k] = between(rng_, -kColorJitter, kColorJitter);
    o.rgb = glm::u8vec3(glm::clamp(base + jitter, 0, 255));
    s.objects.push_back(o);
  }

  // Layout by rejection on the grid: radius and centre drawn together, a centre at least a
  // pixel inside the border on every side, bounding circles at least kMinGap apart. An object
  // that finds no room in 100 tries restarts the whole layout.
  // Varied scenes reach smaller and larger shapes.
  const bool varied = look_ == Look::Varied;
  const int r_lo = int(varied ? kVariedMinRadius : kMinRadius) * kGrid;
  const int r_hi = int(varied ? kVariedMaxRadius : kMaxRadius) * kGrid;
  const int gap = int(kMinGap) * kGrid;
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000)
      throw vkfuse::Error("shapes::Generator::scene: no layout for " + std::to_string(n) +
                          " objects in 1000 attempts");
    std::vector<glm::ivec3> placed;  // centre x, centre y, bound
    for (size_t i = 0; i < s.objects.size() && placed.size() == i; ++i) {
      Object& o = s.objects[i];
      for (int t = 0; t < 100 && placed.size() == i; ++t) {
        const int r = between(rng_, r_lo, r_hi);
        const int b = grid_bound(o.shape, r);
        const glm::ivec2 c(between(rng_, r + kGrid, kImageGrid - kGrid - r),
                           between(rng_, r + kGrid, kImageGrid - kGrid - r));
        const bool clear = std::all_of(placed.begin(), placed.end(), [&](const glm::ivec3& q) {
          const glm::ivec2 d = c - glm::ivec2(q);
          const int need = b + q.z + gap;
          return d.x * d.x + d.y * d.y >= need * need;
        });
        if (!clear) continue;
        placed.push_back(glm::ivec3(c, b));
        o.center = glm::vec2(c) / float(kGrid);
        o.radius = float(r) / kGrid;
      }
    }
    if (placed.size() == s.objects.size()) break;
  }
  if (varied) {
    vary(s);
    s.image = render_varied(s.objects, s.style);
  } else {
    s.image = render(s.objects, s.background);
  }
  return s;
}

void Generator::vary(Scene& s) {
  auto unit = [&] { return double(rng_() >> 11) * 0x1.0p-53; };  // [0, 1)
  auto grid = [](double px) { return float(std::lround(px * kGrid)) / kGrid; };
  for (Object& o : s.objects) {
    const double r = o.radius;
    if (o.shape == Shape::Square && below(rng_, 5) < 2) o.corner = grid(r * (0.15 + 0.3 * unit()));
    if (o.shape == Shape::Triangle) {
      const uint64_t k = below(rng_, 4);  // thin (taller than wide), fat (wider than tall), as drawn
      if (k < 2) o.half_width = grid(r * (0.5 + 0.5 * unit()));
      else if (k == 2) o.half_height = grid(r * (0.6 + 0.4 * unit()));
    }
  }
  Style& st = s.style;
  // Backgrounds of little saturation (a colour name must stay the objects' own): grey at any
  // level, tinted, or a gradient between two such.
  auto tone = [&] {
    const int g = between(rng_, 0, 255);
    glm::ivec3 c(g);
    if (coin(rng_))
      for (int k = 0; k < 3; ++k) c[k] += between(rng_, -24, 24);
    return glm::u8vec3(glm::clamp(c, 0, 255));
  };
  st.background0 = tone();
  st.background1 = below(rng_, 3) == 0 ? tone() : st.background0;
  st.gradient_angle = between(rng_, 0, 359);
  st.noise = below(rng_, 4) == 0 ? between(rng_, 2, 14) : 0;
  const uint64_t f = below(rng_, 4);
  st.fill = f < 2 ? Style::Fill::Solid : f == 2 ? Style::Fill::Outline : Style::Fill::SolidOutlined;
  st.stroke = float(between(rng_, 8, 24)) / kGrid;
  const int o = between(rng_, 0, 2);
  st.outline_rgb = glm::u8vec3(uint8_t(o == 0 ? between(rng_, 0, 40) : o == 1 ? between(rng_, 215, 255)
                                                                                : between(rng_, 60, 120)));
  st.antialias = below(rng_, 4) != 0;
  if (coin(rng_)) {
    st.width = between(rng_, kImageSize, 3 * kImageSize);
    st.height = std::clamp(int(std::lround(st.width * (0.8 + 0.45 * unit()))), kImageSize, 4 * kImageSize);
  }
  st.bicubic = coin(rng_);
  st.blur = below(rng_, 5) == 0;
  st.jpeg_quality = below(rng_, 4) == 0 ? between(rng_, 35, 95) : 0;
  st.noise_seed = rng_();
  s.background = uint8_t((int(st.background0.x) + st.background0.y + st.background0.z) / 3);
}

namespace {

struct Candidate {
  std::string text;
  bool near;  // a "no" close to the truth: see questions()
};

// Every question of template t about objects whose answer is yes (or no).
std::vector<Candidate> candidates(const std::vector<Object>& objects, Template t, bool yes) {
  bool has[kNumColors][kNumShapes] = {};
  int colors[kNumColors] = {}, shapes_n[kNumShapes] = {};
  for (const Object& o : objects) {
    has[int(o.color)][int(o.shape)] = true;
    ++colors[int(o.color)];
    ++shapes_n[int(o.shape)];
  }
  auto cname = [](int c) { return std::string(color_name(Color(c))); };
  auto sname = [](int s) { return std::string(shape_name(Shape(s))); };
  std::vector<Candidate> r;
  switch (t) {
    case Template::ExistsColorShape:
      for (int c = 0; c < kNumColors; ++c)
        for (int s = 0; s < kNumShapes; ++s)
          if (has[c][s] == yes)
            r.push_back({"is there a " + cname(c) + " " + sname(s),
                         !yes && colors[c] > 0 && shapes_n[s] > 0});
      break;
    case Template::ExistsColor:
      for (int c = 0; c < kNumColors; ++c)
        if ((colors[c] > 0) == yes) r.push_back({"is there a " + cname(c) + " shape", false});
      break;
    case Template::ExistsShape:
      for (int s = 0; s < kNumShapes; ++s)
        if ((shapes_n[s] > 0) == yes) r.push_back({"is there a " + sname(s), false});
      break;
    case Template::LeftOf:
      // Centres are on the 1/8 px grid, so these float differences are exact.
      for (const Object& a : objects)
        for (const Object& b : objects) {
          const float dx = b.center.x - a.center.x;
          if (&a == &b || std::fabs(dx) < kLeftOfMinDx || (dx > 0) != yes) continue;
          r.push_back({"is the " + cname(int(a.color)) + " " + sname(int(a.shape)) +
                           " left of the " + cname(int(b.color)) + " " + sname(int(b.shape)),
                       false});
        }
      break;
    case Template::CountTwo:
      for (int s = 0; s < kNumShapes; ++s)
        if ((shapes_n[s] == 2) == yes)
          r.push_back({std::string("are there two ") + shape_plural(Shape(s)),
                       !yes && (shapes_n[s] == 1 || shapes_n[s] == 3)});
      break;
    case Template::LargestColor: {
      // Asked only when one shape is plainly the largest (area at least kLargestRatio times
      // every other's); a "no" is near when it names another object's colour.
      const Object* big = nullptr;
      for (const Object& o : objects)
        if (!big || area(o) > area(*big)) big = &o;
      bool plain = big != nullptr;
      for (const Object& o : objects)
        if (&o != big && area(o) * kLargestRatio > area(*big)) plain = false;
      if (!plain) break;
      for (int c = 0; c < kNumColors; ++c)
        if ((int(big->color) == c) == yes)
          r.push_back({"is the largest shape " + cname(c), !yes && colors[c] > 0});
      break;
    }
    case Template::RightOfAny:
      // Yes: another centre at least kLeftOfMinDx to the right; no: every other one at least
      // that far to the left (a centre within the band makes the question unasked).
      for (const Object& a : objects) {
        bool right = false, near_x = false;
        for (const Object& b : objects) {
          if (&a == &b) continue;
          const float dx = b.center.x - a.center.x;
          if (std::fabs(dx) < kLeftOfMinDx) near_x = true;
          if (dx > 0) right = true;
        }
        if (!near_x && right == yes)
          r.push_back({"is there a shape right of the " + cname(int(a.color)) + " " +
                           sname(int(a.shape)),
                       false});
      }
      break;
  }
  return r;
}

constexpr size_t kMaxBacklog = 100;

}  // namespace

std::vector<Question> Generator::questions(const Scene& scene, int count) {
  if (count < 0)
    throw vkfuse::Error("shapes::Generator::questions: count " + std::to_string(count) +
                        " is negative");
  std::set<std::string> asked;
  // The questions of a cell (template * 2 + answer) not yet asked about this scene.
  auto open = [&](int cell) {
    auto c = candidates(scene.objects, Template(cell / 2), cell % 2 == 1);
    c.erase(std::remove_if(c.begin(), c.end(),
                           [&](const Candidate& q) { return asked.count(q.text) != 0; }),
            c.end());
    return c;
  };
  std::vector<Question> out;
  for (int k = 0; k < count; ++k) {
    int cell = -1;
    std::vector<Candidate> cands;
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      cands = open(*it);
      if (!cands.empty()) {
        cell = *it;
        backlog_.erase(it);
        break;
      }
    }
    if (cell < 0) {
      bool any = false;
      for (int c = 0; c < 2 * num_templates(look_) && !any; ++c) any = !open(c).empty();
      if (!any)
        throw vkfuse::Error("shapes::Generator::questions: " + std::to_string(count) +
                            " questions asked of a scene that has only " + std::to_string(k) +
                            " distinct ones (" + describe(scene) + ")");
      // Fresh cells come from shuffled decks of all cells, so requests are exactly balanced.
      for (;;) {
        if (deck_.empty()) {
          for (int c = 0; c < 2 * num_templates(look_); ++c) deck_.push_back(c);
          shuffle(rng_, deck_);
        }
        const int c = deck_.back();
        deck_.pop_back();
        cands = open(c);
        if (!cands.empty()) {
          cell = c;
          break;
        }
        // Past kMaxBacklog the oldest request is dropped: with many questions per scene the
        // scenes cannot serve the rare cells as often as they are asked for, and the queue
        // would grow without end (and be scanned for every question).
        if (backlog_.size() == kMaxBacklog) backlog_.pop_front();
        backlog_.push_back(c);
      }
    }
    // Half the time a "no" is a near miss when there is one: a red square asked of a scene with
    // a red circle and a blue square (the answer needs colour bound to shape), two circles
    // asked of one or three.
    std::vector<Candidate> near;
    for (const Candidate& q : cands)
      if (q.near) near.push_back(q);
    const auto& pool = !near.empty() && coin(rng_) ? near : cands;
    const Candidate& pick = pool[size_t(below(rng_, pool.size()))];
    asked.insert(pick.text);
    out.push_back({Template(cell / 2), pick.text, cell % 2 == 1});
  }
  return out;
}

}  // namespace shapes
