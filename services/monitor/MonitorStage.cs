using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.Alerting;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Redis;
using IDatabase = StackExchange.Redis.IDatabase;
using Core = Puffy.Streaming.Pipeline.Monitoring.MonitorOptions;

namespace Puffy.Streaming.Monitor;

/// <summary>
/// The monitor's work over its whole input. Metrics → alerts (topic and ClickHouse) and file_stats; dead letters → the
/// dead_letters table; sessions and orders → marketing_daily. Poison → poison_messages and its alert: consumers' copies of
/// messages they could not decode (from their headers), and every message the monitor will not take — a metric its rules
/// reject (<see cref="MonitorCore.Check"/>), a dead letter with a reason not in the contract, values no table can hold. Each
/// producer keys its metrics by its own name, so every producer's metrics arrive in the order it sent them, which is all the
/// rules depend on; the partition-parallel sessionizer keys them by name and input partition (<c>sessionizer#p/P</c>), and
/// the monitor sums a day's partitions (<see cref="PartitionDayMetrics"/>) once every partition is past it, before the rules
/// see the day; a partition-parallel validator's file metrics (<c>validator#p/P</c>) are summed once every partition has
/// completed the file (<see cref="PartitionFileMetrics"/>), and the rules and file_stats see whole files.
/// At each checkpoint the rules' memory, the file totals, the sessions and orders newly counted in marketing_daily and the
/// input positions they reflect are saved to Redis in one transaction, under the stage's lease, after the outputs are
/// flushed; the runtime then commits. The next instance to run the stage (this one restarted, or a standby) loads them and
/// resumes exactly where they end; a session or order sent twice upstream is counted once.
/// With alert delivery on (<c>RabbitMq:Host</c>), each new alert is also published to RabbitMQ at the checkpoint, after the
/// topic and ClickHouse have it and before the state that marks it raised is saved: a restarted monitor does not raise (or
/// publish) it again, except after a crash between the two, when it is published again under the same id.
/// </summary>
internal sealed partial class MonitorStage : IWholeInputWork
{
    private readonly MessageCodec _codec;
    private readonly StreamProducer _producer;
    private readonly ClickHouseWriter _writer;
    private readonly MonitorStore<MonitorCheckpoint> _store;
    private readonly AlertPublisher? _publisher;
    private readonly ILogger _log;
    private readonly CancellationToken _stopping;
    private readonly MonitorCore _monitor;
    private readonly Dictionary<string, FileStatsRow> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changedFiles = new(StringComparer.Ordinal);
    private readonly MarketingDaily _marketing = new() { TrackChanges = true };
    private readonly PartitionDayMetrics _sessionDays = new();
    private readonly PartitionFileMetrics _validatorFiles = new();
    private readonly Dictionary<TopicPartition, long> _stored = [];
    private readonly List<Alert> _unpublished = [];
    private readonly Stopwatch _idleCheck = Stopwatch.StartNew();
    private long _counted;
    private long _tooLate;
    private bool _changed;
    private bool _marketingChanged;

    private MonitorStage(
        Core rules, MessageCodec codec, StreamProducer producer, ClickHouseWriter writer, MonitorStore<MonitorCheckpoint> store,
        AlertPublisher? publisher, ILogger log, CancellationToken stopping)
    {
        _monitor = new MonitorCore(rules);
        _codec = codec;
        _producer = producer;
        _writer = writer;
        _store = store;
        _publisher = publisher;
        _log = log;
        _stopping = stopping;
    }

    public IReadOnlyDictionary<TopicPartition, long> Stored => _stored;

