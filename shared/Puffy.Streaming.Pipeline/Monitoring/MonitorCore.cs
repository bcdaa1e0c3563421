using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Pipeline.Monitoring;

public sealed class MonitorOptions
{
    public double MissingClientIdWarningPercent { get; set; } = 5;
    public double MissingClientIdCriticalPercent { get; set; } = 10;

    /// <summary>Share of a file's rows dead-lettered (for any reason) above which <c>dead_letter_share</c> warns.</summary>
    public double DeadLetterWarningPercent { get; set; } = 30;

    /// <summary>Share of a file's rows dead-lettered above which <c>dead_letter_share</c> is critical.</summary>
    public double DeadLetterCriticalPercent { get; set; } = 50;

    /// <summary>A <c>rows_anomaly</c> below this share of the trailing median is a collapse: critical, not a warning.</summary>
    public double RowsCollapsePercent { get; set; } = 50;

    /// <summary>Robust standard deviations (1.4826 × MAD) from the trailing median that count as anomalous.</summary>
    public double AnomalySigmas { get; set; } = 3;

    /// <summary>Trailing days the anomaly rules compare against.</summary>
    public int AnomalyWindowDays { get; set; } = 7;

    /// <summary>Fewest earlier days an anomaly rule needs before it says anything (a full trailing week by default).</summary>
    public int AnomalyMinHistory { get; set; } = 7;

    public double DirectShareJumpPoints { get; set; } = 15;

    /// <summary>Live mode: how long without events before <c>no_events</c> fires.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Alert rule names.</summary>
public static class AlertRules
{
    public const string FileUnreadable = "file_unreadable";
    public const string EmptyFile = "empty_file";
    public const string NoValidRows = "no_valid_rows";
    public const string RowsOutsideDay = "rows_outside_day";
    public const string DeadLetterShare = "dead_letter_share";
    public const string SchemaChange = "schema_change";
    public const string MissingClientIdRate = "missing_client_id_rate";
    public const string DuplicateTransactionId = "duplicate_transaction_id";
    public const string ZeroRevenueOrders = "zero_revenue_orders";
    public const string FieldAllNull = "field_all_null";
    public const string RowsAnomaly = "rows_anomaly";
    public const string OrdersAnomaly = "orders_anomaly";
    public const string RevenueAnomaly = "revenue_anomaly";
    public const string ConversionRateAnomaly = "conversion_rate_anomaly";
    public const string DirectShareJump = "direct_share_jump";
    public const string NoEvents = "no_events";
    public const string FileChanged = "file_changed";
    public const string PoisonMessages = "poison_messages";
}

/// <summary>
/// The monitor's core (semantics §8): consumes metric snapshots and raises each alert once per (rule, day).
/// File rules run when a file's metrics are complete, session rules when a day's sessions are all closed.
/// </summary>
public sealed class MonitorCore(MonitorOptions options)
{
    private readonly Dictionary<string, FileSnapshot> _files = new(StringComparer.Ordinal);
    private readonly HashSet<(string Rule, DateOnly? Day)> _raised = [];
    private readonly List<Alert> _alerts = [];
    private readonly Dictionary<DateOnly, DayValues> _fileDays = [];
    private readonly Dictionary<DateOnly, double> _conversion = [];
    private (DateOnly Day, double Share)? _lastDirectShare;
    private readonly Dictionary<DateOnly, DaySessions> _sessionDays = [];
    private FileSnapshot? _lastSchemaFile;
    private FileSnapshot? _lastCompleteFile;
    private DateTime? _lastHeartbeat;

    public IReadOnlyList<Alert> Alerts => _alerts;

