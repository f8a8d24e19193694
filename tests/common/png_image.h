// File: tests/common/png_image.h
// Decodes an 8-bit RGB or RGBA PNG (what headless Chromium's --screenshot writes) into pixels, so
// tests can check that a rendered page is not blank.
//
//   std::optional<PngImage> image = decode_png(read_file("shot.png"));
//   image->pixel(10, 20)  // {r, g, b}
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace caravan::testing {

struct PngImage {
  uint32_t width = 0;
  uint32_t height = 0;
  // Row-major RGB triples.
  std::vector<uint8_t> rgb;
  std::array<uint8_t, 3> pixel(uint32_t x, uint32_t y) const {
    const size_t at = (static_cast<size_t>(y) * width + x) * 3;
    return {rgb[at], rgb[at + 1], rgb[at + 2]};
  }
};

namespace png_detail {

inline uint32_t big_endian(const std::string& bytes, size_t at) {
  return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) | (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(bytes[at + 3])};
}

inline uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  return static_cast<uint8_t>(pb <= pc ? b : c);
}

}  // namespace png_detail

// nullopt for anything but a non-interlaced 8-bit RGB/RGBA PNG, or a corrupt one.
inline std::optional<PngImage> decode_png(const std::string& bytes) {
  using png_detail::big_endian;
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return std::nullopt;
  PngImage image;
  int channels = 0;
  std::string compressed;
  for (size_t at = 8; at + 8 <= bytes.size();) {
    const uint32_t length = big_endian(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + length > bytes.size()) return std::nullopt;
    const size_t data = at + 8;
    if (type == "IHDR") {
      image.width = big_endian(bytes, data);
      image.height = big_endian(bytes, data + 4);
      const int depth = static_cast<uint8_t>(bytes[data + 8]);
      const int colour = static_cast<uint8_t>(bytes[data + 9]);
      const int interlace = static_cast<uint8_t>(bytes[data + 12]);
      if (depth != 8 || interlace != 0 || (colour != 2 && colour != 6)) return std::nullopt;
      channels = colour == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      compressed.append(bytes, data, length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (channels == 0 || image.width == 0 || image.height == 0) return std::nullopt;
  const size_t stride = static_cast<size_t>(image.width) * static_cast<size_t>(channels);
  std::vector<uint8_t> raw((stride + 1) * image.height);
  uLongf raw_size = raw.size();
  if (::uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()) != Z_OK ||
      raw_size != raw.size()) {
    return std::nullopt;
  }
  std::vector<uint8_t> previous(stride, 0), current(stride);
  image.rgb.reserve(static_cast<size_t>(image.width) * image.height * 3);
  for (uint32_t y = 0; y < image.height; ++y) {
    const uint8_t* line = raw.data() + y * (stride + 1);
    const uint8_t filter = line[0];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<size_t>(channels) ? current[i - channels] : 0;
      const int b = previous[i];
      const int c = i >= static_cast<size_t>(channels) ? previous[i - channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: predictor = png_detail::paeth(a, b, c); break;
        default: return std::nullopt;
      }
      current[i] = static_cast<uint8_t>(line[1 + i] + predictor);
    }
    for (uint32_t x = 0; x < image.width; ++x) {
      for (int k = 0; k < 3; ++k) image.rgb.push_back(current[x * static_cast<size_t>(channels) + static_cast<size_t>(k)]);
    }
    std::swap(previous, current);
  }
  return image;
}

}  // namespace caravan::testing
