using System.Globalization;

namespace Puffy.Streaming.Cli;

/// <summary>Parses <c>puffy COMMAND [--option value]...</c> and dispatches.</summary>
internal static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    private const string Usage = """
        usage:
          puffy run   --data DIR --out DIR [--lateness 15m] [--no-progress] [--clickhouse URL --database NAME]
                      Streams every *.csv of DIR (file-name order) through the whole pipeline in-process and
                      writes puffy.db (SQLite) and summary.json into --out (and the ClickHouse tables if asked).
          puffy summary --from clickhouse --out FILE [--clickhouse URL] [--database puffy]
                      Writes summary.json computed from the ClickHouse tables.
          puffy stack up|down|status [--partitions 4] [--state DIR]
                      Starts/stops, as background processes under DIR (default .puffy/stack): Redis, ClickHouse,
                      a Kafka-protocol broker (unless KAFKA_BOOTSTRAP names a Kafka) and the validator,
                      sessionizer, attribution and monitor services.
          puffy replay --data DIR [--speed max|realtime|Nx] [--wait] [--timeout 30m]
                      Runs the ingestor against the stack; --wait returns once every service has processed
                      everything (sessions flushed, orders written).
          puffy broker [--partitions 4] [--bootstrap-file FILE]
                      Hosts the Kafka-protocol test broker with the pipeline's topics (used by the stack).
          puffy bench [--scale 100] [--repeat 1] [--data DIR] [--work DIR] [--sink sqlite|none]
                      Replays DIR once and a synthetic scale-up (DIR repeated N times, each copy shifted by the
                      data set's span with its own client and transaction ids) and reports events/s and memory.
          puffy bench --stack [--scale 10] [--partitions 4]
                      The same end to end through the five services: a fresh local stack per run, replay at
                      max speed, timed until every service has processed everything; summary checked.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? UsageError : Ok;
        }

        Dictionary<string, string?> options;
        try
        {
            options = ParseOptions(args.AsSpan(args[0] == "stack" && args.Length > 1 ? 2 : 1));
        }
        catch (UsageException e)
        {
            return UsageFailure(e.Message);
        }

        try
        {
            return args[0] switch
            {
                "run" => await RunCommand.ExecuteAsync(options),
                "bench" => await BenchCommand.ExecuteAsync(options),
                "summary" => await SummaryCommand.ExecuteAsync(options),
                "stack" when args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) =>
                    await StackCommand.ExecuteAsync(args[1], ParseOptions(args.AsSpan(2))),
                "stack" => UsageFailure("stack needs an action: up, down or status"),
                "replay" => await StackCommand.ReplayAsync(options),
                "broker" => BrokerCommand.Execute(options),
                _ => UsageFailure($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            return UsageFailure(e.Message);
        }
        catch (Exception e) when (e is ClickHouse.ClickHouseException or HttpRequestException)
        {
            Console.Error.WriteLine($"puffy: ClickHouse failed: {e.Message}");
            return Failed;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Confluent.Kafka.KafkaException)
        {
            Console.Error.WriteLine($"puffy: {e.Message}");
            return Failed;
        }
    }

    private static int UsageFailure(string message)
    {
        Console.Error.WriteLine($"puffy: {message}");
        Console.Error.WriteLine(Usage);
        return UsageError;
    }

    private static Dictionary<string, string?> ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"unexpected argument '{a}'");
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                options[a[2..eq]] = a[(eq + 1)..];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                options[a[2..]] = args[++i];
            }
            else
            {
                options[a[2..]] = null;
            }
        }

        return options;
    }

    public static string Required(Dictionary<string, string?> options, string name) =>
        options.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v : throw new UsageException($"--{name} is required");

    public static string? Optional(Dictionary<string, string?> options, string name) => options.GetValueOrDefault(name);

    public static bool Flag(Dictionary<string, string?> options, string name) => options.ContainsKey(name);

    /// <summary>Durations as <c>15m</c>, <c>90s</c>, <c>1h</c>, <c>500ms</c> or <c>hh:mm:ss</c>.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim();
        (string Suffix, double Ms)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach (var (suffix, ms) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
                return TimeSpan.FromMilliseconds(n * ms);
        }

        if (TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var ts) && ts >= TimeSpan.Zero)
            return ts;
        throw new UsageException($"'{text}' is not a duration (use e.g. 15m, 90s, 1h)");
    }

    /// <summary>The *.csv files of a folder in file-name order; a clear error when there are none.</summary>
    public static IReadOnlyList<string> DataFiles(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UsageException($"data folder '{folder}' does not exist");
        var files = Directory.GetFiles(folder, "*.csv").OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new UsageException($"data folder '{folder}' holds no *.csv files");
        return files;
    }
}

internal sealed class UsageException(string message) : Exception(message);
