// File: apps/svg_chart.h
// Line charts as inline SVG text, for pages that must render without network access
// (`caravan report`): axes with rounded ticks, one path per series, a legend. No scripts, no
// external resources.
//
//   LineChart chart{.title = "Reward", .x_label = "step", .y_label = "mean reward"};
//   chart.series.push_back({.name = "math", .points = {{1, 0.2}, {2, 0.35}}});
//   std::string svg = render_line_chart(chart);   // "<svg ...>...</svg>"
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caravan::apps {

struct ChartSeries {
  // Shown in the legend; escaped when rendered.
  std::string name;
  // (x, y) in drawing order; non-finite values are skipped.
  std::vector<std::pair<double, double>> points;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  // Shown in place of the plot when no series has a finite point.
  std::string empty_note = "no data recorded";
  // Pixels.
  int width = 520;
  int height = 300;
};

// The chart as one <svg> element. Each series with points becomes a
// `<path class="series" data-series="NAME" data-points="N" d="M x y L x y ...">` in its own
// colour (a single point also gets a circle). Pure.
std::string render_line_chart(const LineChart& chart);

// `text` with &, <, >, " and ' replaced by entities: safe in HTML/SVG text and quoted attributes.
std::string html_escape(std::string_view text);

// Up to 10 series colours, as "#rrggbb"; series i uses series_colour(i % 10).
std::string_view series_colour(size_t index);

} // namespace caravan::apps
