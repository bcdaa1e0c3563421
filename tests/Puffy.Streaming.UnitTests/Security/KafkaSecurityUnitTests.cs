using System.Collections;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.UnitTests.Security;

/// <summary>
/// Every Kafka client of the project — producers, consumers, admin clients, lag probes — takes its settings from
/// <see cref="KafkaOptions"/>, which adds the <c>Kafka:Security</c> settings to each; nothing else builds a client config.
/// </summary>
public sealed partial class KafkaSecurityUnitTests
{
    private static readonly string[] SourceFolders = ["shared", "services"];

    private static readonly Dictionary<string, string> Sasl = new(StringComparer.Ordinal)
    {
        ["security.protocol"] = "SASL_SSL",
        ["sasl.mechanism"] = "SCRAM-SHA-512",
        ["sasl.username"] = "puffy",
        ["sasl.password"] = "kafka-secret",
        ["ssl.ca.location"] = "/etc/puffy/ca.pem",
    };

    [Fact]
    public void EveryClientConfig_SecuritySettings_AreOnEachClient()
    {
        var options = new KafkaOptions { BootstrapServers = "broker:9093", Security = new(Sasl, StringComparer.Ordinal) };
        options.Producer["linger.ms"] = "5";
        options.Consumer["session.timeout.ms"] = "6000";

        ClientConfig[] configs = [options.ProducerConfig(), options.ConsumerConfig("group"), options.ProbeConfig("group"), options.AdminConfig()];

        foreach (var config in configs)
        {
            var settings = config.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            foreach (var (key, value) in Sasl)
                Assert.Equal(value, settings.GetValueOrDefault(key));
            Assert.Equal("broker:9093", settings["bootstrap.servers"]);
        }

        Assert.Equal("5", configs[0].Get("linger.ms"));
        Assert.Equal("6000", configs[1].Get("session.timeout.ms"));
    }

    [Fact]
    public void FromEnvironment_UnderscoreNamesAndPasswordFile_BecomeLibrdkafkaSettings()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-a-file\n");
            var environment = new Hashtable
            {
                ["Kafka__Security__security_protocol"] = "SASL_PLAINTEXT",
                ["Kafka__Security__sasl_mechanism"] = "PLAIN",
                ["Kafka__Security__sasl_username"] = "puffy",
                ["Kafka__SaslPasswordFile"] = file,
                ["KAFKA_BOOTSTRAP"] = "ignored:1",
            };

            var options = KafkaOptions.FromEnvironment("broker:9092", environment);
            var admin = options.AdminConfig();
            var producer = options.ProducerConfig();

            foreach (var config in new ClientConfig[] { admin, producer, options.ConsumerConfig("g") })
            {
                Assert.Equal("SASL_PLAINTEXT", config.Get("security.protocol"));
                Assert.Equal("PLAIN", config.Get("sasl.mechanism"));
                Assert.Equal("puffy", config.Get("sasl.username"));
                Assert.Equal("from-a-file", config.Get("sasl.password"));
            }

            Assert.Equal("broker:9092", admin.BootstrapServers);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Sources_KafkaClients_AreConfiguredOnlyThroughKafkaOptions()
    {
        var root = RepoPaths.Root;
        var sources = SourceFolders
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        var factory = Path.Combine(root, "shared", "Puffy.Streaming.Kafka", "KafkaOptions.cs");
        Assert.Contains(factory, sources);

        var builders = 0;
        var offences = new List<string>();
        foreach (var file in sources.Where(f => f != factory))
        {
            var text = File.ReadAllText(file);
            foreach (Match m in ConfigMadeHere().Matches(text))
                offences.Add($"{Path.GetRelativePath(root, file)}: {m.Value}");
            builders += ClientBuilt().Count(text);
        }

        Assert.True(offences.Count == 0, "Kafka client settings made outside KafkaOptions:\n" + string.Join('\n', offences));
        Assert.True(builders >= 6, $"only {builders} client builders found: the scan no longer sees the code");
    }

    // A config created from nothing (rather than copied from one that KafkaOptions made), the defaults used directly,
    // or a bootstrap address set by hand.
    [GeneratedRegex(@"new\s+(?:Producer|Consumer|AdminClient|Client)Config\s*(?:\{|\(\s*\))|KafkaConfig\.(?:Producer|Consumer)\(|[{,.]\s*BootstrapServers\s*=(?!=)")]
    private static partial Regex ConfigMadeHere();

    [GeneratedRegex(@"new\s+(?:ProducerBuilder<|ConsumerBuilder<|AdminClientBuilder\()")]
    private static partial Regex ClientBuilt();
}
