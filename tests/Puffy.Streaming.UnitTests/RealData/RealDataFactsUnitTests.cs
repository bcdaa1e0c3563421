using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.RealData;

/// <summary>The facts of semantics §9 about the real 14-day export, and the accounting invariant on it.</summary>
public sealed class RealDataFactsUnitTests(RealDataRun run) : IClassFixture<RealDataRun>
{
    private static readonly long[] RowsPerDay = [4070, 3769, 3470, 3177, 3393, 3263, 3489, 4335, 4042, 3538, 2881, 3442, 3251, 3843];

    private static List<RawEvent> ReadAll(IEnumerable<string> files)
    {
        var ingestor = new IngestorCore();
        return files.SelectMany(f => ingestor.ReadFile(Path.GetFileName(f), File.ReadAllBytes(f)).ToList()).ToList();
    }

    [Fact]
    public void Run_RealData_ReadsEveryRowOfEveryFile()
    {
        Assert.Equal(14, run.Files.Count);
        Assert.Equal(49_963, run.Summary.RowsRead);
        Assert.Equal(RowsPerDay, run.Summary.RowsPerFile.Values.ToArray());
    }

    [Fact]
    public void Run_RealData_EveryFileBalancesValidPlusDeadLettered()
    {
        foreach (var f in run.Summary.Files.Values)
        {
            Assert.True(f.Balances, $"{f.File}: rows {f.Rows} != valid {f.Valid} + dead-lettered {f.DeadLetteredTotal}");
            Assert.Null(f.Error);
        }

        Assert.Equal(run.Summary.RowsRead, run.Summary.Valid + run.Summary.DeadLettered);
        Assert.Equal(run.Summary.DeadLettered, run.Summary.DeadLetterReasons.Values.Sum());
    }

