using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// The <c>Kafka</c> configuration section. <see cref="Producer"/> and <see cref="Consumer"/> take librdkafka
/// property names verbatim (<c>"linger.ms": "50"</c>), so any client setting needs no code here.
/// </summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    [Required]
    public string BootstrapServers { get; set; } = "localhost:9092";

    public Dictionary<string, string> Producer { get; set; } = [];

    public Dictionary<string, string> Consumer { get; set; } = [];

    public ProducerConfig ProducerConfig() => KafkaConfig.Producer(BootstrapServers, Producer);

    public ConsumerConfig ConsumerConfig(string groupId) => KafkaConfig.Consumer(BootstrapServers, groupId, Consumer);
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
