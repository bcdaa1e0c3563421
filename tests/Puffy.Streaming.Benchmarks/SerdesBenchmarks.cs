using BenchmarkDotNet.Attributes;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// What one hop between services costs in encoding: serialize and deserialize of a message through the codec the
/// services use (Confluent's Avro serdes over the generated records, catalogue ids), with the typical message of
/// each ordered topic. One operation = one serialize plus one deserialize.
/// </summary>
[MemoryDiagnoser]
public class SerdesBenchmarks
{
    private static readonly DateTime T0 = new(2025, 3, 1, 10, 15, 30, 250, DateTimeKind.Utc);
    private const string Ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15";
    private const string Url = "https://puffy.com/products/mattress?utm_source=ABC123&utm_medium=cpc";

    private readonly MessageCodec _codec = MessageCodec.Catalogue;

    private readonly RawEvent _raw = new("events_20250301.csv", 4242, new DateOnly(2025, 3, 1),
        $"c-1a2b3c4d,{Url},https://www.google.com/,2025-03-01T10:15:30.250Z,page_viewed,,{Ua}", null,
        "c-1a2b3c4d", Url, "https://www.google.com/", "2025-03-01T10:15:30.250Z", "page_viewed", null, Ua, T0);

    private readonly ValidEvent _valid = new("0123456789abcdef0123456789abcdef", "c-1a2b3c4d", T0, EventNames.PageViewed, Url,
        "https://www.google.com/", Ua, Devices.Mobile, null, null, null, "events_20250301.csv", 4242, T0.AddMinutes(3), Channels.PaidSearch);

    private SessionizedEvent _sessionized = null!;

    [GlobalSetup]
    public void Setup() => _sessionized = new SessionizedEvent(_valid, "s-0123456789abcdef0123456789abcdef", T0.AddMinutes(-5), false, Channels.PaidSearch);

    [Benchmark]
    public RawEvent RawEventRoundTrip() => _codec.Deserialize<RawEvent>(_codec.Serialize(_raw));

    [Benchmark]
    public ValidEvent ValidEventRoundTrip() => _codec.Deserialize<ValidEvent>(_codec.Serialize(_valid));

    [Benchmark]
    public SessionizedEvent SessionizedEventRoundTrip() => _codec.Deserialize<SessionizedEvent>(_codec.Serialize(_sessionized));

    [Benchmark]
    public byte[] ValidEventSerialize() => _codec.Serialize(_valid);
}
