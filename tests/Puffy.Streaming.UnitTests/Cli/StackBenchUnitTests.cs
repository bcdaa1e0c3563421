using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>The load report's latency: read off the sampled "sent" and "stored" curves.</summary>
public sealed class StackBenchUnitTests
{
    private static StackBench.Sample At(double seconds, long sent, long stored) => new(seconds, sent, stored, []);

    [Fact]
    public void Latency_StoredCurveTwoSecondsBehindTheSentCurve_IsTwoSecondsAtEveryPercentile()
    {
        // 1,000 messages sent evenly over 10 s; 500 valid events stored evenly from 2 s to 12 s.
        var samples = Enumerable.Range(0, 13).Select(t => At(t, Math.Min(1000, t * 100), Math.Clamp((t - 2) * 50, 0, 500))).ToList();

        var (p50, p95, p99) = StackBench.Latency(samples);

        Assert.Equal(2.0, p50, 3);
        Assert.Equal(2.0, p95, 3);
        Assert.Equal(2.0, p99, 3);
    }

    [Fact]
    public void Latency_TailStoredLate_ShowsInTheHighPercentilesOnly()
    {
        // Everything sent by 1 s; 90 % stored at 2 s, the last 10 % only at 11 s.
        var samples = new List<StackBench.Sample> { At(0, 0, 0), At(1, 100, 0), At(2, 100, 90), At(10, 100, 90), At(11, 100, 100) };

        var (p50, _, p99) = StackBench.Latency(samples);

        Assert.InRange(p50, 1.0, 1.6);
        Assert.InRange(p99, 9.5, 10.5);
    }

    [Fact]
    public void Latency_NothingStored_IsUnknown()
    {
        var (p50, _, _) = StackBench.Latency([At(0, 0, 0), At(1, 10, 0)]);

        Assert.True(double.IsNaN(p50));
    }
}
