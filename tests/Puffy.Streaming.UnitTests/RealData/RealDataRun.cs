using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.UnitTests.RealData;

/// <summary>One embedded run over the 14 real files, shared by the real-data tests.</summary>
public sealed class RealDataRun
{
    public RealDataRun()
    {
        Files = Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal).ToList();
        var builder = new SummaryBuilder();
        var recorder = new Recorder();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), new CompositeSink(builder, recorder));
        pipeline.Run(Files);
        Summary = builder.Complete();
        DeadLetters = recorder.DeadLetters;
        Orders = recorder.Orders;
        Sessions = recorder.Sessions;
        Metrics = recorder.Metrics;
    }

    public IReadOnlyList<string> Files { get; }

    public RunSummary Summary { get; }

    public IReadOnlyList<DeadLetter> DeadLetters { get; }

    public IReadOnlyList<AttributedOrder> Orders { get; }

    public IReadOnlyList<Session> Sessions { get; }

    /// <summary>Every metric, in the order the monitor received it.</summary>
    public IReadOnlyList<Metric> Metrics { get; }

    private sealed class Recorder : IPipelineSink
    {
        public List<DeadLetter> DeadLetters { get; } = [];
        public List<AttributedOrder> Orders { get; } = [];
        public List<Session> Sessions { get; } = [];
        public List<Metric> Metrics { get; } = [];

        public void OnDeadLetter(DeadLetter deadLetter) => DeadLetters.Add(deadLetter);

        public void OnOrder(AttributedOrder order) => Orders.Add(order);

        public void OnSession(Session session) => Sessions.Add(session);

        public void OnMetric(Metric metric) => Metrics.Add(metric);
    }
}