    /// <summary>Everything the rules remember, as plain data: a restarted monitor given it decides as this one would.</summary>
    public MonitorState Save() => new(
        _files.Values.Select(FileState.Of).ToList(),
        _lastSchemaFile is null ? null : FileState.Of(_lastSchemaFile),
        _lastCompleteFile is null ? null : FileState.Of(_lastCompleteFile),
        [.. _alerts],
        _fileDays.OrderBy(d => d.Key).SelectMany(d => d.Value.Files.Select(f => new FileDayTotals(d.Key, f.Key, f.Value.Rows, f.Value.Orders, f.Value.Revenue))).ToList(),
        _conversion.OrderBy(c => c.Key).Select(c => new DayValue(c.Key, c.Value)).ToList(),
        _lastDirectShare is { } share ? new DayValue(share.Day, share.Share) : null,
        _sessionDays.OrderBy(d => d.Key).Select(d => new SessionDayState(d.Key, d.Value.Sessions, d.Value.Orders, new SortedDictionary<string, double>(d.Value.ByChannel, StringComparer.Ordinal))).ToList(),
        _lastHeartbeat);

    /// <summary>Replaces what the rules remember with a state from <see cref="Save"/>.</summary>
    public void Restore(MonitorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _files.Clear();
        foreach (var f in state.Files)
            _files[f.File] = f.ToSnapshot();
        _lastSchemaFile = Linked(state.LastSchemaFile);
        _lastCompleteFile = Linked(state.LastCompleteFile);
        _alerts.Clear();
        _alerts.AddRange(state.Alerts);
        _raised.Clear();
        foreach (var a in state.Alerts)
            _raised.Add((a.Rule, a.Day));
        _fileDays.Clear();
        foreach (var t in state.FileDays)
        {
            if (!_fileDays.TryGetValue(t.Day, out var values))
                _fileDays[t.Day] = values = new DayValues();
            values.Files[t.File] = (t.Rows, t.Orders, t.Revenue);
        }

        _conversion.Clear();
        foreach (var c in state.Conversion)
            _conversion[c.Day] = c.Value;
        _lastDirectShare = state.LastDirectShare is { } share ? (share.Day, share.Value) : null;
        _sessionDays.Clear();
        foreach (var d in state.SessionDays)
        {
            var day = new DaySessions { Sessions = d.Sessions, Orders = d.Orders };
            foreach (var (channel, sessions) in d.ByChannel)
                day.ByChannel[channel] = sessions;
            _sessionDays[d.Day] = day;
        }

        _lastHeartbeat = state.LastHeartbeat;

        // The rules compare the last schema and complete files by identity with the ones in the file table.
        FileSnapshot? Linked(FileState? f) => f is null ? null : _files.GetValueOrDefault(f.File) ?? f.ToSnapshot();
    }

