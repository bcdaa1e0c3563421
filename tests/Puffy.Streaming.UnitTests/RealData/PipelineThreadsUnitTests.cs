using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.UnitTests.RealData;

/// <summary>
/// <see cref="EmbeddedPipeline.Run"/> spreads the stages over three threads (reading and row checks; the validator; the
/// stages after it with the sink). The sink must see exactly what one thread calling <see cref="EmbeddedPipeline.RunFile"/>
/// file by file gives, in the same order, and a failure on any thread must end the run with that failure.
/// </summary>
public sealed class PipelineThreadsUnitTests
{
    private static List<string> Files() => Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void Run_RealData_SinkSeesTheCallsOfOneThreadInTheSameOrder()
    {
        var threaded = new CallLog();
        new EmbeddedPipeline(new PipelineOptions(), threaded).Run(Files(), cancellationToken: TestContext.Current.CancellationToken);
        var single = new CallLog();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), single);
        foreach (var file in Files())
            pipeline.RunFile(Path.GetFileName(file), File.ReadAllBytes(file), cancellationToken: TestContext.Current.CancellationToken);
        pipeline.Finish();

        Assert.Equal(single.Calls.Count, threaded.Calls.Count);
        Assert.True(single.Calls.Count > 49_963, "every row is an event or a dead letter");
        for (var i = 0; i < single.Calls.Count; i++)
            Assert.True(Equals(single.Calls[i], threaded.Calls[i]), $"call {i}: {single.Calls[i]} vs {threaded.Calls[i]}");
    }

    [Fact]
    public void Run_SinkFailsOnTheDownstreamThread_RunEndsWithThatFailure()
    {
        var sink = new FailingSink(sessionsBeforeFailure: 5_000);

        var e = Assert.Throws<InvalidOperationException>(() =>
            new EmbeddedPipeline(new PipelineOptions(), sink).Run(Files(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("the sink failed", e.Message);
        Assert.Equal(5_000, sink.Sessions);
    }

    private sealed class CallLog : IPipelineSink
    {
        public List<object> Calls { get; } = [];

        public void OnFileRead(string file, DateOnly? day, long rows, string? error) => Calls.Add((file, day, rows, error));

        public void OnDeadLetter(DeadLetter deadLetter) => Calls.Add(deadLetter);

        public void OnEvent(SessionizedEvent sessionized) => Calls.Add(sessionized);

        // A session's list of transaction ids compares by reference in the record: compare its text.
        public void OnSession(Session session) =>
            Calls.Add((session with { TransactionIds = Array.Empty<string>() }, string.Join(',', session.TransactionIds)));

        public void OnOrder(AttributedOrder order) => Calls.Add(order);

        public void OnMetric(Metric metric) => Calls.Add(metric);

        public void OnAlert(Alert alert) => Calls.Add(alert);
    }

    private sealed class FailingSink(int sessionsBeforeFailure) : IPipelineSink
    {
        public int Sessions { get; private set; }

        public void OnSession(Session session)
        {
            if (Sessions == sessionsBeforeFailure)
                throw new InvalidOperationException("the sink failed");
            Sessions++;
        }
    }
}
