using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Puffy.Streaming.Hosting;

/// <summary>The <c>Streams</c> section: how the services use their topics.</summary>
public sealed class StreamOptions
{
    public const string Section = "Streams";

    /// <summary>Partitions of the topics a service creates when they do not exist yet.</summary>
    [Range(1, 1024)]
    public int Partitions { get; set; } = 4;

    /// <summary>How often a service makes its effects durable and commits its input.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often an ordered stage tells every output partition how far it has come.</summary>
    public TimeSpan WatermarkInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Most messages taken per poll.</summary>
    [Range(1, 1_000_000)]
    public int PollBatch { get; set; } = 5000;

    /// <summary>
    /// Back-pressure: a service stops sending while the consumer of its output is more than this many messages behind
    /// on a partition (the local test broker keeps only 5 MiB per partition). 0 turns it off.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxLagPerPartition { get; set; } = 4000;

    /// <summary>
    /// Back-pressure in bytes: a service also stops sending while the consumer of its output is more than this many bytes
    /// behind on a partition (lag × the average size of what it sent there). The local test broker keeps at most 5 MiB
    /// per partition, and a raw event is about 0.7 KB: with one partition, 4,000 messages alone let the ingestor run 7,300
    /// messages (5 MiB) ahead of the validator's last commit, and its next messages were deleted. The lag is read from
    /// committed offsets every 100 ms, and sooner when what was sent since could have reached a limit, so the producer
    /// stops before it. 0 turns it off.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxLagBytesPerPartition { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// How long a stage may wait (on back-pressure, on a silent input partition, or on a call to Redis, ClickHouse or
    /// RabbitMQ that gets no answer) before it logs a Warning saying what it waits for; repeated each time as long.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StallWarning { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a starting service waits for Kafka, Redis and ClickHouse to answer.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The <c>Redis</c> section.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis connection string, e.g. <c>localhost:6379</c> or <c>host:6379,password=…</c>.</summary>
    [Required]
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>
    /// How long one Redis command may take, synchronous or asynchronous (unless the connection string sets
    /// <c>syncTimeout</c>/<c>asyncTimeout</c> itself): a frozen server then surfaces as a timeout that is logged and
    /// retried within seconds instead of a silent stall.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The ACL user the services log in as (Redis 6+); without it, <c>AUTH password</c> logs in as <c>default</c>.</summary>
    public string? User { get; set; }

    /// <summary>The password; prefer <see cref="PasswordFile"/>, which keeps it out of the environment.</summary>
    public string? Password { get; set; }

    /// <summary>A file whose content (trimmed) is the password, e.g. the <c>redis/service.password</c> of a local stack.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>The client options: the connection string with the credentials and command timeouts applied.</summary>
    public ConfigurationOptions ClientOptions()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        if (!string.IsNullOrEmpty(User))
            options.User = User;
        if (!string.IsNullOrEmpty(PasswordFile))
            options.Password = File.ReadAllText(PasswordFile).Trim();
        else if (!string.IsNullOrEmpty(Password))
            options.Password = Password;
        var ms = (int)CommandTimeout.TotalMilliseconds;
        if (!Configuration.Contains("syncTimeout=", StringComparison.OrdinalIgnoreCase))
            options.SyncTimeout = ms;
        if (!Configuration.Contains("asyncTimeout=", StringComparison.OrdinalIgnoreCase))
            options.AsyncTimeout = ms;
        if (!Configuration.Contains("connectTimeout=", StringComparison.OrdinalIgnoreCase))
            options.ConnectTimeout = ms;
        return options;
    }

    /// <summary>Prefix of every key the services write.</summary>
    [Required]
    public string KeyPrefix { get; set; } = "puffy";
}