    /// <summary>
    /// Whether the monitor takes a metric, and if not why (it is then a poison message, never counted): the name is in
    /// the contract and comes from its producer (the message key; null when the caller knows it, as the embedded run
    /// does), the value is a finite number in its range (counts are whole and non-negative), a file metric names a
    /// file, the ingestor reports a file's rows once per reading after announcing it, and no count of the validator
    /// exceeds the rows the file is known to have. Pure: it changes nothing. A <paramref name="part"/> is one input
    /// partition's share of a partition-parallel validator's file metrics (<see cref="PartitionFileMetrics"/>): it is held
    /// to every check but those only a whole file meets (its rows are the rows decided valid or dead-lettered); the sums
    /// of the parts are held to them when they are accepted.
    /// </summary>
    public string? Check(Metric m, string? producer = null, bool part = false)
    {
        ArgumentNullException.ThrowIfNull(m);
        var from = MetricNames.ProducerOf(m.Name);
        if (from is null)
            return $"unknown metric name '{Excerpt(m.Name)}'";
        if (producer is not null && producer != from)
            return $"{m.Name} is the {from}'s metric, not the '{Excerpt(producer)}''s";
        if (!double.IsFinite(m.Value))
            return Inv($"{m.Name} has the value {m.Value}, not a finite number");
        if (m.Day is { } day && (day < EventTime.FirstDay || day > EventTime.LastDay))
            return Inv($"{m.Name} names the day {day:yyyy-MM-dd}, outside {EventTime.FirstDay:yyyy-MM-dd}..{EventTime.LastDay:yyyy-MM-dd}");
        (double Min, double Max, bool Whole) range = m.Name switch
        {
            MetricNames.FileRevenue => (0, MaxRevenue, false),
            MetricNames.FileFirstTimestamp or MetricNames.FileLastTimestamp or MetricNames.Heartbeat => (0, MaxUnixSeconds, false),
            MetricNames.FileUnreadable or MetricNames.FileHeaderUnusable => (1, 1, true),
            _ => (0d, MaxCount, true),
        };
        if (m.Value < range.Min || m.Value > range.Max || (range.Whole && Math.Floor(m.Value) != m.Value))
            return Inv($"{m.Name} = {m.Value} for '{Excerpt(m.Source)}': must be {(range.Whole ? "a whole number" : "a number")} from {range.Min} to {range.Max}");
        if (from == MetricProducers.Sessionizer)
            return m.Day is null ? $"{m.Name} names no day" : null;
        if (m.Name == MetricNames.Heartbeat)
            return null;
        if (m.Source.Length == 0)
            return $"{m.Name} names no file";
        if (m.Name == MetricNames.FileDeadLettered && !DeadLetterReasons.All.Contains(m.Dimension, StringComparer.Ordinal))
            return $"{m.Name} for '{Excerpt(m.Source)}' names '{Excerpt(m.Dimension)}', no reason of the contract";
        var file = _files.GetValueOrDefault(m.Source);
        switch (m.Name)
        {
            case MetricNames.FileRows or MetricNames.FileHeaderUnusable when file is not { Reading: true }:
                return $"{m.Name} for '{Excerpt(m.Source)}', which the ingestor is not reading (not announced by {MetricNames.FileSchema}, or its rows were already reported)";
            case MetricNames.FileRows when file!.Rows > 0 && m.Value != file.Rows:
                return Inv($"{m.Name} = {m.Value} for '{Excerpt(m.Source)}', but the validator decided {file.Rows} rows of it");
            case MetricNames.FileComplete when !part:
                var decided = file is null ? 0 : file.Valid + file.DeadLettered.Values.Sum();
                if (m.Value != decided)
                    return Inv($"{m.Name} = {m.Value} for '{Excerpt(m.Source)}', but the validator reported {decided} rows valid or dead-lettered");
                break;
        }

        // Item fields count once per item of a purchase: a file may have more of them than rows.
        if (from == MetricProducers.Validator && m.Name is not (MetricNames.FileRevenue or MetricNames.FileFirstTimestamp or MetricNames.FileLastTimestamp)
            && !(m.Name is MetricNames.FieldObserved or MetricNames.FieldNull && Validation.FieldTally.IsItemField(m.Dimension))
            && file?.IngestedRows is { } rows && m.Value > rows)
            return Inv($"{m.Name} = {m.Value} for '{Excerpt(m.Source)}', more than the {rows} rows the ingestor read from it");
        return null;
    }

    /// <summary>Raises <c>poison_messages</c> for the day a poison message arrived (once per day; each is stored on its own).</summary>
    public IReadOnlyList<Alert> AcceptPoison(DateTime nowUtc, string description)
    {
        var raised = new List<Alert>();
        Raise(raised, DateOnly.FromDateTime(nowUtc), AlertRules.PoisonMessages, Severity.Error, 1, 0,
            $"a message on the bus is not a valid message of the contract and was set aside as poison (see poison_messages): {description}");
        return raised;
    }

    // Values ClickHouse and the metrics' consumers can hold; anything else cannot be a real measurement.
    private const double MaxCount = 1L << 53;
    private const double MaxRevenue = 1e15;
    private const double MaxUnixSeconds = 4_102_444_800; // 2100-01-01

    private static string Excerpt(string text) => text.Length <= 80 ? text : text[..80] + "…";

