using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Puffy.Streaming.Logging;
using Serilog;

namespace Puffy.Streaming.UnitTests.Logging;

public sealed class SeqSinkUnitTests
{
    [Fact]
    public async Task Emit_SeqAccepts_PostsClefLinesWithContentTypeAndApiKey()
    {
        using var server = new RecordingSeqServer();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Seq(Options(server) with { ApiKey = "test-key" })
                   .CreateLogger())
        {
            for (var i = 0; i < 3; i++)
            {
                logger.Information("Event {Number} of {Total}", i, 3);
            }

            var events = await server.WaitForAcceptedEventsAsync(3);

            Assert.Equal([0, 1, 2], events.Select(e => e.GetProperty("Number").GetInt32()));
            Assert.All(events, e => Assert.Equal("Event {Number} of {Total}", e.GetProperty("@mt").GetString()));
            Assert.All(events, e => Assert.True(e.TryGetProperty("@t", out _)));
        }

        Assert.All(server.Requests, request =>
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal("/ingest/clef", request.Path);
            Assert.Equal(SeqSink.ClefMediaType, MediaTypeHeaderValue.Parse(request.ContentType!).MediaType);
            Assert.Equal("test-key", request.ApiKey);
            Assert.EndsWith("\n", request.Body, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Emit_NoApiKey_SendsNoApiKeyHeader()
    {
        using var server = new RecordingSeqServer();
        using var logger = new LoggerConfiguration().WriteTo.Seq(Options(server)).CreateLogger();

        logger.Information("Hello");
        await server.WaitForAcceptedEventsAsync(1);

        Assert.Null(Assert.Single(server.Requests).ApiKey);
    }

    [Fact]
    public async Task Emit_ServerUrlWithPath_PostsBelowThatPath()
    {
        using var server = new RecordingSeqServer();
        using var logger = new LoggerConfiguration()
            .WriteTo.Seq(Options(server) with { ServerUrl = new Uri(server.Url, "seq") })
            .CreateLogger();

        logger.Information("Hello");
        await server.WaitForAcceptedEventsAsync(1);

        Assert.Equal("/seq/ingest/clef", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Emit_SeqAnswers503ThenCreated_RetriesUntilAccepted()
    {
        using var server = new RecordingSeqServer(index =>
            Task.FromResult(index == 0 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.Created));
        using var logger = new LoggerConfiguration().WriteTo.Seq(Options(server)).CreateLogger();

        logger.Information("Survives {Outage}", "503");
        var accepted = await server.WaitForAcceptedEventsAsync(1);

        Assert.Equal("503", Assert.Single(accepted).GetProperty("Outage").GetString());
        var requests = server.Requests;
        Assert.Equal(503, requests[0].Status);
        Assert.Equal(201, requests[1].Status);
        Assert.Equal(requests[0].Body, requests[1].Body);
    }

    [Fact]
    public async Task Emit_SeqUnreachableAtFirst_RetriesUntilAccepted()
    {
        // Something that is not Seq holds the port and resets the first connection; then Seq comes up there.
        var port = RecordingSeqServer.FreePort();
        var impostor = new TcpListener(IPAddress.Loopback, port);
        impostor.Start();
        using var sink = new SeqSink(new SeqSinkOptions
        {
            ServerUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"),
            Period = TimeSpan.FromMilliseconds(50),
        });
        using var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();

        logger.Information("Survives {Outage}", "reset");
        using (var connection = await impostor.AcceptSocketAsync(TestContext.Current.CancellationToken))
        {
            connection.LingerState = new LingerOption(true, 0);
        }

        impostor.Stop();
        using var server = new RecordingSeqServer(port: port);
        var accepted = await server.WaitForAcceptedEventsAsync(1);

        Assert.Equal("reset", Assert.Single(accepted).GetProperty("Outage").GetString());
    }

    [Fact]
    public void Dispose_EventsPending_SendsThemBeforeReturning()
    {
        using var server = new RecordingSeqServer();
        var sink = new SeqSink(Options(server) with { Period = TimeSpan.FromHours(1) });
        var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();

        logger.Information("Pending {Number}", 1);
        logger.Information("Pending {Number}", 2);
        logger.Information("Pending {Number}", 3);
        logger.Dispose();

        Assert.Equal([1, 2, 3], server.AcceptedEvents.Select(e => e.GetProperty("Number").GetInt32()));
    }

    [Fact]
    public async Task Emit_QueueFull_DropsOldestAndCountsThem()
    {
        var firstArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new RecordingSeqServer(async index =>
        {
            if (index == 0)
            {
                firstArrived.SetResult();
                await release.Task;
            }

            return HttpStatusCode.Created;
        });
        using var sink = new SeqSink(Options(server) with { BatchSize = 1, QueueLimit = 2 });
        using var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();

        // The first event is in flight and held by the server, so the next five meet a queue of two.
        logger.Information("Event {Number}", 1);
        await firstArrived.Task.WaitAsync(RecordingSeqServer.Patience, TestContext.Current.CancellationToken);
        for (var number = 2; number <= 6; number++)
        {
            logger.Information("Event {Number}", number);
        }

        Assert.Equal(3, sink.DroppedEvents);
        release.SetResult();
        var accepted = await server.WaitForAcceptedEventsAsync(3);
        Assert.Equal([1, 5, 6], accepted.Select(e => e.GetProperty("Number").GetInt32()));
    }

    [Fact]
    public void Dispose_SeqKeepsFailing_GivesUpAfterFlushTimeout()
    {
        using var server = new RecordingSeqServer(_ => Task.FromResult(HttpStatusCode.ServiceUnavailable));
        var sink = new SeqSink(Options(server) with { FlushTimeout = TimeSpan.FromMilliseconds(300) });

        using (var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger())
        {
            logger.Information("Never accepted");
        }

        Assert.Empty(server.AcceptedEvents);
    }

    [Fact]
    public void Emit_AfterDispose_DoesNotThrow()
    {
        using var server = new RecordingSeqServer();
        var sink = new SeqSink(Options(server));
        sink.Dispose();

        var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        logger.Information("Too late");
        sink.Dispose();
    }

    [Fact]
    public void Constructor_RelativeServerUrl_Throws() =>
        Assert.Throws<ArgumentException>(() => new SeqSink(new SeqSinkOptions { ServerUrl = new Uri("seq", UriKind.Relative) }));

    [Fact]
    public void ToString_WithApiKey_DoesNotRevealIt()
    {
        var options = new SeqSinkOptions { ServerUrl = new Uri("http://seq:5341"), ApiKey = "secret-key" };

        Assert.DoesNotContain("secret-key", options.ToString(), StringComparison.Ordinal);
    }

    private static SeqSinkOptions Options(RecordingSeqServer server) =>
        new() { ServerUrl = server.Url, Period = TimeSpan.FromMilliseconds(50) };
}
