namespace Puffy.Streaming.Contracts;

/// <summary>Names of the metrics the services publish for the monitor.</summary>
public static class MetricNames
{
    // Ingestor, per file.
    public const string FileSchema = "file.schema";            // Dimension: the header's column names, comma-separated.
    public const string FileUnreadable = "file.unreadable";    // Dimension: the error.
    public const string FileHeaderUnusable = "file.header_unusable"; // Dimension: the problem.
    public const string FileRows = "file.rows";
    public const string FileChanged = "file.changed";          // Source: the new content's name; Dimension: the earlier one's; Value: its rows.

    // Validator, per file, once every row of the file has been decided.
    public const string FileValid = "file.valid";
    public const string FileDeadLettered = "file.dead_lettered"; // Dimension: reason code.
    public const string FileOrders = "file.orders";
    public const string FileRevenue = "file.revenue";
    public const string FileZeroRevenueOrders = "file.zero_revenue_orders";
    public const string FieldObserved = "field.observed";      // Dimension: field name.
    public const string FieldNull = "field.null";              // Dimension: field name.
    public const string FileTimestamps = "file.timestamps";    // Rows whose timestamp parses.
    public const string FileTimestampsInDay = "file.timestamps_in_day"; // Of those, rows whose time lies within the file's day.
    public const string FileFirstTimestamp = "file.first_timestamp"; // Earliest parseable timestamp, unix seconds.
    public const string FileLastTimestamp = "file.last_timestamp";   // Latest parseable timestamp, unix seconds.
    public const string FileComplete = "file.complete";

    // Sessionizer, per day of session start, once every session that started that day is closed.
    public const string DaySessions = "day.sessions";
    public const string DayChannelSessions = "day.channel_sessions"; // Dimension: channel.
    public const string DayConvertedSessions = "day.converted_sessions";
    public const string DayOrders = "day.orders";
    public const string DayComplete = "day.complete";

    // Partition-parallel sessionizer: every day up to and including Day is complete in the sending partition (Value 0).
    // Each partition's day metrics are keyed "sessionizer#p/P"; the monitor sums them once every partition is past the day.
    public const string DaysCompleteThrough = "day.complete_through";

    // Live mode: wall-clock heartbeat of the ingestor (Value: unix seconds of the last event sent).
    public const string Heartbeat = "live.heartbeat";

    /// <summary>The producer that sends a metric (the key of its messages on the metrics topic); null for a name not in the contract.</summary>
    public static string? ProducerOf(string name) => name switch
    {
        FileSchema or FileUnreadable or FileHeaderUnusable or FileRows or FileChanged or Heartbeat => MetricProducers.Ingestor,
        FileValid or FileDeadLettered or FileOrders or FileRevenue or FileZeroRevenueOrders or FieldObserved or FieldNull
            or FileTimestamps or FileTimestampsInDay or FileFirstTimestamp or FileLastTimestamp or FileComplete => MetricProducers.Validator,
        DaySessions or DayChannelSessions or DayConvertedSessions or DayOrders or DayComplete or DaysCompleteThrough => MetricProducers.Sessionizer,
        _ => null,
    };
}

/// <summary>The services that publish metrics; each keys its metric messages by its own name.</summary>
public static class MetricProducers
{
    public const string Ingestor = "ingestor";
    public const string Validator = "validator";
    public const string Sessionizer = "sessionizer";

    /// <summary>
    /// The key of the metrics a stage computes for one input partition (<c>sessionizer#3/8</c>, <c>validator#0/4</c>): the monitor sums a
    /// partition-parallel stage's partitions before its rules see the metric.
    /// </summary>
    public static string OfPartition(string producer, int partition, int partitions) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{producer}#{partition}/{partitions}");

    /// <summary>Reads a key written by <see cref="OfPartition"/>; false for any other key.</summary>
    public static bool TryParsePartition(string key, out string producer, out int partition, out int partitions)
    {
        ArgumentNullException.ThrowIfNull(key);
        producer = string.Empty;
        partition = partitions = 0;
        var hash = key.IndexOf('#', StringComparison.Ordinal);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (hash <= 0 || slash < hash
            || !int.TryParse(key.AsSpan(hash + 1, slash - hash - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out partition)
            || !int.TryParse(key.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out partitions)
            || partitions is < 1 or > 1024 || partition >= partitions)
        {
            partition = partitions = 0;
            return false;
        }

        producer = key[..hash];
        return true;
    }
}