    /// <summary>Applies a metric. One that fails <see cref="Check"/> changes nothing and raises nothing.</summary>
    public IReadOnlyList<Alert> Accept(Metric m)
    {
        var raised = new List<Alert>();
        if (Check(m) is not null)
            return raised;
        switch (m.Name)
        {
            case MetricNames.FileSchema:
                var announced = Snapshot(m);
                announced.Reading = true;
                OnSchema(announced, m, raised);
                break;
            case MetricNames.FileRows:
                var read = Snapshot(m);
                read.Reading = false;
                read.IngestedRows = m.Value;
                break;
            case MetricNames.FileChanged:
                Raise(raised, m.Day, AlertRules.FileChanged, Severity.Warning, 1, 0,
                    Inv($"{m.Source}: new content under the name of a file already read ({m.Dimension}, {m.Value:0} rows); it is read as a file of its own, and its rows already accepted end as duplicate_event"));
                break;
            case MetricNames.FileUnreadable or MetricNames.FileHeaderUnusable:
                Raise(raised, m.Day, AlertRules.FileUnreadable, Severity.Critical, 1, 0,
                    $"{m.Source}: {m.Dimension}; its rows could not be read as events");
                break;
            case MetricNames.FileValid:
                Snapshot(m).Valid = m.Value;
                break;
            case MetricNames.FileDeadLettered:
                Snapshot(m).DeadLettered[m.Dimension] = m.Value;
                break;
            case MetricNames.FileOrders:
                Snapshot(m).Orders = m.Value;
                break;
            case MetricNames.FileRevenue:
                Snapshot(m).Revenue = m.Value;
                break;
            case MetricNames.FileZeroRevenueOrders:
                Snapshot(m).ZeroRevenue = m.Value;
                break;
            case MetricNames.FieldObserved:
                Snapshot(m).FieldObserved[m.Dimension] = m.Value;
                break;
            case MetricNames.FieldNull:
                Snapshot(m).FieldNull[m.Dimension] = m.Value;
                break;
            case MetricNames.FileTimestamps:
                Snapshot(m).Timestamps = m.Value;
                break;
            case MetricNames.FileTimestampsInDay:
                Snapshot(m).TimestampsInDay = m.Value;
                break;
            case MetricNames.FileFirstTimestamp:
                Snapshot(m).FirstTimestamp = m.Value;
                break;
            case MetricNames.FileLastTimestamp:
                Snapshot(m).LastTimestamp = m.Value;
                break;
            case MetricNames.FileComplete:
                var f = Snapshot(m);
                f.Rows = m.Value;
                OnFileComplete(f, raised);
                break;
            case MetricNames.DaySessions when m.Day is { } d1:
                SessionDay(d1).Sessions = m.Value;
                break;
            case MetricNames.DayChannelSessions when m.Day is { } d2:
                SessionDay(d2).ByChannel[m.Dimension] = m.Value;
                break;
            case MetricNames.DayOrders when m.Day is { } d3:
                SessionDay(d3).Orders = m.Value;
                break;
            case MetricNames.DayComplete when m.Day is { } d4:
                OnDayComplete(d4, SessionDay(d4), raised);
                break;
            case MetricNames.Heartbeat:
                _lastHeartbeat = DateTime.UnixEpoch.AddSeconds(m.Value);
                break;
        }

        return raised;
    }

    /// <summary>Live mode: raises <c>no_events</c> when nothing was sent for longer than the idle limit.</summary>
    public IReadOnlyList<Alert> CheckIdle(DateTime nowUtc)
    {
        var raised = new List<Alert>();
        if (_lastHeartbeat is { } last && nowUtc - last > options.IdleAfter)
        {
            var idle = nowUtc - last;
            Raise(raised, DateOnly.FromDateTime(nowUtc), AlertRules.NoEvents, Severity.Critical, idle.TotalMinutes,
                options.IdleAfter.TotalMinutes, Inv($"no events for {idle.TotalMinutes:0} min (since {EventTime.Iso(last)})"));
        }

        return raised;
    }

    private FileSnapshot Snapshot(Metric m)
    {
        if (!_files.TryGetValue(m.Source, out var f))
            _files[m.Source] = f = new FileSnapshot(m.Source, m.Day);
        return f;
    }

    private DaySessions SessionDay(DateOnly day)
    {
        if (!_sessionDays.TryGetValue(day, out var d))
            _sessionDays[day] = d = new DaySessions();
        return d;
    }

