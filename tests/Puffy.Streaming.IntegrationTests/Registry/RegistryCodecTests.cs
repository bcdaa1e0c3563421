using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Confluent.SchemaRegistry;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Wire = puffy.streaming.v1;

namespace Puffy.Streaming.IntegrationTests.Registry;

/// <summary>
/// The message codec on Confluent's real <c>CachedSchemaRegistryClient</c>, against a listener that speaks the Schema
/// Registry REST API over HTTP (no registry server can run here).
/// </summary>
public sealed class RegistryCodecTests : IAsyncLifetime
{
    private static readonly DateTime T0 = new(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private static readonly Session SampleSession = new("s-1", "c-1", T0, T0.AddMinutes(20), 2, 2, 0, 0, 0, 0, "https://puffy.com/", null,
        Channels.Direct, Devices.Mobile, false, 0, 0m, []);

    private static readonly ValidEvent SampleEvent = new("0123456789abcdef0123456789abcdef", "c-1", T0, EventNames.CheckoutCompleted,
        "https://puffy.com/", null, "UA", Devices.Desktop, "{}", "T1", 12.5m, "events_20250301.csv", 7, T0, Channels.Direct);

    private readonly TestSchemaRegistry _registry = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _registry.DisposeAsync();

    private CachedSchemaRegistryClient Client() => new(new SchemaRegistryConfig { Url = _registry.Url.ToString() });

    [Fact]
    public async Task CreateAsync_RegistersEverySubject_AndAnotherClientGetsTheSameIds()
    {
        using var first = Client();
        using var second = Client();

        var a = await MessageCodec.CreateAsync(first);
        var b = await MessageCodec.CreateAsync(second);

        var subjects = await first.GetAllSubjectsAsync();
        Assert.Equal(WireFormat.Types.Values.Select(t => t.Subject).Order(StringComparer.Ordinal), subjects.Order(StringComparer.Ordinal));
        Assert.Equal(a.MarkSchemaId, b.MarkSchemaId);
        Assert.Equal(WireFormat.SchemaIdOf(a.Serialize(SampleSession)), WireFormat.SchemaIdOf(b.Serialize(SampleSession)));
        Assert.NotEqual(WireFormat.CatalogueIds[Topics.Sessions + "-value"], WireFormat.SchemaIdOf(a.Serialize(SampleSession)));
    }

    [Fact]
    public async Task Serialize_ManyMessages_AsksTheRegistryOncePerSubject()
    {
        using var client = Client();
        var codec = await MessageCodec.CreateAsync(client);
        codec.Serialize(SampleSession);
        var before = _registry.Requests;

        for (var i = 0; i < 500; i++)
            codec.Serialize(SampleSession with { SessionId = "s-" + i });

        Assert.Equal(before, _registry.Requests);
    }

    [Fact]
    public async Task Deserialize_WithAFreshClient_FetchesTheWriterSchemaOnceThenServesFromCache()
    {
        using var producerClient = Client();
        var producer = await MessageCodec.CreateAsync(producerClient);
        var frame = producer.Serialize(SampleSession);
        using var consumerClient = Client();
        var consumer = new MessageCodec(consumerClient);
        var before = _registry.Requests;

        var back = consumer.Deserialize<Session>(frame);
        var fetches = _registry.Requests - before;
        for (var i = 0; i < 100; i++)
            consumer.Deserialize<Session>(frame);

        Assert.Equal(SampleSession with { TransactionIds = [] }, back with { TransactionIds = [] });
        Assert.InRange(fetches, 1, 2);
        Assert.Equal(before + fetches, _registry.Requests);
    }

    [Fact]
    public async Task Deserialize_IdTheRegistryDoesNotKnow_IsAnInvalidMessage()
    {
        using var client = Client();
        var codec = await MessageCodec.CreateAsync(client);
        var frame = codec.Serialize(SampleSession);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 424242);

        var e = Assert.Throws<InvalidMessageException>(() => codec.Deserialize<Session>(frame));

        Assert.Contains("40403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deserialize_RegistryUnreachable_IsNotAnInvalidMessage()
    {
        using var client = Client();
        var codec = await MessageCodec.CreateAsync(client);
        var frame = codec.Serialize(SampleSession);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 424243);
        await _registry.DisposeAsync();

        var e = Record.Exception(() => codec.Deserialize<Session>(frame));

        Assert.NotNull(e);
        Assert.IsNotType<InvalidMessageException>(e);
    }

    [Fact]
    public async Task Register_IncompatibleChange_IsRejectedWith409()
    {
        using var client = Client();
        await MessageCodec.CreateAsync(client);
        var json = JsonNode.Parse(WireFormat.SchemaOf<Alert>().ToString())!;
        json["fields"]!.AsArray().Insert(0, new JsonObject { ["name"] = "owner", ["type"] = "string" });

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            client.RegisterSchemaAsync(Topics.Alerts + "-value", new Schema(json.ToJsonString(), SchemaType.Avro)));

        Assert.Equal(409, e.ErrorCode);
    }

    /// <summary>
    /// An older producer's ValidEvent (before landing_channel) decodes with the field's default, every time: also once the
    /// current schema's frames are read directly (without Confluent's deserializer), a frame under the older id is still
    /// resolved against its own writer schema.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Deserialize_FrameOfAnOlderRegisteredVersion_FillsTheNewFieldFromItsDefault(int currentFramesReadFirst)
    {
        var json = JsonNode.Parse(WireFormat.SchemaOf<ValidEvent>().ToString())!;
        var fields = json["fields"]!.AsArray();
        fields.Remove(fields.Single(f => (string?)f!["name"] == "landing_channel"));
        var olderId = _registry.Register(Topics.ValidEvents + "-value", json.ToJsonString());
        using var client = Client();
        var codec = await MessageCodec.CreateAsync(client);
        var current = codec.Serialize(SampleEvent);
        Assert.NotEqual(olderId, WireFormat.SchemaIdOf(current));
        for (var i = 0; i < currentFramesReadFirst; i++)
            Assert.Equal(SampleEvent, codec.Deserialize<ValidEvent>(current));
        // The older schema's body is the current one without its last field (an optional string, written as the null branch).
        var withoutChannel = codec.Serialize(SampleEvent with { LandingChannel = null });
        var older = new byte[withoutChannel.Length - 1];
        withoutChannel.AsSpan(0, older.Length).CopyTo(older);
        BinaryPrimitives.WriteInt32BigEndian(older.AsSpan(1), olderId);

        for (var i = 0; i < 3; i++)
            Assert.Equal(SampleEvent with { LandingChannel = null }, codec.Deserialize<ValidEvent>(older));
        Assert.Equal(SampleEvent, codec.Deserialize<ValidEvent>(current));
        Assert.Equal(typeof(Wire.ValidEvent), WireFormat.Of<ValidEvent>().Record);
    }

    /// <summary>A registry that answers with a schema other than ours under an id is never read as ours.</summary>
    [Fact]
    public async Task Deserialize_FrameOfAnotherSubjectsId_IsAnInvalidMessageEveryTime()
    {
        using var client = Client();
        var codec = await MessageCodec.CreateAsync(client);
        var current = codec.Serialize(SampleEvent);
        codec.Deserialize<ValidEvent>(current);
        codec.Deserialize<ValidEvent>(current);
        var metric = codec.Serialize(new Metric(null, MetricNames.Heartbeat, "", 1, ""));

        for (var i = 0; i < 3; i++)
            Assert.Throws<InvalidMessageException>(() => codec.Deserialize<ValidEvent>(metric));
    }
}
