using Microsoft.Extensions.Configuration;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.UnitTests.Kafka;

/// <summary>
/// Client settings come from the environment as <c>Kafka__Consumer__…</c> / <c>Kafka__Producer__…</c>, and a name may
/// spell <c>.</c> as <c>_</c>: <c>/bin/sh</c> (dash, which starts the local stack's services and the images' entry
/// point) drops a variable whose name holds a dot, so a dotted name never reached a service started through it.
/// </summary>
public sealed class KafkaOptionsUnitTests
{
    [Fact]
    public void ConsumerAndProducerSettings_FromTheEnvironmentWithUnderscores_AreTheDottedLibrdkafkaSettings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // What the environment provider makes of Kafka__Consumer__session_timeout_ms and the others.
            ["Kafka:BootstrapServers"] = "broker:9092",
            ["Kafka:Consumer:session_timeout_ms"] = "10000",
            ["Kafka:Consumer:client_id"] = "sessionizer-2",
            ["Kafka:Producer:linger_ms"] = "5",
            ["Kafka:Producer:queue.buffering.max.kbytes"] = "65536",
        }).Build();
        var options = configuration.GetSection(KafkaOptions.Section).Get<KafkaOptions>()!;

        var consumer = options.ConsumerConfig("puffy-sessionizer");
        var producer = options.ProducerConfig();

        Assert.Equal(10_000, consumer.SessionTimeoutMs);
        Assert.Equal("sessionizer-2", consumer.ClientId);
        Assert.Equal(5, producer.LingerMs);
        Assert.Equal(65_536, producer.QueueBufferingMaxKbytes);
        Assert.DoesNotContain(consumer, s => s.Key.Contains('_', StringComparison.Ordinal));
    }
}
