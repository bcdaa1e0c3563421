using System.Globalization;
using System.Net;
using System.Text;

namespace Puffy.Streaming.Embedded.Report;

/// <summary>A named series of values, one per category, drawn in one colour.</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<double> Values);

/// <summary>A vertical marker on a day axis (where the data breaks).</summary>
public sealed record ChartMarker(int Index, string Label);

/// <summary>
/// Hand-made inline SVG charts: axes with rounded ticks, labelled categories, a legend, and a &lt;title&gt; on every
/// mark so hovering shows the exact value without any script. Every chart is an <c>svg.chart</c> whose marks carry
/// <c>class="mark"</c>, which is what the rendering test counts.
/// </summary>
public static class SvgCharts
{
    private const double Left = 64, Right = 16, Top = 16, Bottom = 40;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Bars (one series) or stacked bars (several) over categories, with an optional line series on top.</summary>
    public static string Bars(string id, string label, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> stacks, Func<double, string> format,
        double width = 560, double height = 240, IReadOnlyList<ChartMarker>? markers = null, bool legend = false, Func<double, string>? valueFormat = null)
    {
        valueFormat ??= format;
        var legendRows = legend ? LegendRows(stacks.Select(s => s.Name).ToList(), width) : 0;
        var plotBottom = height - Bottom - (legendRows * 18);
        var totals = Enumerable.Range(0, categories.Count).Select(i => stacks.Sum(s => s.Values[i])).ToList();
        var (max, step) = Scale(totals.DefaultIfEmpty(0).Max());
        var b = Open(id, label, width, height);
        Axis(b, width, plotBottom, max, step, format);
        var band = (width - Left - Right) / Math.Max(1, categories.Count);
        var barWidth = Math.Min(band * 0.72, 48);
        for (var i = 0; i < categories.Count; i++)
        {
            var x = Left + (band * i) + ((band - barWidth) / 2);
            var y = plotBottom;
            foreach (var s in stacks)
            {
                var v = s.Values[i];
                if (v <= 0)
                    continue;
                var h = (plotBottom - Top) * v / max;
                y -= h;
                var name = stacks.Count > 1 ? s.Name + ", " : string.Empty;
                b.Append(Inv, $"<rect class=\"mark\" x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(barWidth)}\" height=\"{F(h)}\" fill=\"{s.Color}\"><title>{E(categories[i])}: {E(name)}{E(format(v))}</title></rect>");
            }

            if (stacks.Count == 1 && categories.Count <= 16)
                b.Append(Inv, $"<text class=\"value\" x=\"{F(x + (barWidth / 2))}\" y=\"{F(y - 4)}\" text-anchor=\"middle\">{E(valueFormat(totals[i]))}</text>");
        }

        Categories(b, categories, band, plotBottom);
        Markers(b, markers, band, plotBottom);
        if (legend)
            Legend(b, stacks.Select(s => (s.Name, s.Color)).ToList(), width, plotBottom + 30);
        return Close(b);
    }

    /// <summary>A line with a dot per category.</summary>
    public static string Line(string id, string label, IReadOnlyList<string> categories, ChartSeries series, Func<double, string> format,
        double width = 560, double height = 240, IReadOnlyList<ChartMarker>? markers = null)
    {
        var plotBottom = height - Bottom;
        var (max, step) = Scale(series.Values.DefaultIfEmpty(0).Max());
        var b = Open(id, label, width, height);
        Axis(b, width, plotBottom, max, step, format);
        var band = (width - Left - Right) / Math.Max(1, categories.Count);
        var points = series.Values.Select((v, i) => (X: Left + (band * i) + (band / 2), Y: plotBottom - ((plotBottom - Top) * v / max))).ToList();
        b.Append(Inv, $"<polyline fill=\"none\" stroke=\"{series.Color}\" stroke-width=\"2.5\" points=\"{string.Join(' ', points.Select(p => F(p.X) + "," + F(p.Y)))}\"/>");
        for (var i = 0; i < points.Count; i++)
        {
            b.Append(Inv, $"<circle class=\"mark\" cx=\"{F(points[i].X)}\" cy=\"{F(points[i].Y)}\" r=\"4\" fill=\"{series.Color}\"><title>{E(categories[i])}: {E(format(series.Values[i]))}</title></circle>");
            b.Append(Inv, $"<text class=\"value\" x=\"{F(points[i].X)}\" y=\"{F(points[i].Y - 9)}\" text-anchor=\"middle\">{E(format(series.Values[i]))}</text>");
        }

        Categories(b, categories, band, plotBottom);
        Markers(b, markers, band, plotBottom);
        return Close(b);
    }

