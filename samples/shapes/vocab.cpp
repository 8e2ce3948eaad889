// The shapes vocabulary and tokenizer.
#include "shapes/vocab.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "vkfuse/error.hpp"

namespace shapes {

Vocab Vocab::standard() {
  return Vocab({"<pad>", "<unk>", "<cls>", "is", "there", "a", "the", "of", "left", "are",
                "two", "shape", "red", "green", "blue", "yellow", "circle", "square",
                "triangle", "circles", "squares", "triangles",
                // the Varied look's templates (largest_color, right_of_any)
                "largest", "right"});
}

Vocab::Vocab(std::vector<std::string> words) : words_(std::move(words)) {
  static const char* const specials[] = {"<pad>", "<unk>", "<cls>"};
  for (int64_t i = 0; i < 3; ++i)
    if (size_t(i) >= words_.size() || words_[size_t(i)] != specials[i])
      throw vkfuse::Error("vocabulary: token " + std::to_string(i) + " must be \"" +
                          specials[i] + "\"" +
                          (size_t(i) < words_.size() ? ", not \"" + words_[size_t(i)] + "\""
                                                     : ", the list has only " +
                                                           std::to_string(words_.size())));
  for (size_t i = 0; i < words_.size(); ++i) {
    const std::string& w = words_[i];
    const std::string at = "vocabulary: token " + std::to_string(i);
    if (w.empty()) throw vkfuse::Error(at + " is empty");
    for (unsigned char c : w)
      if (std::isspace(c)) throw vkfuse::Error(at + " \"" + w + "\" contains white space");
    if (!index_.emplace(w, int64_t(i)).second)
      throw vkfuse::Error(at + " \"" + w + "\" repeats token " + std::to_string(index_[w]));
  }
}

Vocab Vocab::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw vkfuse::Error(std::string("vocabulary JSON: not JSON: ") + e.what());
  }
  if (!j.is_array()) throw vkfuse::Error("vocabulary JSON: not a list");
  std::vector<std::string> words;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string())
      throw vkfuse::Error("vocabulary JSON: entry " + std::to_string(i) + " is not a string");
    words.push_back(j[i].get<std::string>());
  }
  return Vocab(std::move(words));
}

std::string Vocab::to_json() const { return nlohmann::json(words_).dump(); }

int64_t Vocab::id(const std::string& word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::string> Vocab::split(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (unsigned char c : text) {
    if (c == '?' || c == ',' || c == '.') continue;
    if (std::isspace(c)) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += char(std::tolower(c));
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

Vocab::Encoded Vocab::encode(const std::string& text, int max_len) const {
  const auto words = split(text);
  if (int64_t(words.size()) + 1 > max_len)
    throw vkfuse::Error("tokenizer: \"" + text + "\" is " + std::to_string(words.size() + 1) +
                        " tokens with <cls>, more than the " + std::to_string(max_len) +
                        " the model takes");
  Encoded e;
  e.ids.assign(size_t(max_len), kPad);
  e.ids[0] = kCls;
  for (size_t i = 0; i < words.size(); ++i) {
    int64_t t = id(words[i]);
    if (t < 0) {
      t = kUnk;
      e.unknown_words.push_back(words[i]);
    }
    e.ids[i + 1] = t;
  }
  e.length = int(words.size()) + 1;
  return e;
}

}  // namespace shapes
