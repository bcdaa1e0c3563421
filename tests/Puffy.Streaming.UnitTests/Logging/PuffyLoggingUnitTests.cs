using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.UnitTests.Logging;

public sealed class PuffyLoggingUnitTests
{
    private const string Worker = "Puffy.Streaming.Sessionizer.SessionizerWorker";

    // What the services' appsettings.json holds.
    private static readonly (string Key, string Value)[] AppSettings =
    [
        ("Serilog:MinimumLevel:Default", "Information"),
        ("Serilog:MinimumLevel:Override:Microsoft", "Warning"),
        ("Serilog:MinimumLevel:Override:System", "Warning"),
    ];

    [Fact]
    public async Task AddPuffyLogging_SeqUrlAndApiKey_PostsClefWithServiceAndOpsProperties()
    {
        using var seq = new RecordingSeqServer();
        var configuration = Configuration(AppSettings, [("Seq:Url", seq.Url.ToString()), ("Seq:ApiKey", "sessionizer-key")]);

        using (var services = new ServiceCollection().AddPuffyLogging(configuration, "sessionizer").BuildServiceProvider())
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(Worker);
            OpsLog.ClosedSession(logger, "s-42", "c-7", "2025-02-25");
            OpsLog.DeadLettered(logger, "raw-events", 3, 1234567890123, "unknown event type");
            OpsLog.Attributed(logger, "t-9", "c-7");
            OpsLog.Replayed(logger, "events_20250225.csv", "2025-02-25");
        }

        var events = await seq.WaitForEventsAsync(4);

