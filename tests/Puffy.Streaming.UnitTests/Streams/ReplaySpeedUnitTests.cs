using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.UnitTests.Streams;

public sealed class ReplaySpeedUnitTests
{
    private static readonly DateTime Start = new(2025, 2, 23, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("max", null)]
    [InlineData("realtime", 1.0)]
    [InlineData("10x", 10.0)]
    [InlineData("0.5x", 0.5)]
    [InlineData("60X", 60.0)]
    public void TryParse_ValidSpeed_GivesItsFactor(string text, double? factor)
    {
        Assert.True(ReplaySpeed.TryParse(text, out var speed));
        Assert.Equal(factor, speed.Factor);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("0x")]
    [InlineData("-2x")]
    [InlineData("x")]
    [InlineData("10")]
    public void TryParse_InvalidSpeed_IsRejected(string text) => Assert.False(ReplaySpeed.TryParse(text, out _));

    [Fact]
    public void DelayFor_Max_NeverWaits() =>
        Assert.Equal(TimeSpan.Zero, ReplaySpeed.Max.DelayFor(Start, Start.AddDays(3), TimeSpan.Zero));

    [Fact]
    public void DelayFor_Realtime_WaitsTheEventTimeGapMinusElapsed() =>
        Assert.Equal(TimeSpan.FromSeconds(45), ReplaySpeed.Realtime.DelayFor(Start, Start.AddMinutes(1), TimeSpan.FromSeconds(15)));

    [Fact]
    public void DelayFor_TenTimes_DividesTheGap() =>
        Assert.Equal(TimeSpan.FromSeconds(6), ReplaySpeed.Parse("10x").DelayFor(Start, Start.AddMinutes(1), TimeSpan.Zero));

    [Fact]
    public void DelayFor_ReplayBehindSchedule_DoesNotWait() =>
        Assert.Equal(TimeSpan.Zero, ReplaySpeed.Realtime.DelayFor(Start, Start.AddSeconds(10), TimeSpan.FromSeconds(30)));

    [Fact]
    public void ToString_RoundTripsThroughParse()
    {
        foreach (var text in new[] { "max", "realtime", "60x", "0.5x" })
            Assert.Equal(text, ReplaySpeed.Parse(text).ToString());
    }
}