    /// <summary>Takes the stage's lease and loads the state the last checkpoint of any instance stored.</summary>
    public static async Task<MonitorStage> OpenAsync(
        IDatabase redis, string prefix, Core rules, MessageCodec codec, StreamProducer producer, ClickHouseWriter writer,
        AlertPublisher? publisher, ILogger log, CancellationToken stopping)
    {
        var lease = await Infrastructure.RetryAsync("Taking the monitor's lease in Redis", () => PartitionLease.AcquireAsync(redis, prefix), log, stopping);
        var store = new MonitorStore<MonitorCheckpoint>(redis, prefix, lease);
        var stage = new MonitorStage(rules, codec, producer, writer, store, publisher, log, stopping);
        if (await Infrastructure.RetryAsync("Loading the monitor state from Redis", store.LoadStateAsync, log, stopping) is { } saved)
        {
            stage._monitor.Restore(saved.Rules);
            if (saved.SessionDays is { } partials)
                stage._sessionDays.Restore(partials);
            if (saved.ValidatorFiles is { } fileParts)
                stage._validatorFiles.Restore(fileParts);
            stage._marketing.Restore(
                await Infrastructure.RetryAsync("Loading the marketing sessions from Redis", store.LoadSessionsAsync, log, stopping),
                await Infrastructure.RetryAsync("Loading the marketing orders from Redis", store.LoadOrdersAsync, log, stopping));
            stage._marketing.TakeChanges();
            foreach (var row in saved.Files)
                stage._files[row.File] = row with { DeadLettered = new SortedDictionary<string, long>(row.DeadLettered.ToDictionary(), StringComparer.Ordinal) };
            foreach (var p in saved.Positions)
                stage._stored[new TopicPartition(p.Topic, p.Partition)] = p.Next;
            stage.LogRestored(lease.Epoch, saved.Rules.Alerts.Count, saved.Files.Count, saved.Positions.Count);
        }
        else
        {
            stage.LogFresh(lease.Epoch);
        }

        return stage;
    }

    public async Task AcceptAsync(ConsumeResult<byte[]?, byte[]?> result)
    {
        _changed = true;
        var value = result.Message.Value;
        switch (result.Topic)
        {
            case Topics.Metrics when TryDecode<Metric>(_codec, value, out var metric):
                // The key names the producer; a metric the rules would not take is set aside, never counted.
                var sender = result.Message.Key is { } key ? Encoding.UTF8.GetString(key) : string.Empty;
                var partial = MetricProducers.TryParsePartition(sender, out var producerName, out var part, out var parts);
                if (_monitor.Check(metric, partial ? producerName : sender, part: partial) is { } problem)
                {
                    await Reject(result, PoisonReasons.InvalidMetric, $"{Describe(metric)} from '{sender}': {problem}");
                    break;
                }

                if (partial && producerName is not (MetricProducers.Sessionizer or MetricProducers.Validator))
                {
                    await Reject(result, PoisonReasons.InvalidMetric, $"{Describe(metric)} from '{sender}': only the sessionizer and the validator send metrics per partition");
                    break;
                }

                // A partition-parallel stage's partitions are summed first; the rules see whole days and whole files,
                // and a sum is checked as a whole metric (a part only as far as one partition's share can be).
                PartitionSums sums = producerName == MetricProducers.Sessionizer ? _sessionDays : _validatorFiles;
                IReadOnlyList<Metric> wholes = partial ? sums.Accept(metric, part, parts) : [metric];
                List<string>? wrongSums = null;
                foreach (var whole in wholes)
                {
                    if (partial && _monitor.Check(whole, producerName) is { } wrong)
                    {
                        (wrongSums ??= []).Add($"{Describe(whole)}: {wrong}");
                        continue;
                    }

                    FileStats(_files, _changedFiles, whole);
                    foreach (var alert in _monitor.Accept(whole))
                        await Raise(alert);
                }

                if (wrongSums is not null)
                    await Reject(result, PoisonReasons.InvalidMetric, $"summed over the {parts} partitions of the {producerName} when '{sender}' completed them: {string.Join("; ", wrongSums)}");
                break;
            case Topics.DeadLetters when TryDecode<DeadLetter>(_codec, value, out var deadLetter):
                if (!DeadLetterReasons.All.Contains(deadLetter.Reason, StringComparer.Ordinal))
                {
                    await Reject(result, PoisonReasons.InvalidMessage, $"a dead letter with the reason '{deadLetter.Reason}', which is no reason of the contract");
                    break;
                }

                try
                {
                    await _writer.AddAsync(deadLetter, CancellationToken.None);
                }
                catch (UnstorableRowException e)
                {
                    await Reject(result, PoisonReasons.InvalidMessage, e.Message);
                }

                break;
            case Topics.DeadLetters:
                // A consumer's copy of a message it could not decode (or bytes that are no dead letter at all).
                await Poison(FromHeaders(result, DateTime.UtcNow));
                break;
            case Topics.Sessions when TryDecode<Session>(_codec, value, out var session):
                if (Unstorable(session) is { } badSession)
                {
                    await Reject(result, PoisonReasons.InvalidMessage, badSession);
                    break;
                }

                // A restarted sessionizer sends the sessions it closed after its last checkpoint again.
                if (_marketing.Add(session))
                    _marketingChanged = true;
                else
                    _counted++;
                break;
            case Topics.AttributedOrders when TryDecode<AttributedOrder>(_codec, value, out var order):
                if (Unstorable(order) is { } badOrder)
                {
                    await Reject(result, PoisonReasons.InvalidMessage, badOrder);
                    break;
                }

                if (_marketing.Add(order))
                    _marketingChanged = true;
                else
                    _counted++;
                break;
            default:
                // Undecodable input of a topic other than the dead letters: route it there, as every consumer does.
                LogPoison(result.Topic, result.Partition.Value, result.Offset.Value);
                _producer.SendRaw(Topics.DeadLetters, DeadLetterHeaders.Route(result, DeadLetterReasons.PoisonMessage, "the message cannot be decoded"));
                break;
        }
    }

