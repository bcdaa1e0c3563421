using System.Globalization;
using System.Text;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Cli;

/// <summary>
/// Synthetic input for load tests: a generator of sustained traffic at a set rate of event time, written as daily
/// exports in the real files' format. Deterministic for a seed, so a run can be repeated and compared.
/// </summary>
public static class LoadData
{
    private const string Header = "clientId,page_url,referrer,timestamp,event_name,event_data,user_agent";

    private const string UserAgent =
        "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36\"";

    private static readonly string[] Landings =
    [
        "https://puffy.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
        "https://puffy.com/products/puffy-mattress?utm_source=facebook&utm_medium=paid_social",
        "https://puffy.com/?utm_source=newsletter&utm_medium=email",
        "https://puffy.com/products/puffy-lux-mattress",
        "https://puffy.com/?gclid=abc123",
    ];

    private static readonly string[] Referrers = ["https://www.google.com/", "", "https://www.facebook.com/", ""];

    /// <summary>
    /// Writes <paramref name="eventsPerSecond"/> events per second of event time for <paramref name="duration"/>,
    /// starting at <paramref name="start"/> (UTC), into one file per day under <paramref name="folder"/>. Visitors
    /// arrive on a landing page, view a few pages about a minute apart, and about one in twenty buys; every event is
    /// valid, so the valid-event count equals the number written. Returns the files and the event count.
    /// </summary>
    public static (IReadOnlyList<string> Files, long Events) Sustained(
        string folder, int eventsPerSecond, TimeSpan duration, DateTime start, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(eventsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var total = (long)(duration.TotalSeconds * eventsPerSecond);
        var step = TimeSpan.TicksPerSecond / (double)eventsPerSecond;
        // Visitors in flight: each has a few events left, spread over the next minutes.
        var visitors = new List<Visitor>();
        var files = new List<string>();
        StreamWriter? writer = null;
        DateOnly? day = null;
        long orders = 0;
        try
        {
            for (long i = 0; i < total; i++)
            {
                var time = start.AddTicks((long)(i * step));
                var today = DateOnly.FromDateTime(time);
                if (day != today)
                {
                    writer?.Dispose();
                    var path = Path.Combine(folder, $"events_{today.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}.csv");
                    writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
                    writer.Write(Header);
                    files.Add(path);
                    day = today;
                }

                // Keep about one visitor in flight per 30 events per second: a new one arrives when few are left.
                var inFlight = Math.Max(8, eventsPerSecond * 2);
                Visitor v;
                if (visitors.Count < inFlight || random.Next(4) == 0)
                {
                    v = new Visitor(string.Create(CultureInfo.InvariantCulture, $"load-{seed}-{i:D10}"), 1 + random.Next(6), random.Next(20) == 0);
                    visitors.Add(v);
                    WriteRow(writer!, v.Id, Landings[random.Next(Landings.Length)], Referrers[random.Next(Referrers.Length)], time, "page_viewed", null);
                }
                else
                {
                    var at = random.Next(visitors.Count);
                    v = visitors[at];
                    if (v.Left == 1 && v.Buys)
                    {
                        orders++;
                        var revenue = 300 + random.Next(3000);
                        var data = string.Create(CultureInfo.InvariantCulture, $"{{\"\"transaction_id\"\":\"\"LOAD-{seed}-{orders:D9}\"\",\"\"revenue\"\":{revenue}}}");
                        WriteRow(writer!, v.Id, "https://checkout.puffy.com/thank-you", "", time, "checkout_completed", data);
                    }
                    else
                    {
                        WriteRow(writer!, v.Id, "https://puffy.com/products/puffy-mattress", "https://puffy.com/", time, "page_viewed", null);
                    }

                    v.Left--;
                    if (v.Left <= 0)
                    {
                        visitors[at] = visitors[^1];
                        visitors.RemoveAt(visitors.Count - 1);
                    }
                }
            }
        }
        finally
        {
            writer?.Dispose();
        }

        return (files, total);
    }

    /// <summary>
    /// Writes <paramref name="copies"/> copies of the data set into the same days and times, each row followed by its
    /// copies (client and transaction ids made unique per copy), so event-time density grows by the factor while the
    /// span stays 14 days. Defects are kept as they are (an unidentifiable row's copies are duplicates of it).
    /// An existing complete copy is reused.
    /// </summary>
    public static IReadOnlyList<string> Dense(IReadOnlyList<string> files, int copies, string folder, TextWriter progress)
    {
        ArgumentNullException.ThrowIfNull(files);
        var marker = Path.Combine(folder, ".complete");
        if (File.Exists(marker))
            return CliOptions.DataFiles(folder);
        Directory.CreateDirectory(folder);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var file in files)
        {
            var content = File.ReadAllBytes(file);
            var reader = new CsvRecordReader(content);
            var b = new StringBuilder(content.Length * copies);
            if (!reader.TryRead(out var headerRecord) || headerRecord.Fields is null)
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
                continue;
            }

            var header = CsvHeader.Parse(headerRecord.Fields);
            b.Append(headerRecord.Text);
            while (reader.TryRead(out var rec))
            {
                for (var k = 0; k < copies; k++)
                {
                    b.Append('\n');
                    AppendCopy(b, rec, header, k);
                }
            }

            File.WriteAllText(Path.Combine(folder, Path.GetFileName(file)), b.ToString());
        }