        Assert.Equal(4, events.Count);
        Assert.All(seq.Requests, request =>
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal("/api/events/raw", request.Path);
            Assert.Equal("application/vnd.serilog.clef", MediaTypeHeaderValue.Parse(request.ContentType!).MediaType);
            Assert.Equal("sessionizer-key", request.ApiKey);
        });
        Assert.All(events, e =>
        {
            Assert.Equal("sessionizer", Text(e, "Service"));
            Assert.Equal(PuffyLogging.Application, Text(e, "Application"));
            Assert.Equal(Environment.MachineName, Text(e, "MachineName"));
            Assert.Equal(Worker, Text(e, "SourceContext"));
            Assert.True(e.TryGetProperty("@t", out _));
        });

        var closed = Single(events, "Closed session {SessionId} for {ClientId} on {Day}");
        Assert.Equal("s-42", Text(closed, "SessionId"));
        Assert.Equal("c-7", Text(closed, "ClientId"));
        Assert.Equal("2025-02-25", Text(closed, "Day"));

        var deadLettered = Single(events, "Dead-lettered {Topic} [{Partition}] @{Offset}: {Reason}");
        Assert.Equal("raw-events", Text(deadLettered, "Topic"));
        Assert.Equal(3, deadLettered.GetProperty("Partition").GetInt32());
        Assert.Equal(1234567890123, deadLettered.GetProperty("Offset").GetInt64());
        Assert.Equal("unknown event type", Text(deadLettered, "Reason"));
        Assert.Equal("Warning", Text(deadLettered, "@l"));

        var attributed = Single(events, "Attributed order {TransactionId} of {ClientId}");
        Assert.Equal("t-9", Text(attributed, "TransactionId"));
        Assert.Equal("c-7", Text(attributed, "ClientId"));

        var replayed = Single(events, "Replayed {File} for {Day}");
        Assert.Equal("events_20250225.csv", Text(replayed, "File"));
        Assert.Equal("2025-02-25", Text(replayed, "Day"));
    }

    [Fact]
    public async Task AddPuffyLogging_AppSettingsLevels_EventsBelowMinimumDoNotArrive()
    {
        using var seq = new RecordingSeqServer();
        var configuration = Configuration(AppSettings, [("Seq:Url", seq.Url.ToString())]);

        using (var services = new ServiceCollection().AddPuffyLogging(configuration, "validator").BuildServiceProvider())
        {
            var factory = services.GetRequiredService<ILoggerFactory>();
            var own = factory.CreateLogger("Puffy.Streaming.Validator.ValidatorWorker");
            var framework = factory.CreateLogger("Microsoft.Hosting.Lifetime");
            OpsLog.Trace(own, "own trace");
            OpsLog.Debug(own, "own debug");
            OpsLog.Information(own, "own information");
            OpsLog.Information(framework, "framework information");
            OpsLog.Warning(framework, "framework warning");
        }

        // The logger flushed on disposal, so whatever was going to arrive is here.
        var events = await seq.WaitForEventsAsync(2);

        Assert.Equal(["own information", "framework warning"], events.Select(e => Text(e, "Marker")));
        Assert.All(seq.Requests, request => Assert.Null(request.ApiKey));
    }

    [Fact]
    public async Task AddPuffyLogging_MinimumLevelDebugFromEnvironment_DebugArrivesAndFrameworkStaysAtWarning()
    {
        using var seq = new RecordingSeqServer();
        // Serilog__MinimumLevel__Default=Debug in the environment overrides appsettings.json.
        var configuration = Configuration(AppSettings, [("Serilog:MinimumLevel:Default", "Debug"), ("Seq:Url", seq.Url.ToString())]);

        using (var services = new ServiceCollection().AddPuffyLogging(configuration, "validator").BuildServiceProvider())
        {
            var factory = services.GetRequiredService<ILoggerFactory>();
            var own = factory.CreateLogger("Puffy.Streaming.Validator.ValidatorWorker");
            OpsLog.Trace(own, "own trace");
            OpsLog.Debug(own, "own debug");
            var framework = factory.CreateLogger("System.Net.Http.HttpClient");
            OpsLog.Information(framework, "framework information");
        }

        var events = await seq.WaitForEventsAsync(1);

        var debug = Assert.Single(events);
        Assert.Equal("own debug", Text(debug, "Marker"));
        Assert.Equal("Debug", Text(debug, "@l"));
    }

    [Fact]
    public async Task AddPuffyLogging_SeqInSerilogWriteTo_PostsWithServiceAndApiKey()
    {
        using var seq = new RecordingSeqServer();
        // As Serilog__WriteTo__1__Name=Seq, Serilog__WriteTo__1__Args__serverUrl=... would give.
        var configuration = Configuration(
            AppSettings,
            [
                ("Serilog:WriteTo:1:Name", "Seq"),
                ("Serilog:WriteTo:1:Args:serverUrl", seq.Url.ToString()),
                ("Serilog:WriteTo:1:Args:apiKey", "ops-key"),
            ]);

        using (var services = new ServiceCollection().AddPuffyLogging(configuration, "attribution").BuildServiceProvider())
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Puffy.Streaming.Attribution.AttributionWorker");
            OpsLog.Attributed(logger, "t-1", "c-1");
        }

        var attributed = Assert.Single(await seq.WaitForEventsAsync(1));

        Assert.Equal("attribution", Text(attributed, "Service"));
        Assert.Equal("t-1", Text(attributed, "TransactionId"));
        Assert.All(seq.Requests, request =>
        {
            Assert.Equal("/api/events/raw", request.Path);
            Assert.Equal("ops-key", request.ApiKey);
        });
    }

    [Theory]
    [InlineData("Logging:Console:Format", "xml")]
    [InlineData("Seq:Url", "not a url")]
    [InlineData("Seq:Url", "ftp://seq:5341")]
    [InlineData("Logging:MinimumLevel", "Debug")]
    public void AddPuffyLogging_InvalidSetting_Throws(string key, string value) =>
        Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddPuffyLogging(Configuration([(key, value)]), "monitor"));

    // Each layer overrides the ones before it, as environment variables override appsettings.json.
    internal static IConfiguration Configuration(params (string Key, string Value)[][] layers)
    {
        var builder = new ConfigurationBuilder();
        foreach (var layer in layers)
        {
            builder.AddInMemoryCollection(layer.Select(setting => new KeyValuePair<string, string?>(setting.Key, setting.Value)));
        }

        return builder.Build();
    }

    internal static string? Text(JsonElement clef, string property) => clef.GetProperty(property).GetString();

    private static JsonElement Single(IEnumerable<JsonElement> events, string template) =>
        Assert.Single(events, e => Text(e, "@mt") == template);
}
