using System.Globalization;
using System.Text;
using CsCheck;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.UnitTests.Rules;

namespace Puffy.Streaming.UnitTests.Fuzz;

/// <summary>
/// Property-based fuzzing of what reads hostile input: the CSV reader, the ingestor and the validator, and the whole
/// embedded run. Arbitrary bytes and mutated real rows never throw, and every row read ends valid or dead-lettered
/// with a known reason (semantics §2). The unit run takes a bounded number of cases; set PUFFY_FUZZ_ITERATIONS for a
/// longer run by hand (each property then runs that many cases), and CsCheck_Seed to replay a reported failure.
/// </summary>
public sealed class IngestFuzzUnitTests
{
    private static readonly Action<string> Quiet = static _ => { };

    private static long Iterations(long quick) =>
        long.TryParse(Environment.GetEnvironmentVariable("PUFFY_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : quick;

    private static readonly HashSet<string> Reasons = [.. DeadLetterReasons.All];

    // A few hundred real rows of every kind (purchases included) and the real headers, to mutate.
    private static readonly Lazy<(string[] Headers, string[] Rows)> Real = new(() =>
    {
        var files = Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal).ToList();
        var headers = files.Select(f => File.ReadLines(f).First()).Distinct(StringComparer.Ordinal).ToArray();
        var rows = files.SelectMany(f => File.ReadLines(f).Skip(1).Where((line, i) => i % 97 == 0 || line.Contains("checkout_completed", StringComparison.Ordinal)))
            .ToArray();
        return (headers, rows);
    });

    private static readonly string[] FileNames =
    [
        "events_20250223.csv", "events_20250301.csv", "export.csv", "events_00010101.csv", "events_00010102.csv", "events_99991231.csv",
        "events_20250230.csv", "20250223_20250224.csv",
    ];

    private static readonly string[] Hostile =
    [
        "\"", ",", "\n", "\r\n", "\r", "\"\"", "\u00e9", "\uFEFF", "\0", "\u2028", " ", "\t", "",
        "0001-01-01T00:00:00.000Z", "0001-01-01T00:10:00Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.9999999+00:00",
        "2025-02-29T10:00:00.000Z", "2025-02-23T24:00:00.000Z", "2025-02-23T00:00:00.000Z", "2025-02-23T10:00:00.1234567Z",
        "purchase", "checkout_completed", "PAGE_VIEWED", "page_viewed",
        "{}", "[]", "{", "null", "1", "{\"a\":1}{\"b\":2}", "{\"transaction_id\":\"T-1\",\"revenue\":1e400}",
        "{\"transaction_id\":\"T-1\",\"revenue\":79228162514264337593543950336}", "{\"transaction_id\":\"T-1\",\"revenue\":\"-0.00\"}",
        "{\"transaction_id\":\"T-1\",\"revenue\":0}", "{\"transaction_id\":1e5,\"revenue\":\"12.5\"}", "{\"transaction_id\":null,\"revenue\":1}",
        "{\"transaction_id\":\"  \",\"revenue\":1}", "{\"transaction_id\":\"T-2\",\"revenue\":-1}", "{\"transaction_id\":\"T-2\",\"revenue\":\"NaN\"}",
        new string('[', 200) + new string(']', 200), "{\"transaction_id\":\"T-3\",\"revenue\":5,\"items\":" + new string('[', 70) + new string(']', 70) + "}",
        "Googlebot/2.1", "curl/8.0", "Mozilla/5.0 (iPad)", "https://puffy.com/?gclid=1&utm_medium=%ZZ&fbclid", "https://%zz/", "http://[::1/",
        "android-app://com.google.android.gm", "//", "?", "#", "%", "https://puffy.com/?" + new string('&', 500),
    ];

    private static readonly byte[][] HostileBytes = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0xEF, 0xBB, 0xBF], [0x80]];

    private static Gen<T> Pick<T>(IReadOnlyList<T> items) => Gen.Int[0, items.Count - 1].Select(i => items[i]);

    /// <summary>Bytes a CSV reader finds hard: quotes, separators, line ends, invalid UTF-8, and anything else.</summary>
    private static readonly Gen<byte[]> CsvishBytes = Gen.Frequency(
            (4, Gen.Byte.Select(b => new[] { b })),
            (6, Pick("\",\n\r\"\"a1{}:\\".Select(c => new[] { (byte)c }).ToArray())),
            (1, Pick(HostileBytes)))
        .Array[0, 400].Select(parts => parts.SelectMany(p => p).ToArray());

    private static readonly Gen<byte[]> AnyBytes = Gen.Frequency((1, Gen.Byte.Array[0, 600]), (2, CsvishBytes));

    /// <summary>One mutation of a row's text, at a relative position.</summary>
    private static readonly Gen<Func<string, string>> Mutation = Gen.Frequency(
        (3, Gen.Select(Gen.Double[0, 1], Pick(Hostile), (at, token) => (Func<string, string>)(row => row.Insert(Index(row, at), token)))),
        (3, Gen.Select(Gen.Int[0, 6], Pick(Hostile), (field, value) => (Func<string, string>)(row => ReplaceField(row, field, value)))),
        (2, Gen.Select(Gen.Double[0, 1], Gen.Int[1, 40], (at, length) => (Func<string, string>)(row =>
        {
            var i = Index(row, at);
            return row.Remove(i, Math.Min(length, row.Length - i));
        }))),
        (2, Gen.Select(Gen.Double[0, 1], Gen.Char, (at, c) => (Func<string, string>)(row =>
        {
            var i = Index(row, at);
            return i < row.Length ? row.Remove(i, 1).Insert(i, c.ToString()) : row + c;
        }))),
        (1, Gen.Const((Func<string, string>)(row => row + "\n" + row))),
        (1, Gen.Const((Func<string, string>)(row => row.Replace("2025-02-", "2025-03-", StringComparison.Ordinal)))),
        (1, Gen.Const((Func<string, string>)(row => row.Replace(",", "\",\"", StringComparison.Ordinal)))),
        (1, Gen.Const((Func<string, string>)(_ => string.Empty))));

    private static int Index(string row, double at) => (int)Math.Round(at * row.Length);

    private static string ReplaceField(string row, int field, string value)
    {
        var fields = new List<string>();
        if (CsvRecordReader.Split(row, fields) is not null || field >= fields.Count)
            return row;
        fields[field] = value;
        return string.Join(',', fields.Select(f => f.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{f.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : f));
    }

    private static readonly Gen<string> MutatedRow =
        Gen.Select(Gen.Int[0, int.MaxValue], Mutation.Array[0, 3], (i, mutations) =>
        {
            var rows = Real.Value.Rows;
            return mutations.Aggregate(rows[i % rows.Length], (row, mutate) => mutate(row));
        });

    /// <summary>A file: a real header (or a mutated one), mutated real rows, sometimes raw bytes in between.</summary>
    private static readonly Gen<(string Name, byte[] Content)> MutatedFile =
        Gen.Select(Pick(FileNames), Gen.Int[0, 9], Mutation, MutatedRow.Array[0, 25], CsvishBytes, Pick(["\n", "\r\n"]),
            (name, headerKind, headerMutation, rows, noise, newline) =>
            {
                var headers = Real.Value.Headers;
                var header = headerKind switch
                {
                    < 6 => headers[headerKind % headers.Length],
                    6 => headers[0].Replace("client_id", "clientId", StringComparison.Ordinal),
                    7 => headerMutation(headers[0]),
                    8 => headers[0] + ",client_id",
                    _ => string.Empty,
                };
                var text = new StringBuilder(header);
                foreach (var row in rows)
                    text.Append(newline).Append(row);
                var bytes = Encoding.UTF8.GetBytes(text.ToString());
                return (name, headerKind == 9 ? [.. bytes, .. noise] : bytes);
            });

    [Fact]
    public void CsvRecordReader_ArbitraryBytes_NeverThrowsAndTakesEveryLineOnce()
    {
        AnyBytes.Sample(bytes =>
        {
            var reader = new CsvRecordReader(bytes);
            var records = 0;
            var lastLine = 0L;
            var bom = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
            var newlines = bytes.AsSpan(bom).Count((byte)'\n');
            while (reader.TryRead(out var record))
            {
                records++;
                Assert.True(record.Line > lastLine, "line numbers increase");
                Assert.True(record.Fields is not null ^ record.Error is not null, "a record is split or says why not");
                Assert.True(record.Fields is null || record.Fields.Count >= 1);
                Assert.NotNull(record.Text);
                lastLine = record.Line;
                Assert.True(records <= newlines + 1, "no more records than lines");
            }

            Assert.True(bytes.Length > bom ? records >= 1 : records == 0, "something to read gives a record");
            Assert.True(lastLine <= newlines + 1);
        }, writeLine: Quiet, iter: Iterations(3000));
    }

    [Fact]
    public void RowChecks_ArbitraryFields_RejectWithAKnownReasonOrAccept()
    {
        var text = Gen.Frequency((3, Gen.String[0, 40]), (3, Pick(Hostile)), (1, Gen.Const(static () => (string)null!)));
        var day = Gen.Frequency((3, Gen.DateOnly.Select(d => (DateOnly?)d)), (1, Pick(new DateOnly?[] { null, DateOnly.MinValue, DateOnly.MaxValue, new(2025, 2, 23) })));
        Gen.Select(text.Array[7], day, Gen.DateTime, (f, d, stream) => new RawEvent("fuzz.csv", 2, d, string.Join(',', f), null, f[0], f[1], f[2], f[3], f[4], f[5], f[6], stream))
            .Sample(raw =>
            {
                var verdict = RowChecks.Check(raw, new FieldTally());
                if (verdict.IsRejected)
                {
                    Assert.Contains(verdict.Reason!, Reasons);
                    Assert.False(string.IsNullOrEmpty(verdict.Detail));
                }
                else
                {
                    Assert.NotNull(verdict.Event);
                }
            }, writeLine: Quiet, iter: Iterations(3000));
    }

    [Fact]
    public void IngestAndValidate_MutatedRealFiles_EveryRowValidOrDeadLetteredOnceWithAReason()
    {
        MutatedFile.Array[1, 4].Sample(files =>
        {
            var valid = new List<ValidEvent>();
            var dead = new List<DeadLetter>();
            var metrics = new List<Metric>();
            var ingestor = new IngestorCore { OnMetric = metrics.Add };
            var validator = new ValidatorCore(new ValidatorOptions()) { OnValid = valid.Add, OnDeadLetter = dead.Add, OnMetric = metrics.Add };
            var read = new List<(string File, long Line)>();
            var names = files.Select((f, i) => (Name: $"{i}-{f.Name}", f.Content)).ToList();
            foreach (var (name, content) in names)
            {
                foreach (var raw in ingestor.ReadFile(name, content))
                {
                    read.Add((raw.SourceFile, raw.Line));
                    validator.Accept(raw);
                }

                validator.EndOfFile(name, EventTime.DayFromFileName(name));
            }

            validator.Flush();
            AssertAccounted(read, valid, dead);
            foreach (var (name, _) in names)
            {
                var rows = metrics.Single(m => m.Source == name && m.Name == MetricNames.FileRows).Value;
                Assert.Equal(read.Count(r => r.File == name), rows);
                Assert.Equal(rows, metrics.Single(m => m.Source == name && m.Name == MetricNames.FileComplete).Value);
                Assert.Equal(rows, metrics.Single(m => m.Source == name && m.Name == MetricNames.FileValid).Value
                                   + metrics.Where(m => m.Source == name && m.Name == MetricNames.FileDeadLettered).Sum(m => m.Value));
            }
        }, writeLine: Quiet, iter: Iterations(400));
    }

    [Fact]
    public void EmbeddedRun_MutatedRealFiles_NeverThrowsAndBalancesEveryFile()
    {
        MutatedFile.Array[1, 4].Sample(files =>
        {
            var run = new PipelineHarness();
            for (var i = 0; i < files.Length; i++)
                run.File($"{i}-{files[i].Name}", files[i].Content);
            var summary = run.Finish();

            Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
            Assert.All(summary.Files.Values, f => Assert.True(f.Balances, $"{f.File}: {f.Rows} rows, {f.Valid} valid, {f.DeadLetteredTotal} dead-lettered"));
            Assert.All(run.DeadLetters, d => Assert.Contains(d.Reason, Reasons));
            Assert.Equal(summary.Revenue, summary.Attribution.Values.First().Values.Sum());
        }, writeLine: Quiet, iter: Iterations(150));
    }

    private static void AssertAccounted(List<(string File, long Line)> read, List<ValidEvent> valid, List<DeadLetter> dead)
    {
        var outcomes = valid.Select(v => (v.SourceFile, v.Line)).Concat(dead.Select(d => (d.SourceFile, d.Line))).ToList();
        Assert.True(read.Order().SequenceEqual(outcomes.Order()),
            $"rows read without exactly one outcome: {string.Join(", ", read.Except(outcomes).Concat(outcomes.GroupBy(o => o).Where(g => g.Count() > 1).Select(g => g.Key)))}; "
            + $"outcomes of rows not read: {string.Join(", ", outcomes.Except(read))}");
        Assert.All(dead, d =>
        {
            Assert.Contains(d.Reason, Reasons);
            Assert.False(string.IsNullOrEmpty(d.Detail));
        });
    }
}