        File.WriteAllText(marker, files.Count.ToString(CultureInfo.InvariantCulture));
        progress.WriteLine($"generated {files.Count:N0} files with {copies} interleaved copies into {folder} in {clock.Elapsed.TotalSeconds:0.0} s (not timed)");
        return CliOptions.DataFiles(folder);
    }

    /// <summary>
    /// One row of copy <paramref name="copy"/>: client id suffixed with <c>-x{copy}</c>, transaction ids prefixed with
    /// <c>x{copy}-</c>, timestamps moved by <paramref name="shift"/>; copy 0 and rows that cannot be split stay as read.
    /// </summary>
    internal static void AppendCopy(StringBuilder b, CsvRecord rec, CsvHeader header, int copy, TimeSpan shift = default)
    {
        var iClient = header.IndexOf(CsvHeader.ClientId);
        var iTs = header.IndexOf(CsvHeader.Timestamp);
        var iData = header.IndexOf(CsvHeader.EventData);
        if (copy == 0 || rec.Fields is null || rec.Fields.Count != header.FieldCount || iClient < 0 || iTs < 0)
        {
            b.Append(rec.Text);
            return;
        }

        for (var i = 0; i < rec.Fields.Count; i++)
        {
            var f = rec.Fields[i];
            if (i == iClient && !string.IsNullOrWhiteSpace(f))
                f += string.Create(CultureInfo.InvariantCulture, $"-x{copy}");
            else if (i == iTs && shift != TimeSpan.Zero && EventTime.TryParse(f, out var t))
                f = EventTime.Iso(t + shift);
            else if (i == iData)
                f = f.Replace("\"transaction_id\":\"", string.Create(CultureInfo.InvariantCulture, $"\"transaction_id\":\"x{copy}-"), StringComparison.Ordinal);
            if (i > 0)
                b.Append(',');
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0)
                b.Append('"').Append(f.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            else
                b.Append(f);
        }
    }

    private static void WriteRow(TextWriter w, string client, string page, string referrer, DateTime time, string name, string? data)
    {
        w.Write('\n');
        w.Write(client);
        w.Write(',');
        w.Write(page);
        w.Write(',');
        w.Write(referrer);
        w.Write(',');
        w.Write(EventTime.Iso(time));
        w.Write(',');
        w.Write(name);
        w.Write(',');
        if (data is not null)
        {
            w.Write('"');
            w.Write(data);
            w.Write('"');
        }

        w.Write(',');
        w.Write(UserAgent);
    }

    private sealed class Visitor(string id, int left, bool buys)
    {
        public string Id { get; } = id;

        public int Left { get; set; } = left;

        public bool Buys { get; } = buys;
    }
}
