using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// librdkafka's own lines (a broker that refuses or stops answering) reach a service's structured log with the client
/// and facility as properties, instead of raw text on stderr beside it.
/// </summary>
public sealed class KafkaClientLogTests
{
    [Fact]
    public async Task ServiceProducer_NothingListensOnTheBootstrapPort_TheRefusedConnectionIsAnErrorInTheServiceLog()
    {
        var port = FreePorts.Next(); // nothing listens there: the kernel refuses the connection
        var log = new CollectingLogger();
        var clients = new ServiceClients(
            Options.Create(new KafkaOptions { BootstrapServers = $"127.0.0.1:{port}" }),
            Options.Create(new RedisOptions()),
            Options.Create(new ClickHouseOptions()),
            Options.Create(new StreamOptions()),
            Options.Create(new SchemaRegistryConfig()),
            log);
        try
        {
            using (clients.Producer(MessageCodec.Catalogue, "log-test"))
            {
                var until = DateTime.UtcNow.AddSeconds(30);
                while (!log.Entries.Any(e => e.Text.Contains($":{port}", StringComparison.Ordinal)) && DateTime.UtcNow < until)
                    await Task.Delay(50, TestContext.Current.CancellationToken); // polling for librdkafka's connect attempt
            }

            var refused = log.Entries.First(e => e.Text.Contains($":{port}", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Error, refused.Level);
            Assert.StartsWith("librdkafka ", refused.Text, StringComparison.Ordinal);
            Assert.Contains("Connection refused", refused.Text, StringComparison.Ordinal);
            Assert.Equal("FAIL", refused.Properties["Facility"]);
            Assert.Contains("producer", refused.Properties["KafkaClient"], StringComparison.Ordinal);
        }
        finally
        {
            clients.Dispose();
        }

        // Disposed: the service's route is gone, lines go back to stderr.
        KafkaClientLog.Write(new LogMessage("test#producer-0", SyslogLevel.Warning, "TEST", "after dispose"));
        Assert.DoesNotContain(log.Entries, e => e.Text.Contains("after dispose", StringComparison.Ordinal));
    }

    private sealed class CollectingLogger : ILogger<ServiceClients>
    {
        public ConcurrentQueue<(LogLevel Level, string Text, Dictionary<string, string?> Properties)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value?.ToString(), StringComparer.Ordinal)
                : [];
            Entries.Enqueue((logLevel, formatter(state, exception), properties));
        }
    }
}
