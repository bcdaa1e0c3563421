using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Puffy.Streaming.Cli;

/// <summary>Options several commands share, the value parsers behind them, and checks of the paths they name.</summary>
internal static class CliOptions
{
    public static Option<string> Data() =>
        new("--data") { Description = "Folder of daily *.csv exports, read in file-name order", HelpName = "DIR", Required = true };

    public static Option<string?> State() =>
        new("--state") { Description = "State folder of the local stack [default: .puffy/stack, or PUFFY_STACK]", HelpName = "DIR" };

    public static Option<int> Partitions(string description = "Partitions per Kafka topic") => Count("--partitions", description, 4);

    public static Option<bool> NoProgress() => new("--no-progress") { Description = "Print no progress (progress goes to stderr)" };

    public static Option<string?> ClickHouse(string description) =>
        new("--clickhouse") { Description = description, HelpName = "URL" };

    public static Option<string> Database() =>
        new("--database") { Description = "ClickHouse database", HelpName = "NAME", DefaultValueFactory = _ => "puffy" };

    /// <summary>A whole number of at least 1.</summary>
    public static Option<int> Count(string name, string description, int defaultValue) =>
        new(name) { Description = description, HelpName = "N", DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseCount(r, name) ?? 0 };

    /// <summary>A whole number of at least 1 whose default depends on other options.</summary>
    public static Option<int?> OptionalCount(string name, string description) =>
        new(name) { Description = description, HelpName = "N", CustomParser = r => ParseCount(r, name) };

    /// <summary>A duration: <c>15m</c>, <c>90s</c>, <c>1h</c>, <c>500ms</c>, <c>2d</c> or <c>hh:mm:ss</c>.</summary>
    public static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue) =>
        new(name)
        {
            Description = description + " (e.g. 15m, 90s, 1h, hh:mm:ss)",
            HelpName = "DURATION",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
                if (TryParseDuration(text, out var duration))
                    return duration;
                r.AddError($"{name} '{text}' is not a duration like 15m, 90s, 1h or hh:mm:ss");
                return default;
            },
        };

    /// <summary>A string option whose value must pass <paramref name="problem"/> (null when it is fine).</summary>
    public static Option<string> Checked(Option<string> option, Func<string, string?> problem)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && problem(value) is { } message)
                r.AddError(message);
        });
        return option;
    }

    private static int? ParseCount(ArgumentResult result, string name)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1)
            return n;
        result.AddError($"{name} must be a whole number of at least 1, not '{text}'");
        return null;
    }

    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        var t = text.Trim();
        (string Suffix, double Ms)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach (var (suffix, ms) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && double.IsFinite(n))
            {
                duration = TimeSpan.FromMilliseconds(n * ms);
                return true;
            }
        }

        return TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }

    /// <summary>The *.csv files of a folder in file-name order; a usage error when there are none.</summary>
    public static IReadOnlyList<string> DataFiles(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UsageException($"data folder '{folder}' does not exist");
        var files = Directory.GetFiles(folder, "*.csv").OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new UsageException($"data folder '{folder}' holds no *.csv files");
        return files;
    }

    /// <summary>
    /// Creates <paramref name="folder"/> if needed and proves a file can be written into it, so that a bad output path
    /// is a usage error before any work is done rather than an I/O exception at the end.
    /// </summary>
    public static void EnsureWritableFolder(string folder, string option)
    {
        if (File.Exists(folder))
            throw new UsageException($"{option} '{folder}' is a file, not a folder");
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".puffy-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write to {option} folder '{folder}': {e.Message}");
        }
    }

    /// <summary>The same for an output file: its folder must be writable and the path must not be a folder.</summary>
    public static void EnsureWritableFile(string file, string option)
    {
        if (Directory.Exists(file))
            throw new UsageException($"{option} '{file}' is a folder, not a file");
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (folder is not null)
            EnsureWritableFolder(folder, option);
    }
}