    /// <summary>
    /// Several lines over many points (e.g. samples over time): no dots or value labels, every k-th category named so
    /// at most about twelve labels show, and a legend.
    /// </summary>
    public static string Lines(string id, string label, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> series, Func<double, string> format,
        double width = 1100, double height = 300)
    {
        var plotBottom = height - Bottom;
        var (max, step) = Scale(series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        var b = Open(id, label, width, height + 30);
        Axis(b, width, plotBottom, max, step, format);
        var band = (width - Left - Right) / Math.Max(1, categories.Count);
        foreach (var s in series)
        {
            var points = s.Values.Select((v, i) => F(Left0(Left, band, i)) + "," + F(plotBottom - ((plotBottom - Top) * v / max)));
            b.Append(Inv, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" points=\"{string.Join(' ', points)}\"><title>{E(s.Name)}</title></polyline>");
        }

        var every = Math.Max(1, (int)Math.Ceiling(categories.Count / 12.0));
        for (var i = 0; i < categories.Count; i += every)
            b.Append(Inv, $"<text class=\"tick\" x=\"{F(Left0(Left, band, i))}\" y=\"{F(plotBottom + 16)}\" text-anchor=\"middle\">{E(categories[i])}</text>");
        Legend(b, series.Select(s => (s.Name, s.Color)).ToList(), width, plotBottom + 34);
        return Close(b);
    }

    /// <summary>Horizontal grouped bars: per category one bar per series (e.g. per channel one bar per attribution model).</summary>
    public static string GroupedBars(string id, string label, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> series, Func<double, string> format, double width = 1100)
    {
        const double left = 130, right = 90, rowGap = 10, barHeight = 11;
        var group = (series.Count * barHeight) + rowGap;
        var height = Top + (group * categories.Count) + 56;
        var plotBottom = height - 56;
        var (max, step) = Scale(series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        var b = Open(id, label, width, height);
        var plotWidth = width - left - right;
        for (var t = 0.0; t <= max + (step / 2); t += step)
        {
            var x = left + (plotWidth * t / max);
            b.Append(Inv, $"<line class=\"grid\" x1=\"{F(x)}\" y1=\"{F(Top)}\" x2=\"{F(x)}\" y2=\"{F(plotBottom)}\"/>");
            b.Append(Inv, $"<text class=\"tick\" x=\"{F(x)}\" y=\"{F(plotBottom + 16)}\" text-anchor=\"middle\">{E(format(t))}</text>");
        }

        for (var c = 0; c < categories.Count; c++)
        {
            var y0 = Top + (group * c);
            b.Append(Inv, $"<text class=\"cat\" x=\"{F(left - 8)}\" y=\"{F(y0 + (series.Count * barHeight / 2) + 4)}\" text-anchor=\"end\">{E(categories[c])}</text>");
            for (var s = 0; s < series.Count; s++)
            {
                var v = series[s].Values[c];
                var w = Math.Max(0, plotWidth * v / max);
                var y = y0 + (s * barHeight);
                b.Append(Inv, $"<rect class=\"mark\" x=\"{F(left)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"{F(barHeight - 1)}\" fill=\"{series[s].Color}\"><title>{E(categories[c])}, {E(series[s].Name)}: {E(format(v))}</title></rect>");
                b.Append(Inv, $"<text class=\"value\" x=\"{F(left + w + 4)}\" y=\"{F(y + barHeight - 2)}\">{E(format(v))}</text>");
            }
        }

        b.Append(Inv, $"<line class=\"axis\" x1=\"{F(left)}\" y1=\"{F(Top)}\" x2=\"{F(left)}\" y2=\"{F(plotBottom)}\"/>");
        Legend(b, series.Select(s => (s.Name, s.Color)).ToList(), width, plotBottom + 36, left);
        return Close(b);
    }

    /// <summary>A day × rule grid with one dot per alert, coloured by severity.</summary>
    public static string Timeline(string id, string label, IReadOnlyList<string> days, IReadOnlyList<string> rules,
        IReadOnlyList<(int Day, int Rule, string Color, string Title)> dots, IReadOnlyList<(string Name, string Color)> legend, double width = 1100)
    {
        const double left = 200, rowHeight = 26;
        var plotBottom = Top + (rowHeight * rules.Count);
        var height = plotBottom + 66;
        var b = Open(id, label, width, height);
        var band = (width - left - Right) / Math.Max(1, days.Count);
        for (var r = 0; r < rules.Count; r++)
        {
            var y = Top + (rowHeight * r) + (rowHeight / 2);
            b.Append(Inv, $"<line class=\"grid\" x1=\"{F(left)}\" y1=\"{F(y)}\" x2=\"{F(width - Right)}\" y2=\"{F(y)}\"/>");
            b.Append(Inv, $"<text class=\"cat\" x=\"{F(left - 8)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{E(rules[r])}</text>");
        }

        for (var d = 0; d < days.Count; d++)
        {
            var x = Left0(left, band, d);
            b.Append(Inv, $"<line class=\"grid light\" x1=\"{F(x)}\" y1=\"{F(Top)}\" x2=\"{F(x)}\" y2=\"{F(plotBottom)}\"/>");
            b.Append(Inv, $"<text class=\"tick\" x=\"{F(x)}\" y=\"{F(plotBottom + 16)}\" text-anchor=\"middle\">{E(days[d])}</text>");
        }

        foreach (var (day, rule, color, title) in dots)
        {
            b.Append(Inv, $"<circle class=\"mark\" cx=\"{F(Left0(left, band, day))}\" cy=\"{F(Top + (rowHeight * rule) + (rowHeight / 2))}\" r=\"8\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"1.5\"><title>{E(title)}</title></circle>");
        }

        Legend(b, legend, width, plotBottom + 44, left);
        return Close(b);
    }

    private static double Left0(double left, double band, int i) => left + (band * i) + (band / 2);

    /// <summary>A rounded axis maximum and tick step (1, 2, 2.5 or 5 × 10^n) for about four ticks.</summary>
    public static (double Max, double Step) Scale(double max)
    {
        if (max <= 0 || double.IsNaN(max))
            return (1, 0.25);
        var raw = max / 4;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        return (Math.Ceiling(max / step) * step, step);
    }

    private static StringBuilder Open(string id, string label, double width, double height)
    {
        var b = new StringBuilder();
        b.Append(Inv, $"<svg class=\"chart\" id=\"{E(id)}\" role=\"img\" aria-label=\"{E(label)}\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" height=\"{F(height)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        return b;
    }

    private static string Close(StringBuilder b) => b.Append("</svg>").ToString();

    private static void Axis(StringBuilder b, double width, double plotBottom, double max, double step, Func<double, string> format)
    {
        for (var t = 0.0; t <= max + (step / 2); t += step)
        {
            var y = plotBottom - ((plotBottom - Top) * t / max);
            b.Append(Inv, $"<line class=\"grid\" x1=\"{F(Left)}\" y1=\"{F(y)}\" x2=\"{F(width - Right)}\" y2=\"{F(y)}\"/>");
            b.Append(Inv, $"<text class=\"tick\" x=\"{F(Left - 6)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{E(format(t))}</text>");
        }

        b.Append(Inv, $"<line class=\"axis\" x1=\"{F(Left)}\" y1=\"{F(plotBottom)}\" x2=\"{F(width - Right)}\" y2=\"{F(plotBottom)}\"/>");
    }

    private static void Categories(StringBuilder b, IReadOnlyList<string> categories, double band, double plotBottom)
    {
        for (var i = 0; i < categories.Count; i++)
            b.Append(Inv, $"<text class=\"tick\" x=\"{F(Left + (band * i) + (band / 2))}\" y=\"{F(plotBottom + 16)}\" text-anchor=\"middle\">{E(categories[i])}</text>");
    }

    private static void Markers(StringBuilder b, IReadOnlyList<ChartMarker>? markers, double band, double plotBottom)
    {
        foreach (var m in markers ?? [])
        {
            var x = Left + (band * m.Index) - 1;
            b.Append(Inv, $"<line class=\"marker\" x1=\"{F(x)}\" y1=\"{F(Top - 6)}\" x2=\"{F(x)}\" y2=\"{F(plotBottom)}\"/>");
            b.Append(Inv, $"<text class=\"marker-label\" x=\"{F(x + 4)}\" y=\"{F(Top + 4)}\">{E(m.Label)}</text>");
        }
    }

    private static int LegendRows(IReadOnlyList<string> names, double width)
    {
        var rows = 1;
        var x = Left;
        foreach (var n in names)
        {
            var w = 22 + (n.Length * 6.6);
            if (x + w > width - Right)
            {
                rows++;
                x = Left;
            }

            x += w;
        }

        return rows;
    }

    private static void Legend(StringBuilder b, IReadOnlyList<(string Name, string Color)> items, double width, double y, double left = Left)
    {
        var x = left;
        foreach (var (name, color) in items)
        {
            var w = 22 + (name.Length * 6.6);
            if (x + w > width - Right)
            {
                x = left;
                y += 18;
            }

            b.Append(Inv, $"<rect x=\"{F(x)}\" y=\"{F(y - 9)}\" width=\"11\" height=\"11\" rx=\"2\" fill=\"{color}\"/><text class=\"legend\" x=\"{F(x + 15)}\" y=\"{F(y)}\">{E(name)}</text>");
            x += w;
        }
    }

    private static string F(double v) => Math.Round(v, 1).ToString("0.#", Inv);

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
