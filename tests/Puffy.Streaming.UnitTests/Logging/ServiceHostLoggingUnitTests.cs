using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.Hosting;

namespace Puffy.Streaming.UnitTests.Logging;

public sealed class ServiceHostLoggingUnitTests
{
    [Fact]
    public async Task CreateBuilder_SeqUrlOnCommandLine_ServiceLogsReachSeqWithServiceName()
    {
        using var seq = new RecordingSeqServer();
        var builder = ServiceHost.CreateBuilder([$"--Seq:Url={seq.Url}", "--Seq:ApiKey=validator-key"], "validator");

        // Disposing the host disposes its service provider, which flushes the logger.
        using (var host = builder.Build())
        {
            var logger = host.Services.GetRequiredService<ILogger<ServiceHostLoggingUnitTests>>();
            OpsLog.DeadLettered(logger, "raw-events", 1, 77, "bad timestamp");
        }

        var deadLettered = Assert.Single(await seq.WaitForEventsAsync(1));

        Assert.Equal("validator", PuffyLoggingUnitTests.Text(deadLettered, "Service"));
        Assert.Equal(typeof(ServiceHostLoggingUnitTests).FullName, PuffyLoggingUnitTests.Text(deadLettered, "SourceContext"));
        Assert.Equal("raw-events", PuffyLoggingUnitTests.Text(deadLettered, "Topic"));
        Assert.Equal(1, deadLettered.GetProperty("Partition").GetInt32());
        Assert.Equal(77, deadLettered.GetProperty("Offset").GetInt64());
        Assert.Equal("bad timestamp", PuffyLoggingUnitTests.Text(deadLettered, "Reason"));
        var request = Assert.Single(seq.Requests);
        Assert.Equal("/api/events/raw", request.Path);
        Assert.Equal("validator-key", request.ApiKey);
    }
}
