using Puffy.Streaming.Avro;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.IntegrationTests.Registry;

/// <summary>The registry client against a listener that speaks the Schema Registry REST API over HTTP.</summary>
public sealed class SchemaRegistryClientTests : IAsyncLifetime
{
    private readonly TestSchemaRegistry _registry = new();
    private HttpClient _http = null!;

    public ValueTask InitializeAsync()
    {
        _http = new HttpClient { BaseAddress = _registry.Url };
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _registry.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RegisterAsync_SameSchemaTwice_AsksTheRegistryOnceAndReturnsOneId()
    {
        var client = new SchemaRegistryClient(_http);
        var schema = WireFormat.SchemaOf<ValidEvent>();

        var first = await client.RegisterAsync(Topics.ValidEvents + "-value", schema, Ct);
        var second = await client.RegisterAsync(Topics.ValidEvents + "-value", schema, Ct);

        Assert.Equal(first, second);
        Assert.Equal(1, _registry.Requests);
    }

    [Fact]
    public async Task GetSchemaAsync_UnknownToTheClient_FetchesOnceThenServesFromCache()
    {
        var writer = new SchemaRegistryClient(_http);
        var id = await writer.RegisterAsync("puffy.metrics.v1-value", WireFormat.SchemaOf<Metric>(), Ct);
        var reader = new SchemaRegistryClient(_http);
        var before = _registry.Requests;

        var fetched = await reader.GetSchemaAsync(id, Ct);
        var again = reader.Lookup(id);

        Assert.Equal(WireFormat.SchemaOf<Metric>().ToCanonicalForm(), fetched.ToCanonicalForm());
        Assert.Same(fetched, again);
        Assert.Equal(before + 1, _registry.Requests);
    }

    [Fact]
    public async Task GetSchemaAsync_MissingId_ThrowsWithTheRegistryErrorCode()
    {
        var client = new SchemaRegistryClient(_http);
        var e = await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetSchemaAsync(424242, Ct));
        Assert.Equal(404, e.StatusCode);
        Assert.Equal(40403, e.ErrorCode);
    }

    [Fact]
    public async Task RegisterAsync_IncompatibleChange_IsRejectedWith409()
    {
        var client = new SchemaRegistryClient(_http);
        var subject = Topics.Alerts + "-value";
        var schema = WireFormat.SchemaOf<Alert>();
        await client.RegisterAsync(subject, schema, Ct);
        var incompatible = AvroSchema.Parse(schema.ToJson().Replace("\"fields\":[", "\"fields\":[{\"name\":\"owner\",\"type\":\"string\"},", StringComparison.Ordinal));

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(() => client.RegisterAsync(subject, incompatible, Ct));

        Assert.Equal(409, e.ErrorCode);
    }

    [Fact]
    public async Task RegisterAllAsync_ThenSerializeWithRegistryIds_RoundTripsThroughLookup()
    {
        var producer = new SchemaRegistryClient(_http);
        var ids = await producer.RegisterAllAsync(Ct);
        Assert.Equal(WireFormat.Schemas.Count, ids.Values.Distinct().Count());
        var session = new Session("s-1", "c-1", new DateTime(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc), new DateTime(2025, 3, 1, 9, 20, 0, DateTimeKind.Utc),
            2, 2, 0, 0, 0, 0, "https://puffy.com/", null, Channels.Direct, Devices.Mobile, false, 0, 0m, []);
        var frame = WireFormat.Serialize(session, ids[typeof(Session)]);

        var consumer = new SchemaRegistryClient(_http);
        var back = WireFormat.Deserialize<Session>(frame, consumer.Lookup);

        Assert.Equal(ids[typeof(Session)], AvroConfluent.ReadSchemaId(frame));
        Assert.Equal(session with { TransactionIds = [] }, back with { TransactionIds = [] });
    }
}
