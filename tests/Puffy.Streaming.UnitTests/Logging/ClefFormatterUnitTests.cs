using System.Text.Json;
using Puffy.Streaming.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Puffy.Streaming.UnitTests.Logging;

public sealed class ClefFormatterUnitTests
{
    private static readonly DateTimeOffset Timestamp = new DateTimeOffset(2026, 11, 22, 7, 6, 5, TimeSpan.FromHours(2)).AddTicks(1_234_567);

    [Fact]
    public void Format_InformationEvent_WritesRequiredFieldsAndNoLevel()
    {
        var logEvent = Capture(log => log.Information("Closed session {SessionId} after {EventCount} events", "s-1", 42));

        var json = Format(logEvent);

        Assert.Equal("Closed session {SessionId} after {EventCount} events", json.GetProperty("@mt").GetString());
        Assert.Equal("Closed session \"s-1\" after 42 events", json.GetProperty("@m").GetString());
        Assert.False(json.TryGetProperty("@l", out _));
        Assert.False(json.TryGetProperty("@x", out _));
        Assert.Equal("s-1", json.GetProperty("SessionId").GetString());
        Assert.Equal(JsonValueKind.Number, json.GetProperty("EventCount").ValueKind);
        Assert.Equal(42, json.GetProperty("EventCount").GetInt32());
        Assert.Equal(logEvent.Timestamp, DateTimeOffset.Parse(json.GetProperty("@t").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Format_TimestampWithOffset_WritesUtcWithFractionalSeconds()
    {
        var json = Format(Event(LogEventLevel.Information, "Tick"));

        Assert.Equal("2026-11-22T05:06:05.1234567Z", json.GetProperty("@t").GetString());
    }

    [Theory]
    [InlineData(LogEventLevel.Verbose, "Verbose")]
    [InlineData(LogEventLevel.Debug, "Debug")]
    [InlineData(LogEventLevel.Warning, "Warning")]
    [InlineData(LogEventLevel.Error, "Error")]
    [InlineData(LogEventLevel.Fatal, "Fatal")]
    public void Format_LevelOtherThanInformation_WritesLevelName(LogEventLevel level, string expected)
    {
        var json = Format(Event(level, "Tick"));

        Assert.Equal(expected, json.GetProperty("@l").GetString());
    }

    [Fact]
    public void Format_PropertiesStartingWithAt_DoubleTheAt()
    {
        var json = Format(Event(
            LogEventLevel.Information,
            "Tick",
            new LogEventProperty("@t", new ScalarValue("spoofed")),
            new LogEventProperty("@custom", new ScalarValue(1)),
            new LogEventProperty("plain@name", new ScalarValue(2))));

        Assert.Equal("2026-11-22T05:06:05.1234567Z", json.GetProperty("@t").GetString());
        Assert.Equal("spoofed", json.GetProperty("@@t").GetString());
        Assert.Equal(1, json.GetProperty("@@custom").GetInt32());
        Assert.False(json.TryGetProperty("@custom", out _));
        Assert.Equal(2, json.GetProperty("plain@name").GetInt32());
    }

    [Fact]
    public void Format_WithException_WritesExceptionToString()
    {
        InvalidOperationException thrown;
        try
        {
            throw new InvalidOperationException("Redis is down");
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var json = Format(Capture(log => log.Error(thrown, "Write to {Store} failed", "redis")));

        Assert.Equal(thrown.ToString(), json.GetProperty("@x").GetString());
        Assert.Contains("Redis is down", json.GetProperty("@x").GetString(), StringComparison.Ordinal);
        Assert.Contains(nameof(Format_WithException_WritesExceptionToString), json.GetProperty("@x").GetString(), StringComparison.Ordinal);
        Assert.Equal("Error", json.GetProperty("@l").GetString());
    }

    [Fact]
    public void Format_StructuredValues_WritesThemAsJson()
    {
        var order = new Order("o-1", 12.5m, ["a", "b"]);
        var totals = new Dictionary<string, int> { ["EUR"] = 3, ["USD"] = 4 };

        var json = Format(Capture(log => log.Information(
            "Order {@Order} totals {Totals} flags {Flag} {Missing} {Ratio} {Day}",
            order,
            totals,
            true,
            null,
            double.NaN,
            new DateOnly(2026, 11, 22))));

        var structure = json.GetProperty("Order");
        Assert.Equal(nameof(Order), structure.GetProperty("$type").GetString());
        Assert.Equal("o-1", structure.GetProperty("Id").GetString());
        Assert.Equal(12.5m, structure.GetProperty("Total").GetDecimal());
        Assert.Equal(["a", "b"], structure.GetProperty("Tags").EnumerateArray().Select(tag => tag.GetString()));
        Assert.Equal(3, json.GetProperty("Totals").GetProperty("EUR").GetInt32());
        Assert.Equal(4, json.GetProperty("Totals").GetProperty("USD").GetInt32());
        Assert.True(json.GetProperty("Flag").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("Missing").ValueKind);
        Assert.Equal("NaN", json.GetProperty("Ratio").GetString());
        Assert.Equal("2026-11-22", json.GetProperty("Day").GetString());
    }

    [Fact]
    public void Format_TextNeedingEscapes_StaysOneValidJsonLine()
    {
        const string awkward = "quote \" backslash \\ newline \n tab \t control \u0001 accent é emoji 😀 <tag> & {brace}";

        var json = Format(Capture(log => log.Information("Value {Value}", awkward)));

        Assert.Equal(awkward, json.GetProperty("Value").GetString());
    }

    [Fact]
    public void Format_LoneSurrogate_ReplacedRatherThanThrowing()
    {
        var json = Format(Capture(log => log.Information("Value {Value}", "cut \ud83d")));

        Assert.Equal("cut \ufffd", json.GetProperty("Value").GetString());
    }

    private static LogEvent Event(LogEventLevel level, string template, params LogEventProperty[] properties) =>
        new(Timestamp, level, null, new MessageTemplateParser().Parse(template), properties);

    private static LogEvent Capture(Action<ILogger> log)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger())
        {
            log(logger);
        }

        return Assert.Single(sink.Events);
    }

    // Checks the framing (one line, terminated) and returns the parsed object.
    private static JsonElement Format(LogEvent logEvent)
    {
        using var output = new StringWriter();
        new ClefFormatter().Format(logEvent, output);
        var text = output.ToString();

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text[..^1]);
        using var document = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        return document.RootElement.Clone();
    }

    private sealed record Order(string Id, decimal Total, IReadOnlyList<string> Tags);

    private sealed class CollectingSink : ILogEventSink
    {
        public List<LogEvent> Events { get; } = [];

        public void Emit(LogEvent logEvent) => Events.Add(logEvent);
    }
}