    [Fact]
    public void Run_RealData_EveryDeadLetterCarriesItsRowExactlyAsItStandsInItsFile()
    {
        // The files have no line breaks inside quotes and LF line ends: line n of the file is row n's text.
        var lines = run.Files.ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).Split('\n'));

        Assert.Equal(8_849, run.DeadLetters.Count);
        foreach (var d in run.DeadLetters)
            Assert.Equal(lines[d.SourceFile][d.Line - 1], d.OriginalRow);
    }

    [Fact]
    public void Run_RealData_EmptyClientIdsAreDeadLetteredWithTheirShareOnMarchSecond()
    {
        Assert.Equal(2_908, run.Summary.DeadLetterReasons[DeadLetterReasons.MissingClientId]);
        var march2 = run.Summary.Files["events_20250302.csv"];
        var share = Math.Round(100.0 * march2.DeadLettered[DeadLetterReasons.MissingClientId] / march2.Rows, 2);
        Assert.Equal(15.80, share);
        Assert.Contains(run.Summary.Alerts, a => a.Rule == "missing_client_id_rate" && a.Day == new DateOnly(2025, 3, 2)
                                                 && a.Severity == Severity.Critical && a.Observed == 15.80);
    }

    [Fact]
    public void Run_RealData_TheOneExactDuplicateRowIsOnMarchEighth()
    {
        var duplicates = run.DeadLetters.Where(d => d.Reason == DeadLetterReasons.DuplicateEvent).ToList();
        var single = Assert.Single(duplicates);
        Assert.Equal("events_20250308.csv", single.SourceFile);
    }

    [Fact]
    public void Input_RealData_Has294PurchasesWith290DistinctTransactionIds()
    {
        var purchases = ReadAll(run.Files).Where(r => r.EventName == EventNames.CheckoutCompleted).ToList();
        Assert.Equal(294, purchases.Count);
        var parsed = purchases.Select(p =>
        {
            using var doc = JsonDocument.Parse(p.EventData!);
            return (Tx: doc.RootElement.GetProperty("transaction_id").GetString()!, Revenue: doc.RootElement.GetProperty("revenue").GetDecimal(),
                Client: p.ClientId, Time: p.Timestamp);
        }).ToList();
        Assert.Equal(290, parsed.Select(p => p.Tx).Distinct().Count());
        var twice = parsed.GroupBy(p => p.Tx).Where(g => g.Count() > 1).ToList();
        Assert.Equal(4, twice.Count);
        Assert.All(twice, g => Assert.Equal(2, g.Select(p => p.Client).Distinct().Count()));
        Assert.Equal(294_461.40m, parsed.Sum(p => p.Revenue));
        Assert.Equal(10, parsed.Count(p => p.Revenue == 0m));
    }

    [Fact]
    public void Run_RealData_KeepsTheEarliestPurchaseOfEachDuplicatedTransaction()
    {
        Assert.Equal(290, run.Summary.Orders);
        Assert.Equal(287_744.40m, run.Summary.Revenue);
        Assert.Equal(10, run.Summary.ZeroRevenueOrders);
        Assert.Equal(4, run.Summary.DeadLetterReasons[DeadLetterReasons.DuplicateTransactionId]);
        foreach (var dl in run.DeadLetters.Where(d => d.Reason == DeadLetterReasons.DuplicateTransactionId))
        {
            var kept = run.Orders.Single(o => dl.Detail.Contains($"'{o.TransactionId}'", StringComparison.Ordinal));
            Assert.True(kept.PurchaseTime < dl.Timestamp, $"{kept.TransactionId}: kept {kept.PurchaseTime:O} is not earlier than {dl.Timestamp:O}");
        }
    }

    [Fact]
    public void Run_RealData_AttributionModelsEachSumToTotalRevenue()
    {
        foreach (var model in AttributionModels.All)
            Assert.Equal(run.Summary.Revenue, run.Summary.Attribution[model].Values.Sum());
        Assert.Equal(run.Summary.Revenue, run.Orders.Sum(o => o.Revenue));
    }

    [Fact]
    public void Input_RealData_ItemPriceIsNullOnEveryItemFromMarchSixth()
    {
        var raws = ReadAll(run.Files).Where(r => r.EventName == EventNames.CheckoutCompleted);
        var byDay = raws.GroupBy(r => r.FileDay!.Value).ToDictionary(g => g.Key, g => g.SelectMany(r =>
        {
            using var doc = JsonDocument.Parse(r.EventData!);
            return doc.RootElement.GetProperty("items").EnumerateArray()
                .Select(i => i.TryGetProperty("item_price", out var p) && p.ValueKind != JsonValueKind.Null).ToList();
        }).ToList());
        foreach (var (day, priced) in byDay)
        {
            Assert.NotEmpty(priced);
            if (day >= new DateOnly(2025, 3, 6))
                Assert.DoesNotContain(true, priced);
            else
                Assert.Contains(true, priced);
        }

        Assert.Contains(run.Summary.Alerts, a => a.Rule == "field_all_null" && a.Day == new DateOnly(2025, 3, 6) && a.Message.Contains("item_price", StringComparison.Ordinal));
    }

    [Fact]
    public void Sessionizer_AllNonEmptyClientIdsWithoutBotFiltering_Gives38267Sessions()
    {
        var events = new List<(DateTime Time, UInt128 Id, ValidEvent Event)>();
        foreach (var r in ReadAll(run.Files))
        {
            if (string.IsNullOrWhiteSpace(r.ClientId) || !EventTime.TryParse(r.Timestamp, out var t))
                continue;
            var id = EventId.Compute(r.ClientId, r.Timestamp, r.EventName, r.PageUrl, r.Referrer, r.EventData, r.UserAgent);
            events.Add((t, id, new ValidEvent(EventId.ToText(id), r.ClientId, t, r.EventName!, r.PageUrl, r.Referrer, r.UserAgent,
                UserAgents.Device(r.UserAgent), null, null, null, r.SourceFile, r.Line, r.StreamTime)));
        }

        var sessions = 0;
        var sessionizer = new SessionizerCore(new SessionizerOptions()) { OnSessionClosed = _ => sessions++ };
        foreach (var e in events.OrderBy(e => e.Time).ThenBy(e => e.Id))
            sessionizer.Accept(e.Event);
        sessionizer.Flush();
        Assert.Equal(38_267, sessions);
    }

    [Fact]
    public void Run_RealData_SchemaChangesAreAlerted()
    {
        Assert.Contains(run.Summary.Alerts, a => a.Rule == "schema_change" && a.Day == new DateOnly(2025, 2, 27) && a.Severity == Severity.Warning
                                                 && a.Message.Contains("renamed", StringComparison.Ordinal));
        Assert.Contains(run.Summary.Alerts, a => a.Rule == "schema_change" && a.Day == new DateOnly(2025, 3, 4) && a.Severity == Severity.Critical
                                                 && a.Message.Contains("referrer", StringComparison.Ordinal));
        Assert.Equal(run.Summary.Alerts.Count, run.Summary.Alerts.Select(a => (a.Rule, a.Day)).Distinct().Count());
    }

    [Fact]
    public void Run_RealData_RaisesExactlyTheKnownAlerts()
    {
        // The real data deserves these 22 alerts; the per-file content rules (empty file, no valid row, rows outside
        // the day, dead-lettered share: 7.8-25.7% per file, mostly bots) and the anomaly rules raise none on it.
        string[] expected =
        [
            "2025-02-24 zero_revenue_orders warning", "2025-02-25 zero_revenue_orders warning",
            "2025-02-26 duplicate_transaction_id critical",
            "2025-02-27 duplicate_transaction_id critical", "2025-02-27 schema_change warning", "2025-02-27 zero_revenue_orders warning",
            "2025-02-28 zero_revenue_orders warning",
            "2025-03-01 duplicate_transaction_id critical",
            "2025-03-02 missing_client_id_rate critical",
            "2025-03-03 missing_client_id_rate warning", "2025-03-03 zero_revenue_orders warning",
            "2025-03-04 direct_share_jump warning", "2025-03-04 missing_client_id_rate warning", "2025-03-04 schema_change critical",
            "2025-03-04 zero_revenue_orders warning",
            "2025-03-05 missing_client_id_rate warning",
            "2025-03-06 field_all_null warning", "2025-03-06 missing_client_id_rate warning", "2025-03-06 zero_revenue_orders warning",
            "2025-03-07 missing_client_id_rate warning",
            "2025-03-08 duplicate_transaction_id critical", "2025-03-08 missing_client_id_rate critical",
        ];

        Assert.Equal(expected, run.Summary.Alerts.Select(a => $"{a.Day:yyyy-MM-dd} {a.Rule} {a.Severity.ToString().ToLowerInvariant()}"));
    }

    [Fact]
    public void Run_RealDataThenANearEmptyDay_RaisesCriticalRowsAnomalyForThatDay()
    {
        // Fourteen real days, then a 15th export with 5 rows: the row count collapsed against the trailing week.
        var dir = Directory.CreateTempSubdirectory("puffy-collapse-").FullName;
        try
        {
            var header = "clientId,page_url,timestamp,event_name,event_data,user_agent"; // the last real file's columns
            var rows = Enumerable.Range(0, 5).Select(i => $"late-{i},https://puffy.com/,2025-03-09T0{i}:00:00.000Z,page_viewed,,Mozilla/5.0 (iPhone; Mobile)");
            var extra = Path.Combine(dir, "events_20250309.csv");
            File.WriteAllText(extra, string.Join('\n', rows.Prepend(header)) + "\n");
            var builder = new Embedded.SummaryBuilder();
            new Embedded.EmbeddedPipeline(new Embedded.PipelineOptions(), builder).Run([.. run.Files, extra], cancellationToken: TestContext.Current.CancellationToken);
            var alerts = builder.Complete().Alerts;

            var alert = Assert.Single(alerts, a => a.Rule == Pipeline.Monitoring.AlertRules.RowsAnomaly);
            Assert.Equal(new DateOnly(2025, 3, 9), alert.Day);
            Assert.Equal(Severity.Critical, alert.Severity);
            Assert.Equal(5, alert.Observed);
            Assert.Equal(run.Summary.Alerts, alerts.Where(a => a.Day < new DateOnly(2025, 3, 9)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Run_RealData_SessionsWithoutReferrerColumnAreUnattributedNeverDirect()
    {
        // Files from 2025-03-04 on have no referrer column, and every file holds only its own day's events.
        var noReferrerDays = run.Sessions.Where(s => s.Start >= new DateTime(2025, 3, 4, 0, 0, 0, DateTimeKind.Utc)).ToList();
        Assert.NotEmpty(noReferrerDays);
        Assert.DoesNotContain(noReferrerDays, s => s.Channel == Channels.Direct);
        Assert.Contains(noReferrerDays, s => s.Channel == Channels.Unattributed);
        Assert.Equal(run.Summary.Sessions, run.Summary.SessionsPerDay.Values.Sum());
        Assert.Equal(run.Summary.Sessions, run.Summary.SessionsPerChannel.Values.Sum());
        Assert.Equal(run.Summary.Sessions, run.Summary.DeviceSessions.Values.Sum());
    }
}
