using System.Collections;
using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// The <c>Kafka</c> configuration section, and the one place Kafka client settings are made: every producer, consumer
/// and admin client of the project gets its settings from <see cref="ProducerConfig"/>, <see cref="ConsumerConfig"/> or
/// <see cref="AdminConfig"/>. <see cref="Producer"/> and <see cref="Consumer"/> take librdkafka property names verbatim
/// (<c>"linger.ms": "50"</c>), so any client setting needs no code here; <see cref="Security"/> goes to every client.
/// In every section a name may use <c>_</c> for <c>.</c> (<c>Kafka__Consumer__session_timeout_ms</c>): <c>/bin/sh</c>
/// (dash) drops an environment variable whose name holds a dot before it starts a program, and no librdkafka setting
/// that can be given as text has a <c>_</c> in its name.
/// </summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    /// <summary>The environment variable prefix of the section (.NET configuration: <c>__</c> separates levels).</summary>
    public const string EnvironmentPrefix = "Kafka__";

    [Required]
    public string BootstrapServers { get; set; } = "localhost:9092";

    public Dictionary<string, string> Producer { get; set; } = [];

    public Dictionary<string, string> Consumer { get; set; } = [];

    /// <summary>
    /// librdkafka settings applied to every client — producers, consumers, admin clients, lag probes — e.g.
    /// <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>sasl.username</c>, <c>sasl.password</c>,
    /// <c>ssl.ca.location</c>. Names may use <c>_</c> for <c>.</c> (<c>Kafka__Security__security_protocol</c>: an
    /// environment variable name cannot hold a dot in most shells).
    /// </summary>
    public Dictionary<string, string> Security { get; set; } = [];

    /// <summary>A file whose content (trimmed) is the <c>sasl.password</c>, so the secret need not sit in the environment.</summary>
    public string? SaslPasswordFile { get; set; }

    public ProducerConfig ProducerConfig() => Secure(KafkaConfig.Producer(BootstrapServers, Dotted(Producer)));

    public ConsumerConfig ConsumerConfig(string groupId) => Secure(KafkaConfig.Consumer(BootstrapServers, groupId, Dotted(Consumer)));

    /// <summary>A consumer that only reads group offsets and watermarks (lag probes): no consumer overrides.</summary>
    public ConsumerConfig ProbeConfig(string groupId) => Secure(KafkaConfig.Consumer(BootstrapServers, groupId));

    public AdminClientConfig AdminConfig()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(BootstrapServers);
        return Secure(new AdminClientConfig { BootstrapServers = BootstrapServers });
    }

    /// <summary>
    /// The options for <paramref name="bootstrapServers"/> with the security settings of the environment
    /// (<c>Kafka__Security__…</c>, <c>Kafka__SaslPasswordFile</c>), for command-line tools that run without a host.
    /// </summary>
    public static KafkaOptions FromEnvironment(string bootstrapServers, IDictionary? environment = null)
    {
        var options = new KafkaOptions { BootstrapServers = bootstrapServers };
        const string security = EnvironmentPrefix + nameof(Security) + "__";
        foreach (DictionaryEntry entry in environment ?? Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (name.StartsWith(security, StringComparison.OrdinalIgnoreCase) && name.Length > security.Length)
                options.Security[name[security.Length..]] = (string?)entry.Value ?? string.Empty;
            else if (name.Equals(EnvironmentPrefix + nameof(SaslPasswordFile), StringComparison.OrdinalIgnoreCase))
                options.SaslPasswordFile = (string?)entry.Value;
        }

        return options;
    }

    private static IEnumerable<KeyValuePair<string, string>> Dotted(Dictionary<string, string> settings) =>
        settings.Select(s => KeyValuePair.Create(s.Key.Replace('_', '.'), s.Value));

    private TConfig Secure<TConfig>(TConfig config)
        where TConfig : ClientConfig
    {
        foreach (var (key, value) in Dotted(Security))
            config.Set(key, value);
        if (!string.IsNullOrWhiteSpace(SaslPasswordFile))
            config.SaslPassword = File.ReadAllText(SaslPasswordFile).Trim();
        return config;
    }
}

/// <summary>The project's client defaults; explicit settings override them.</summary>
public static class KafkaConfig
{
    /// <summary>acks=all + idempotence: no loss and no duplicates or reordering from producer retries; linger batches.</summary>
    public static ProducerConfig Producer(string bootstrapServers, IEnumerable<KeyValuePair<string, string>>? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 20,
        };
        return Apply(config, settings);
    }

    /// <summary>
    /// Auto-commit of explicitly stored offsets: the loop stores an offset only after its side effects
    /// succeeded, and librdkafka commits stored offsets in the background and on Close.
    /// </summary>
    public static ConsumerConfig Consumer(
        string bootstrapServers, string groupId, IEnumerable<KeyValuePair<string, string>>? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        return Apply(config, settings);
    }

    private static TConfig Apply<TConfig>(TConfig config, IEnumerable<KeyValuePair<string, string>>? settings)
        where TConfig : ClientConfig
    {
        foreach (var (key, value) in settings ?? [])
        {
            config.Set(key, value);
        }

        return config;
    }
}