    /// <summary>Every 10 s: raises the alerts for producers gone silent.</summary>
    public async Task TickAsync()
    {
        if (_idleCheck.Elapsed < TimeSpan.FromSeconds(10))
            return;
        foreach (var alert in _monitor.CheckIdle(DateTime.UtcNow))
        {
            await Raise(alert);
            _changed = true;
        }

        _idleCheck.Restart();
    }

    /// <summary>
    /// A checkpoint: file_stats and marketing_daily rows written, the topic and ClickHouse flushed and new alerts published,
    /// then the state with the positions it reflects stored in one transaction under the lease. An instance that no longer
    /// holds the lease (expelled while frozen; another runs the stage) writes none of its rows: they are aggregates, and a stale
    /// one written last would replace the new owner's.
    /// </summary>
    public async Task<bool> CheckpointAsync(IReadOnlyDictionary<TopicPartition, long> positions)
    {
        if (!await Infrastructure.RetryAsync("Checking the monitor's lease in Redis", _store.HoldsLeaseAsync, _log, _stopping))
            return false;
        await FlushAsync();
        return await SaveAsync(positions);
    }

    private async Task FlushAsync()
    {
        foreach (var file in _changedFiles)
            await _writer.AddAsync(_files[file], CancellationToken.None);
        _changedFiles.Clear();
        if (_marketingChanged)
        {
            foreach (var row in _marketing.ChangedRows())
                await _writer.AddAsync(row, CancellationToken.None);
            _marketingChanged = false;
        }

        _producer.Flush(CancellationToken.None);
        await Infrastructure.RetryAsync("Flushing ClickHouse", () => _writer.FlushAsync(CancellationToken.None), _log, _stopping);
        foreach (var alert in _unpublished)
            await Infrastructure.RetryAsync("Publishing an alert to RabbitMQ", () => _publisher!.PublishAsync(alert, CancellationToken.None), _log, _stopping);
        _unpublished.Clear();
    }

    private async Task<bool> SaveAsync(IReadOnlyDictionary<TopicPartition, long> positions)
    {
        if (_counted > 0)
        {
            LogCounted(_counted);
            _counted = 0;
        }

        if (_marketing.TooLate > _tooLate)
        {
            LogTooLate(_marketing.TooLate - _tooLate, _marketing.ForgottenBefore);
            _tooLate = _marketing.TooLate;
        }

        if (!_changed)
            return true;
        var state = new MonitorCheckpoint(_monitor.Save(), _files.Values.OrderBy(f => f.File, StringComparer.Ordinal).ToList(),
            positions.Where(p => p.Value >= 0).OrderBy(p => p.Key.Topic, StringComparer.Ordinal).ThenBy(p => p.Key.Partition.Value)
                .Select(p => new InputPosition(p.Key.Topic, p.Key.Partition.Value, p.Value)).ToList(),
            _sessionDays.State(), _validatorFiles.State());
        var (sessions, orders) = _marketing.TakeChanges();
        try
        {
            await Infrastructure.RetryAsync("Storing the monitor state in Redis", () => _store.SaveAsync(state, sessions, orders, _marketing.ForgottenBefore), _log, _stopping);
        }
        catch (PartitionLeaseLostException)
        {
            return false;
        }

        _changed = false;
        return true;
    }