    private void OnSchema(FileSnapshot f, Metric m, List<Alert> raised)
    {
        f.Columns = m.Dimension.Length == 0 ? [] : m.Dimension.Split(',');
        var previous = _lastSchemaFile;
        _lastSchemaFile = f;
        if (previous is null || previous.Columns.Length == 0 || f.Columns.Length == 0)
            return;
        var before = ByCanonicalName(previous.Columns);
        var after = ByCanonicalName(f.Columns);
        var changes = new List<string>();
        var critical = false;
        foreach (var (canonical, name) in before)
        {
            if (!after.TryGetValue(canonical, out var now))
            {
                changes.Add($"column '{name}' missing");
                critical |= canonical == CsvHeader.Referrer;
            }
            else if (now != name)
            {
                changes.Add($"column '{name}' renamed to '{now}'");
            }
        }

        foreach (var (canonical, name) in after)
        {
            if (!before.ContainsKey(canonical))
                changes.Add($"column '{name}' added");
        }

        if (changes.Count == 0)
            return;
        var impact = critical ? " (referrer missing: sessions can no longer be told Direct from Unattributed)" : string.Empty;
        Raise(raised, f.Day, AlertRules.SchemaChange, critical ? Severity.Critical : Severity.Warning, changes.Count, 0,
            $"{f.File} vs {previous.File}: {string.Join("; ", changes)}{impact}");
    }

