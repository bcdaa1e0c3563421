using Confluent.Kafka;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// Confluent.Kafka runs on the librdkafka of the librdkafka.redist package, whatever the machine has installed (Debian's
/// librdkafka-dev 2.0.2 would be found first by default, and fails to consume).
/// </summary>
public sealed class KafkaNativeTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task Clients_LoadTheBundledLibrdkafka_AndConsume()
    {
        var topic = KafkaFixture.UniqueName("native");
        await kafka.CreateTopicAsync(topic, 1, TestContext.Current.CancellationToken);
        using (var producer = kafka.Producer())
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [1, 2, 3] }, TestContext.Current.CancellationToken);

        var consumed = kafka.ReadAll(topic, 1);

        Assert.Equal([1, 2, 3], Assert.Single(consumed).Message.Value);
        Assert.Equal("2.16.0", Library.VersionString);
        Assert.NotNull(KafkaNative.LoadedFrom);
        Assert.StartsWith(AppContext.BaseDirectory, KafkaNative.LoadedFrom, StringComparison.Ordinal);
        var maps = await File.ReadAllLinesAsync("/proc/self/maps", TestContext.Current.CancellationToken);
        var loaded = maps.Where(l => l.Contains("librdkafka", StringComparison.Ordinal)).Select(l => l[(l.IndexOf('/', StringComparison.Ordinal))..]).Distinct().ToList();
        Assert.All(loaded, path => Assert.StartsWith(AppContext.BaseDirectory, path, StringComparison.Ordinal));
    }
}