    private Task Reject(ConsumeResult<byte[]?, byte[]?> message, string reason, string detail) =>
        Poison(PoisonMessageRow.Of(message.Topic, message.Partition.Value, message.Offset.Value, reason, detail, "monitor",
            message.Message.Key, message.Message.Value, DateTime.UtcNow));

    private async Task Poison(PoisonMessageRow row)
    {
        // Counted and stored on its own (semantics §2), alerted once per day; never part of the row accounting.
        LogRejected(row.Topic, row.Partition, row.Offset, row.Reason, row.Detail);
        await _writer.AddAsync(row, CancellationToken.None);
        foreach (var alert in _monitor.AcceptPoison(row.Received, $"{row.Topic}[{row.Partition}]@{row.Offset} ({row.Reason}): {row.Detail}"))
            await Raise(alert);
    }

    private async Task Raise(Alert alert)
    {
        // Ops page on errors: a critical or error alert is logged at Error, warnings at Warning, the rest at Information.
        var level = alert.Severity switch
        {
            Severity.Critical or Severity.Error => LogLevel.Error,
            Severity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        var day = RunDay(alert.Day);
        LogAlert(level, alert.Rule, day, alert.Severity, alert.Message);
        _producer.Send(Topics.Alerts, $"{alert.Rule}:{day}", alert);
        await _writer.AddAsync(alert, CancellationToken.None);
        if (_publisher is not null)
            _unpublished.Add(alert);
    }

    private static bool TryDecode<T>(MessageCodec codec, byte[]? value, out T message)
        where T : class
    {
        message = null!;
        if (value is null)
            return false;
        try
        {
            message = codec.Deserialize<T>(value);
            return true;
        }
        catch (InvalidMessageException)
        {
            return false;
        }
    }

    /// <summary>file_stats from the metric snapshots of the ingestor (rows, columns, errors) and the validator (outcomes).</summary>
    private static void FileStats(Dictionary<string, FileStatsRow> files, HashSet<string> changed, Metric m)
    {
        if (!m.Name.StartsWith("file.", StringComparison.Ordinal) || m.Source.Length == 0)
            return;
        var row = files.GetValueOrDefault(m.Source) ?? new FileStatsRow(m.Source, m.Day, 0, string.Empty, 0, new SortedDictionary<string, long>(StringComparer.Ordinal), null);
        // The monitor checked the metric: its counts are whole, non-negative and far inside a long.
        row = m.Name switch
        {
            // The ingestor announces every reading of a file: one that failed before is readable now.
            MetricNames.FileSchema => row with { Columns = m.Dimension, Unreadable = false, Error = null },
            MetricNames.FileRows => row with { Rows = (long)m.Value },
            MetricNames.FileValid => row with { Valid = (long)m.Value },
            MetricNames.FileDeadLettered => row with { DeadLettered = new SortedDictionary<string, long>(row.DeadLettered.ToDictionary(), StringComparer.Ordinal) { [m.Dimension] = (long)m.Value } },
            MetricNames.FileUnreadable => row with { Unreadable = true, Error = m.Dimension },
            MetricNames.FileHeaderUnusable => row with { Error = row.Error ?? m.Dimension },
            _ => row,
        };
        files[m.Source] = row;
        changed.Add(m.Source);
    }

    /// <summary>A poison copy on the dead-letter topic: what its headers say about the message a consumer could not decode.</summary>
    private static PoisonMessageRow FromHeaders(ConsumeResult<byte[]?, byte[]?> result, DateTime received)
    {
        string? Header(string name) =>
            result.Message.Headers?.TryGetLastBytes(name, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;
        var topic = Header(DeadLetterHeaders.SourceTopic);
        var partition = int.TryParse(Header(DeadLetterHeaders.SourcePartition), CultureInfo.InvariantCulture, out var p) ? p : result.Partition.Value;
        var offset = long.TryParse(Header(DeadLetterHeaders.SourceOffset), CultureInfo.InvariantCulture, out var off) ? off : result.Offset.Value;
        var detail = Header(DeadLetterHeaders.Detail) ?? "not a dead letter, and without the headers of a consumer's copy";
        return PoisonMessageRow.Of(topic ?? result.Topic, topic is null ? result.Partition.Value : partition, topic is null ? result.Offset.Value : offset,
            PoisonReasons.Undecodable, detail, topic is null ? "monitor" : $"a consumer of {topic}", result.Message.Key, result.Message.Value, received);
    }

    private static string Describe(Metric m) =>
        string.Create(CultureInfo.InvariantCulture, $"{m.Name} = {m.Value} (day {RunDay(m.Day)}, file '{m.Source}', dimension '{m.Dimension}')");

    /// <summary>Why a session cannot be counted in marketing_daily (a start ClickHouse cannot store), or null.</summary>
    private static string? Unstorable(Session s) =>
        RowBinaryWriter.IsStorable(s.Start) ? null : $"session {s.SessionId} starts at {s.Start:O}, outside what the tables can hold";

    /// <summary>Why an order cannot be counted in marketing_daily (a time or revenue the tables cannot hold), or null.</summary>
    private static string? Unstorable(AttributedOrder o)
    {
        if (!RowBinaryWriter.IsStorable(o.PurchaseTime) || !RowBinaryWriter.IsStorable(o.FirstClick.SessionStart)
            || !RowBinaryWriter.IsStorable(o.LastClick.SessionStart) || !RowBinaryWriter.IsStorable(o.LastNonDirect.SessionStart))
            return $"order {o.TransactionId} carries a time outside what the tables can hold";
        return Math.Abs(o.Revenue) > MaxRevenue ? $"order {o.TransactionId} has the revenue {o.Revenue}, beyond what the tables can hold" : null;
    }

    // Decimal(18, 2) holds up to 10^16 - 0.01; a marketing_daily sum must fit too.
    private const decimal MaxRevenue = 1_000_000_000_000m;

    private static string RunDay(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "unknown";

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored the monitor state under lease epoch {Epoch}: {Alerts} alerts raised, {Files} files, positions on {Partitions} partitions")]
    private partial void LogRestored(long epoch, int alerts, int files, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "No monitor state stored yet; lease epoch {Epoch}")]
    private partial void LogFresh(long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipped {Counted} sessions or orders already counted (sent again upstream)")]
    private partial void LogCounted(long counted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Contributions} sessions or orders not counted in marketing_daily: they touch a day before {Day}, whose row is final")]
    private partial void LogTooLate(long contributions, DateOnly day);

    [LoggerMessage(Message = "Alert {Rule} for {Day} ({Severity}): {AlertMessage}")]
    private partial void LogAlert(LogLevel level, string rule, string day, Severity severity, string alertMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Undecodable message {Topic}[{Partition}]@{Offset} sent to the dead letters")]
    private partial void LogPoison(string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poison message {Topic}[{Partition}]@{Offset} set aside ({Reason}): {Detail}")]
    private partial void LogRejected(string topic, int partition, long offset, string reason, string detail);
}

/// <summary>
/// What the monitor saves at a checkpoint besides the marketing contributions: its rules' memory, the file totals, the
/// sessionizer's and the validator's partition metrics not yet summed, and the input they reflect.
/// </summary>
internal sealed record MonitorCheckpoint(
    MonitorState Rules, IReadOnlyList<FileStatsRow> Files, IReadOnlyList<InputPosition> Positions, PartitionDayMetricsState? SessionDays = null,
    PartitionFileMetricsState? ValidatorFiles = null);

/// <summary>The next offset to apply of one input partition.</summary>
internal sealed record InputPosition(string Topic, int Partition, long Next);
