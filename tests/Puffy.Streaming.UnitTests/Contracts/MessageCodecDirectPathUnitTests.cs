using System.Buffers.Binary;
using Confluent.Kafka;
using Confluent.SchemaRegistry.Serdes;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.UnitTests.Contracts;

/// <summary>
/// After its first message of a type, the codec writes and reads frames under the current schema id with Apache Avro's
/// datum writer and reader directly. Those frames must be the bytes Confluent's serializer writes, and read back as
/// Confluent's deserializer reads them; anything else must still take Confluent's path. Each test uses a fresh codec,
/// so which call takes which path is known.
/// </summary>
public sealed class MessageCodecDirectPathUnitTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 10, 15, 30, 250, DateTimeKind.Utc);

    private static readonly ValidEvent Valid = new("0123456789abcdef0123456789abcdef", "c-1", T0, EventNames.CheckoutCompleted,
        "https://puffy.com/?utm_source=ABC123", null, "Mozilla/5.0 (iPhone) «ü» 😴", Devices.Mobile, "{\"transaction_id\":\"T1\"}",
        "T1", 1234.56m, "events_20250301.csv", 42, T0.AddMinutes(3), Channels.PaidSearch);

    private static readonly ValidEvent Other = Valid with
    {
        EventId = "fedcba9876543210fedcba9876543210", PageUrl = null, Referrer = "", TransactionId = null, Revenue = null,
        LandingChannel = null, Line = long.MaxValue, Timestamp = DateTime.UnixEpoch,
    };

    private static readonly Session SampleSession = new("s-1", "c-1", T0, T0.AddMinutes(12), 5, 3, 0, 1, 1, 1, "https://puffy.com/", null,
        Channels.Email, Devices.Desktop, true, 2, 99.99m, ["T1", "T2"]);

    private static readonly AttributedOrder SampleOrder = new("T1", "c-1", "e-1", T0, 0.01m, "s-3", 3, 6.25,
        new Touch(Channels.PaidSearch, "s-1", T0.AddDays(-6)), new Touch(Channels.Direct, "s-3", T0.AddMinutes(-1)),
        new Touch(Channels.Email, "s-2", T0.AddDays(-2)));

    private static MessageCodec FreshCodec() => new(new CatalogueSchemaRegistry());

    private static async Task<byte[]> ConfluentFrame<TRecord>(TRecord record, string topic)
        where TRecord : class, Avro.Specific.ISpecificRecord
    {
        using var registry = new CatalogueSchemaRegistry();
        return await new AvroSerializer<TRecord>(registry, new AvroSerializerConfig { AutoRegisterSchemas = true })
            .SerializeAsync(record, new SerializationContext(MessageComponentType.Value, topic));
    }

    [Fact]
    public async Task Serialize_AfterTheFirstMessage_WritesTheBytesOfConfluentsSerializer()
    {
        var codec = FreshCodec();
        codec.Serialize(Valid);

        Assert.Equal(await ConfluentFrame(WireMapping.ToRecord(Valid), Topics.ValidEvents), codec.Serialize(Valid));
        Assert.Equal(await ConfluentFrame(WireMapping.ToRecord(Other), Topics.ValidEvents), codec.Serialize(Other));
        codec.Serialize(SampleSession);
        Assert.Equal(await ConfluentFrame(WireMapping.ToRecord(SampleSession), Topics.Sessions), codec.Serialize(SampleSession));
        codec.Serialize(SampleOrder);
        Assert.Equal(await ConfluentFrame(WireMapping.ToRecord(SampleOrder), Topics.AttributedOrders), codec.Serialize(SampleOrder));
    }

    [Fact]
    public void Deserialize_AfterTheFirstFrame_ReadsWhatConfluentsDeserializerRead()
    {
        var codec = FreshCodec();
        var valid = codec.Serialize(Valid);
        var other = codec.Serialize(Other);
        var session = codec.Serialize(SampleSession);
        var sessionized = codec.Serialize(new SessionizedEvent(Other, "s-9", T0, true, Channels.Direct));

        var first = codec.Deserialize<ValidEvent>(valid);
        Assert.Equal(first, codec.Deserialize<ValidEvent>(valid));
        Assert.Equal(Valid, first);
        Assert.Equal(Other, codec.Deserialize<ValidEvent>(other));
        codec.Deserialize<Session>(session);
        var back = codec.Deserialize<Session>(session);
        Assert.Equal(SampleSession.TransactionIds, back.TransactionIds);
        Assert.Equal(SampleSession with { TransactionIds = [] }, back with { TransactionIds = [] });
        codec.Deserialize<SessionizedEvent>(sessionized);
        Assert.Equal(new SessionizedEvent(Other, "s-9", T0, true, Channels.Direct), codec.Deserialize<SessionizedEvent>(sessionized));
    }

    [Fact]
    public void Deserialize_AFrameInsideALargerBuffer_ReadsOnlyThatFrame()
    {
        var codec = FreshCodec();
        var frame = codec.Serialize(Valid);
        codec.Deserialize<ValidEvent>(frame);
        var buffer = new byte[frame.Length + 20];
        buffer.AsSpan().Fill(0xFF);
        frame.CopyTo(buffer.AsSpan(7));

        Assert.Equal(Valid, codec.Deserialize<ValidEvent>(buffer.AsMemory(7, frame.Length)));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(20)]
    [InlineData(60)]
    public void Deserialize_TruncatedFrameUnderTheCurrentId_ThrowsInvalidMessage(int length)
    {
        var codec = FreshCodec();
        var frame = codec.Serialize(Valid);
        codec.Deserialize<ValidEvent>(frame);

        var e = Assert.Throws<InvalidMessageException>(() => codec.Deserialize<ValidEvent>(frame.AsMemory(0, length)));
        Assert.Contains(nameof(ValidEvent), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_GarbageBodyUnderTheCurrentId_ThrowsInvalidMessage()
    {
        var codec = FreshCodec();
        var frame = codec.Serialize(Valid);
        codec.Deserialize<ValidEvent>(frame);
        var garbage = frame.ToArray();
        // A string length of -1 (zig-zag 0x01) right after the header: no valid body starts so.
        garbage[WireFormat.HeaderLength] = 0x01;

        Assert.Throws<InvalidMessageException>(() => codec.Deserialize<ValidEvent>(garbage));
    }

    [Fact]
    public void Deserialize_UnknownIdOrAnotherTypesFrame_AfterTheCurrentIdIsReadDirectly_StillThrowsInvalidMessage()
    {
        var codec = FreshCodec();
        var frame = codec.Serialize(Valid);
        codec.Deserialize<ValidEvent>(frame);
        codec.Deserialize<ValidEvent>(frame);
        var unknown = frame.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(unknown.AsSpan(1), 999);
        var metric = codec.Serialize(new Metric(null, MetricNames.Heartbeat, "", 1, ""));

        for (var i = 0; i < 2; i++)
        {
            Assert.Contains("999", Assert.Throws<InvalidMessageException>(() => codec.Deserialize<ValidEvent>(unknown)).Message, StringComparison.Ordinal);
            Assert.Throws<InvalidMessageException>(() => codec.Deserialize<ValidEvent>(metric));
        }
    }

    [Fact]
    public async Task Serialize_FromSeveralThreadsAtOnce_EveryFrameIsItsOwnMessage()
    {
        var codec = FreshCodec();
        codec.Serialize(Valid);
        codec.Deserialize<ValidEvent>(codec.Serialize(Valid));

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var message = Valid with { EventId = $"{t:x2}{i:x30}", Line = i };
                if (codec.Deserialize<ValidEvent>(codec.Serialize(message)) != message)
                    return false;
            }

            return true;
        })));

        Assert.All(results, Assert.True);
    }
}
