using Microsoft.Extensions.Configuration;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.UnitTests.Logging;

public sealed class PuffyLoggingUnitTests
{
    [Fact]
    public async Task Create_SeqUrlSet_SendsEnrichedEventsAtDefaultLevels()
    {
        using var server = new RecordingSeqServer();
        var configuration = Configuration(("Seq:Url", server.Url.ToString()), ("Seq:ApiKey", "service-key"));

        using (var logger = PuffyLogging.Create(configuration, "sessionizer"))
        {
            var own = logger.ForContext("SourceContext", "Puffy.Streaming.Sessionizer.Worker");
            var framework = logger.ForContext("SourceContext", "Microsoft.Hosting.Lifetime");
            own.Debug("Hidden {Number}", 1);
            own.Information("Shown {Number}", 2);
            framework.Information("Hidden {Number}", 3);
            framework.Warning("Shown {Number}", 4);
        }

        var events = await server.WaitForAcceptedEventsAsync(2);
        Assert.Equal([2, 4], events.Select(e => e.GetProperty("Number").GetInt32()));
        Assert.All(events, e =>
        {
            Assert.Equal("sessionizer", e.GetProperty("Service").GetString());
            Assert.Equal(Environment.MachineName, e.GetProperty("MachineName").GetString());
        });
        Assert.All(server.Requests, request => Assert.Equal("service-key", request.ApiKey));
    }

    [Fact]
    public async Task Create_MinimumLevelDebug_SendsDebugButKeepsFrameworkAtWarning()
    {
        using var server = new RecordingSeqServer();
        var configuration = Configuration(("Seq:Url", server.Url.ToString()), ("Logging:MinimumLevel", "Debug"), ("Logging:Console:Format", "clef"));

        using (var logger = PuffyLogging.Create(configuration, "validator"))
        {
            logger.ForContext("SourceContext", "Puffy.Streaming.Validator").Debug("Shown {Number}", 1);
            logger.ForContext("SourceContext", "System.Net.Http.HttpClient").Information("Hidden {Number}", 2);
        }

        var events = await server.WaitForAcceptedEventsAsync(1);
        Assert.Equal(1, Assert.Single(events).GetProperty("Number").GetInt32());
        Assert.Equal("Debug", events[0].GetProperty("@l").GetString());
        Assert.Null(Assert.Single(server.Requests).ApiKey);
    }

    [Theory]
    [InlineData("Logging:MinimumLevel", "Loud")]
    [InlineData("Logging:Console:Format", "xml")]
    [InlineData("Seq:Url", "not a url")]
    public void Create_InvalidSetting_Throws(string key, string value) =>
        Assert.Throws<InvalidOperationException>(() => PuffyLogging.Create(Configuration((key, value)), "monitor"));

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(setting => new KeyValuePair<string, string?>(setting.Key, setting.Value)))
            .Build();
}
