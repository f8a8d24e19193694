#include "apps/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/str_cat.h"

namespace caravan::apps {
namespace {

constexpr std::array<std::string_view, 10> kColours = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                                       "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
// Plot area margins, pixels.
constexpr int kLeft = 62, kRight = 16, kTop = 34, kBottom = 62;

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string pixel(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  return text;
}

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  bool empty() const { return !(low <= high); }
  void add(double value) {
    low = std::min(low, value);
    high = std::max(high, value);
  }
  // A range of non-zero width: a flat series gets a unit-wide band around its value.
  Range widened() const {
    if (high > low) return *this;
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    return {low - pad, high + pad};
  }
};

// About `count` round tick values (1, 2 or 5 times a power of ten) covering `range`.
std::vector<double> ticks(const Range& range, int count) {
  const double raw_step = (range.high - range.low) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw_step) break;
  }
  std::vector<double> values;
  for (double tick = std::ceil(range.low / step) * step; tick <= range.high + step * 1e-9; tick += step) {
    values.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return values;
}

bool finite(const std::pair<double, double>& point) { return std::isfinite(point.first) && std::isfinite(point.second); }

}  // namespace

std::string html_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string_view series_colour(size_t index) { return kColours[index % kColours.size()]; }

std::string render_line_chart(const LineChart& chart) {
  Range x_range, y_range;
  for (const ChartSeries& series : chart.series) {
    for (const auto& point : series.points) {
      if (!finite(point)) continue;
      x_range.add(point.first);
      y_range.add(point.second);
    }
  }
  const int plot_width = chart.width - kLeft - kRight;
  const int plot_height = chart.height - kTop - kBottom;
  std::string svg = str_cat("<svg class=\"chart\" width=\"", chart.width,
                            "\" height=\"", chart.height, "\" viewBox=\"0 0 ", chart.width, " ", chart.height,
                            "\" role=\"img\" aria-label=\"", html_escape(chart.title), "\">");
  svg += str_cat("<rect x=\"0\" y=\"0\" width=\"", chart.width, "\" height=\"", chart.height, "\" fill=\"#ffffff\"/>");
  svg += str_cat("<text x=\"", kLeft, "\" y=\"20\" class=\"title\" font-size=\"14\" font-weight=\"bold\">",
                 html_escape(chart.title), "</text>");
  svg += str_cat("<rect x=\"", kLeft, "\" y=\"", kTop, "\" width=\"", plot_width, "\" height=\"", plot_height,
                 "\" fill=\"none\" stroke=\"#999999\"/>");
  if (x_range.empty()) {
    svg += str_cat("<text x=\"", kLeft + plot_width / 2, "\" y=\"", kTop + plot_height / 2,
                   "\" class=\"empty\" text-anchor=\"middle\" font-size=\"13\" fill=\"#777777\">",
                   html_escape(chart.empty_note), "</text></svg>");
    return svg;
  }
  const Range xs = x_range.widened(), ys = y_range.widened();
  const auto to_x = [&](double x) { return kLeft + (x - xs.low) / (xs.high - xs.low) * plot_width; };
  const auto to_y = [&](double y) { return kTop + plot_height - (y - ys.low) / (ys.high - ys.low) * plot_height; };
  // Grid and tick labels.
  for (double tick : ticks(ys, 5)) {
    const std::string y = pixel(to_y(tick));
    svg += str_cat("<line x1=\"", kLeft, "\" y1=\"", y, "\" x2=\"", kLeft + plot_width, "\" y2=\"", y,
                   "\" stroke=\"#e5e5e5\"/><text x=\"", kLeft - 6, "\" y=\"", y,
                   "\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">", number_text(tick), "</text>");
  }
  for (double tick : ticks(xs, 6)) {
    const std::string x = pixel(to_x(tick));
    svg += str_cat("<line x1=\"", x, "\" y1=\"", kTop + plot_height, "\" x2=\"", x, "\" y2=\"", kTop + plot_height + 4,
                   "\" stroke=\"#999999\"/><text x=\"", x, "\" y=\"", kTop + plot_height + 16,
                   "\" font-size=\"11\" text-anchor=\"middle\">", number_text(tick), "</text>");
  }
  svg += str_cat("<text x=\"", kLeft + plot_width / 2, "\" y=\"", kTop + plot_height + 32,
                 "\" font-size=\"12\" text-anchor=\"middle\">", html_escape(chart.x_label), "</text>");
  svg += str_cat("<text x=\"14\" y=\"", kTop + plot_height / 2, "\" font-size=\"12\" text-anchor=\"middle\" ",
                 "transform=\"rotate(-90 14 ", kTop + plot_height / 2, ")\">", html_escape(chart.y_label), "</text>");
  // Series, then the legend below the axis label.
  int legend_x = kLeft;
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const ChartSeries& series = chart.series[i];
    std::string path;
    size_t points = 0;
    for (const auto& point : series.points) {
      if (!finite(point)) continue;
      path += str_cat(points == 0 ? "M" : " L", pixel(to_x(point.first)), " ", pixel(to_y(point.second)));
      ++points;
    }
    if (points == 0) continue;
    const std::string_view colour = series_colour(i);
    svg += str_cat("<path class=\"series\" data-series=\"", html_escape(series.name), "\" data-points=\"", points,
                   "\" d=\"", path, "\" fill=\"none\" stroke=\"", colour, "\" stroke-width=\"2\"/>");
    if (points == 1) {
      const auto& only = *std::find_if(series.points.begin(), series.points.end(), finite);
      svg += str_cat("<circle cx=\"", pixel(to_x(only.first)), "\" cy=\"", pixel(to_y(only.second)), "\" r=\"3\" fill=\"",
                     colour, "\"/>");
    }
    svg += str_cat("<rect x=\"", legend_x, "\" y=\"", chart.height - 14, "\" width=\"12\" height=\"4\" fill=\"", colour,
                   "\"/><text x=\"", legend_x + 16, "\" y=\"", chart.height - 9, "\" font-size=\"11\">",
                   html_escape(series.name), "</text>");
    legend_x += 28 + 7 * static_cast<int>(series.name.size());
  }
  svg += "</svg>";
  return svg;
}

} // namespace caravan::apps
