using Puffy.Streaming.Kafka.Streams;

namespace Puffy.Streaming.UnitTests.Streams;

/// <summary>The text a partition's resume point is stored as, next to its state in Redis.</summary>
public sealed class ResumePointUnitTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 10, 0, 0, 123, DateTimeKind.Utc);

    [Theory]
    [InlineData("e682af10a6fbdd8185c25c13167ef158")]
    [InlineData("events_20250301.csv\t12|with|bars")]
    [InlineData("")]
    public void Parse_OfToText_GivesThePointBack(string tie)
    {
        var point = new ResumePoint(4_211, new StreamPosition(T0, tie, -3));

        var back = ResumePoint.Parse(point.ToText());

        Assert.Equal(point, back);
        Assert.Equal(DateTimeKind.Utc, back!.Value.Taken!.Value.Time.Kind);
    }

    [Fact]
    public void Parse_OffsetAlone_HasNoTakenPosition()
    {
        Assert.Equal(new ResumePoint(17, null), ResumePoint.Parse(new ResumePoint(17, null).ToText()));
        Assert.Equal("17", new ResumePoint(17, null).ToText());
        Assert.Null(ResumePoint.Parse(null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("12|34")]
    [InlineData("12|34|5")]
    [InlineData("12|ticks|5|tie")]
    public void Parse_NotAResumePoint_Throws(string text) => Assert.Throws<FormatException>(() => ResumePoint.Parse(text));
}
