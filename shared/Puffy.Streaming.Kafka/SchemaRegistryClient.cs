using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Avro;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka;

/// <summary>An error answer of the Schema Registry (its JSON <c>error_code</c> and <c>message</c>).</summary>
public sealed class SchemaRegistryException(int statusCode, int errorCode, string message)
    : Exception($"schema registry: HTTP {statusCode}, error {errorCode}: {message}")
{
    public int StatusCode { get; } = statusCode;

    public int ErrorCode { get; } = errorCode;
}

/// <summary>
/// A client of the Confluent Schema Registry REST API (v1): registers a subject's schema and looks schemas up by id.
/// Both answers are cached: a schema is registered once per subject, and an id is fetched once.
/// </summary>
public sealed class SchemaRegistryClient(HttpClient http)
{
    private const string MediaType = "application/vnd.schemaregistry.v1+json";
    private readonly ConcurrentDictionary<(string Subject, string Canonical), int> _registered = new();
    private readonly ConcurrentDictionary<int, AvroSchema> _byId = new();

    /// <summary>Registers <paramref name="schema"/> under <paramref name="subject"/> (idempotent) and returns its id.</summary>
    public async Task<int> RegisterAsync(string subject, AvroSchema schema, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var key = (subject, schema.ToCanonicalForm());
        if (_registered.TryGetValue(key, out var known))
            return known;
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["schema"] = schema.ToJson() });
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
        using var response = await http.PostAsync(new Uri($"subjects/{Uri.EscapeDataString(subject)}/versions", UriKind.Relative), content, cancellationToken);
        using var json = await ReadAsync(response, cancellationToken);
        var id = json.RootElement.GetProperty("id").GetInt32();
        _registered[key] = id;
        _byId.TryAdd(id, schema);
        return id;
    }

    /// <summary>The schema with this id, from the cache or the registry.</summary>
    public async Task<AvroSchema> GetSchemaAsync(int id, CancellationToken cancellationToken = default)
    {
        if (_byId.TryGetValue(id, out var cached))
            return cached;
        using var response = await http.GetAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"schemas/ids/{id}"), UriKind.Relative), cancellationToken);
        using var json = await ReadAsync(response, cancellationToken);
        var schema = AvroSchema.Parse(json.RootElement.GetProperty("schema").GetString()
                                      ?? throw new SchemaRegistryException((int)response.StatusCode, 0, "answer without schema"));
        return _byId.GetOrAdd(id, schema);
    }

    /// <summary>Registers every message type's schema under its topic's <c>-value</c> subject; returns the ids by type.</summary>
    public async Task<IReadOnlyDictionary<Type, int>> RegisterAllAsync(CancellationToken cancellationToken = default)
    {
        var ids = new Dictionary<Type, int>();
        foreach (var (type, (subject, schema)) in WireFormat.Schemas)
            ids[type] = await RegisterAsync(subject, schema, cancellationToken);
        return ids;
    }

    /// <summary>
    /// A lookup for <see cref="WireFormat.Deserialize{T}"/>: cached ids answer at once; an unknown id is fetched
    /// (blocking the consumer thread once per id).
    /// </summary>
    public AvroSchema? Lookup(int id) =>
        _byId.TryGetValue(id, out var cached) ? cached : GetSchemaAsync(id).GetAwaiter().GetResult();

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument? json = null;
        try
        {
            json = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        }
        catch (JsonException)
        {
            throw new SchemaRegistryException((int)response.StatusCode, 0, text.Length > 200 ? text[..200] : text);
        }

        if (response.IsSuccessStatusCode)
            return json;
        using (json)
        {
            var root = json.RootElement;
            var code = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error_code", out var c) && c.TryGetInt32(out var n) ? n : 0;
            var message = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var m) ? m.GetString() ?? string.Empty : text;
            throw new SchemaRegistryException((int)response.StatusCode, code, message);
        }
    }
}