    // A header may name a column twice (the file is then unreadable): its first occurrence stands for it.
    private static Dictionary<string, string> ByCanonicalName(string[] columns)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var column in columns)
            byName.TryAdd(CsvHeader.Canonical(column), column);
        return byName;
    }

    private void OnFileComplete(FileSnapshot f, List<Alert> raised)
    {
        var previous = _lastCompleteFile;
        _lastCompleteFile = f;
        // Kept while the ingestor's report of its rows is outstanding (the ingestor's metrics may arrive later).
        if (previous is not null && !ReferenceEquals(previous, _lastSchemaFile) && previous is { Reading: false, IngestedRows: not null })
            _files.Remove(previous.File);
        FileContent(f, raised);
        var missing = f.DeadLettered.GetValueOrDefault(DeadLetterReasons.MissingClientId);
        if (f.Rows > 0)
        {
            var pct = 100 * missing / f.Rows;
            var message = Inv($"{f.File}: {missing:0} of {f.Rows:0} rows ({pct:0.00}%) have no client id");
            if (pct > options.MissingClientIdCriticalPercent)
                Raise(raised, f.Day, AlertRules.MissingClientIdRate, Severity.Critical, Math.Round(pct, 2), options.MissingClientIdCriticalPercent, message);
            else if (pct > options.MissingClientIdWarningPercent)
                Raise(raised, f.Day, AlertRules.MissingClientIdRate, Severity.Warning, Math.Round(pct, 2), options.MissingClientIdWarningPercent, message);
        }

        var duplicates = f.DeadLettered.GetValueOrDefault(DeadLetterReasons.DuplicateTransactionId);
        if (duplicates > 0)
            Raise(raised, f.Day, AlertRules.DuplicateTransactionId, Severity.Critical, duplicates, 0,
                Inv($"{f.File}: {duplicates:0} purchase(s) reuse a transaction_id already taken by an earlier purchase; the later one is not counted"));
        if (f.ZeroRevenue > 0)
            Raise(raised, f.Day, AlertRules.ZeroRevenueOrders, Severity.Warning, f.ZeroRevenue, 0,
                Inv($"{f.File}: {f.ZeroRevenue:0} order(s) with revenue 0"));

        if (previous is not null)
        {
            var turned = f.FieldObserved.Keys
                .Where(k => f.FieldObserved[k] > 0 && f.FieldNull.GetValueOrDefault(k) >= f.FieldObserved[k]
                            && previous.FieldObserved.GetValueOrDefault(k) > 0
                            && previous.FieldNull.GetValueOrDefault(k) < previous.FieldObserved[k])
                .Order(StringComparer.Ordinal)
                .ToList();
            if (turned.Count > 0)
                Raise(raised, f.Day, AlertRules.FieldAllNull, Severity.Warning, turned.Count, 0,
                    $"{f.File}: {string.Join(", ", turned)} turned all-null (had values in {previous.File})");
        }

        if (f.Day is not { } day)
            return;
        if (!_fileDays.TryGetValue(day, out var values))
            _fileDays[day] = values = new DayValues();
        values.Files[f.File] = (f.Rows, f.Orders, f.Revenue);

        // A file can complete before the one of the day before: one whose rows were all decided on arrival (empty,
        // or all dead-lettered) does not wait in the validator's reorder buffer. So a completed day also completes
        // the history of the later days already seen, and those are judged again (an alert is still raised once).
        foreach (var d in _fileDays.Keys.Where(k => k >= day && k <= day.AddDays(options.AnomalyWindowDays)).Order().ToList())
        {
            Anomaly(raised, d, AlertRules.RowsAnomaly, "rows", x => _fileDays.TryGetValue(x, out var v) ? v.Files.Values.Sum(t => t.Rows) : null,
                options.RowsCollapsePercent);
            Anomaly(raised, d, AlertRules.OrdersAnomaly, "orders", x => _fileDays.TryGetValue(x, out var v) ? v.Files.Values.Sum(t => t.Orders) : null);
            Anomaly(raised, d, AlertRules.RevenueAnomaly, "revenue", x => _fileDays.TryGetValue(x, out var v) ? v.Files.Values.Sum(t => t.Revenue) : null);
        }

        ForgetBefore(day);
    }

    /// <summary>
    /// The per-file content rules: a file without data rows, a file without a valid row, a file whose rows all lie
    /// outside its day, and the share of its rows dead-lettered. They use the validator's counts only (rows, valid,
    /// dead letters by reason, the time tally), which reach the monitor in one producer's order in every mode.
    /// </summary>
    private void FileContent(FileSnapshot f, List<Alert> raised)
    {
        var dayText = f.Day is { } d ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null;
        if (f.Rows <= 0)
        {
            Raise(raised, f.Day, AlertRules.EmptyFile, Severity.Critical, 0, 0,
                $"{f.File}: no data rows (the file is empty or holds only a header), so {(dayText is null ? "it adds no events" : $"{dayText} gets no events from it")}");
            return;
        }

        var dead = f.DeadLettered.Values.Sum();
        var reasons = string.Join(", ", f.DeadLettered.Where(r => r.Value > 0)
            .OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => Inv($"{r.Value:0} {r.Key}")));
        if (f.Valid <= 0)
            Raise(raised, f.Day, AlertRules.NoValidRows, Severity.Critical, 0, 0,
                Inv($"{f.File}: none of its {f.Rows:0} rows is valid; all were dead-lettered ({reasons})"));

        var pct = 100 * dead / f.Rows;
        var message = Inv($"{f.File}: {dead:0} of {f.Rows:0} rows ({pct:0.00}%) were dead-lettered ({reasons})");
        if (pct > options.DeadLetterCriticalPercent)
            Raise(raised, f.Day, AlertRules.DeadLetterShare, Severity.Critical, Math.Round(pct, 2), options.DeadLetterCriticalPercent, message);
        else if (pct > options.DeadLetterWarningPercent)
            Raise(raised, f.Day, AlertRules.DeadLetterShare, Severity.Warning, Math.Round(pct, 2), options.DeadLetterWarningPercent, message);

        // Only a file named for a day has a day to lie outside of; rows without a readable timestamp do not count.
        if (dayText is not null && f.Timestamps > 0 && f.TimestampsInDay <= 0)
            Raise(raised, f.Day, AlertRules.RowsOutsideDay, Severity.Critical, 100, 100,
                Inv($"{f.File}: all {f.Timestamps:0} rows with a readable timestamp lie outside {dayText} (from {EventTime.Iso(FromUnix(f.FirstTimestamp))} to {EventTime.Iso(FromUnix(f.LastTimestamp))}); the file does not hold that day's events"));
    }

    private static DateTime FromUnix(double seconds) => DateTime.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    private void OnDayComplete(DateOnly day, DaySessions d, List<Alert> raised)
    {
        if (d.Sessions <= 0)
            return;
        _conversion[day] = d.Orders / d.Sessions;
        Anomaly(raised, day, AlertRules.ConversionRateAnomaly, "conversion rate", x => _conversion.TryGetValue(x, out var v) ? v : null);
        var share = 100 * d.ByChannel.GetValueOrDefault(Channels.Direct) / d.Sessions;
        double? before = _lastDirectShare is { } last && last.Day < day ? last.Share : null;
        if (_lastDirectShare is null || _lastDirectShare.Value.Day < day)
            _lastDirectShare = (day, share);
        _sessionDays.Remove(day);
        ForgetBefore(day);
        if (before is { } prev && Math.Abs(share - prev) > options.DirectShareJumpPoints)
            Raise(raised, day, AlertRules.DirectShareJump, Severity.Warning, Math.Round(share, 2), options.DirectShareJumpPoints,
                Inv($"Direct share of sessions moved from {prev:0.00}% to {share:0.00}% ({share - prev:+0.00;-0.00} points)"));
    }

    /// <summary>Drops per-day state older than the anomaly window needs, so a long replay keeps constant memory.</summary>
    private void ForgetBefore(DateOnly day)
    {
        var horizon = day.AddDays(-options.AnomalyWindowDays - 1);
        if (_fileDays.Count > 4 * (options.AnomalyWindowDays + 1))
        {
            foreach (var old in _fileDays.Keys.Where(k => k < horizon).ToList())
                _fileDays.Remove(old);
        }

        if (_conversion.Count > 4 * (options.AnomalyWindowDays + 1))
        {
            foreach (var old in _conversion.Keys.Where(k => k < horizon).ToList())
                _conversion.Remove(old);
        }
    }

    private void Anomaly(List<Alert> raised, DateOnly day, string rule, string what, Func<DateOnly, double?> valueOn, double? collapsePercent = null)
    {
        var history = new List<double>(options.AnomalyWindowDays);
        for (var k = options.AnomalyWindowDays; k >= 1; k--)
        {
            if (valueOn(day.AddDays(-k)) is { } v)
                history.Add(v);
        }

        if (history.Count < options.AnomalyMinHistory || valueOn(day) is not { } value)
            return;
        var median = Median(history);
        var sigma = 1.4826 * Median(history.Select(v => Math.Abs(v - median)).ToList());
        if (value == median)
            return;
        // With no spread at all (MAD = 0) any departure is infinitely many robust sd away.
        var z = sigma > 0 ? (value - median) / sigma : Math.Sign(value - median) * double.PositiveInfinity;
        if (Math.Abs(z) <= options.AnomalySigmas)
            return;
        var bound = median + (Math.Sign(z) * options.AnomalySigmas * sigma);
        var distance = double.IsInfinity(z) ? "differs from the constant" : Inv($"is {z:+0.0;-0.0} robust sd from the");
        var collapsed = collapsePercent is { } floor && value < median * floor / 100;
        var impact = collapsed ? Inv($": the day collapsed to {100 * value / median:0.#}% of normal, most of its data is missing") : string.Empty;
        Raise(raised, day, rule, collapsed ? Severity.Critical : Severity.Warning, Math.Round(value, 4), Math.Round(bound, 4),
            Inv($"daily {what} {value:0.####} {distance} trailing {history.Count}-day median {median:0.####}{impact}"));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }

    private void Raise(List<Alert> raised, DateOnly? day, string rule, Severity severity, double observed, double threshold, string message)
    {
        if (!_raised.Add((rule, day)))
            return;
        var alert = new Alert(day, rule, severity, observed, threshold, message);
        _alerts.Add(alert);
        raised.Add(alert);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    internal sealed class FileSnapshot(string file, DateOnly? day)
    {
        public string File { get; } = file;
        public DateOnly? Day { get; } = day;
        public string[] Columns { get; set; } = [];
        public double Rows { get; set; }
        public double Valid { get; set; }
        public double Orders { get; set; }
        public double Revenue { get; set; }
        public double ZeroRevenue { get; set; }
        public double Timestamps { get; set; }
        public double TimestampsInDay { get; set; }
        public double FirstTimestamp { get; set; }
        public double LastTimestamp { get; set; }

        /// <summary>The ingestor announced the file (<c>file.schema</c>) and has not reported its rows yet.</summary>
        public bool Reading { get; set; }

        /// <summary>The rows the ingestor read from the file, once reported.</summary>
        public double? IngestedRows { get; set; }

        public Dictionary<string, double> DeadLettered { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, double> FieldObserved { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, double> FieldNull { get; } = new(StringComparer.Ordinal);
    }

    private sealed class DayValues
    {
        public Dictionary<string, (double Rows, double Orders, double Revenue)> Files { get; } = new(StringComparer.Ordinal);
    }

    private sealed class DaySessions
    {
        public double Sessions { get; set; }
        public double Orders { get; set; }
        public Dictionary<string, double> ByChannel { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>What a <see cref="MonitorCore"/> remembers between metrics (see <see cref="MonitorCore.Save"/>).</summary>
public sealed record MonitorState(
    IReadOnlyList<FileState> Files,
    FileState? LastSchemaFile,
    FileState? LastCompleteFile,
    IReadOnlyList<Alert> Alerts,
    IReadOnlyList<FileDayTotals> FileDays,
    IReadOnlyList<DayValue> Conversion,
    DayValue? LastDirectShare,
    IReadOnlyList<SessionDayState> SessionDays,
    DateTime? LastHeartbeat);

/// <summary>The metrics seen so far of one file.</summary>
public sealed record FileState(
    string File,
    DateOnly? Day,
    IReadOnlyList<string> Columns,
    double Rows,
    double Valid,
    double Orders,
    double Revenue,
    double ZeroRevenue,
    SortedDictionary<string, double> DeadLettered,
    SortedDictionary<string, double> FieldObserved,
    SortedDictionary<string, double> FieldNull,
    double Timestamps = 0,
    double TimestampsInDay = 0,
    double FirstTimestamp = 0,
    double LastTimestamp = 0,
    bool Reading = false,
    double? IngestedRows = null)
{
    internal static FileState Of(MonitorCore.FileSnapshot f) => new(
        f.File, f.Day, [.. f.Columns], f.Rows, f.Valid, f.Orders, f.Revenue, f.ZeroRevenue,
        new(f.DeadLettered, StringComparer.Ordinal), new(f.FieldObserved, StringComparer.Ordinal), new(f.FieldNull, StringComparer.Ordinal),
        f.Timestamps, f.TimestampsInDay, f.FirstTimestamp, f.LastTimestamp, f.Reading, f.IngestedRows);

    internal MonitorCore.FileSnapshot ToSnapshot()
    {
        var f = new MonitorCore.FileSnapshot(File, Day)
        {
            Columns = [.. Columns], Rows = Rows, Valid = Valid, Orders = Orders, Revenue = Revenue, ZeroRevenue = ZeroRevenue,
            Timestamps = Timestamps, TimestampsInDay = TimestampsInDay, FirstTimestamp = FirstTimestamp, LastTimestamp = LastTimestamp,
            Reading = Reading, IngestedRows = IngestedRows,
        };
        foreach (var (k, v) in DeadLettered)
            f.DeadLettered[k] = v;
        foreach (var (k, v) in FieldObserved)
            f.FieldObserved[k] = v;
        foreach (var (k, v) in FieldNull)
            f.FieldNull[k] = v;
        return f;
    }
}

/// <summary>A complete file's totals, for the daily anomaly rules.</summary>
public sealed record FileDayTotals(DateOnly Day, string File, double Rows, double Orders, double Revenue);

public sealed record DayValue(DateOnly Day, double Value);

/// <summary>A day's session metrics not yet completed.</summary>
public sealed record SessionDayState(DateOnly Day, double Sessions, double Orders, SortedDictionary<string, double> ByChannel);
