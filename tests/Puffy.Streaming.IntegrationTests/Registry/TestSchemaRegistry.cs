using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Avro;
using Puffy.Streaming.Testing;

namespace Puffy.Streaming.IntegrationTests.Registry;

/// <summary>
/// A Schema Registry for tests: an HTTP listener on 127.0.0.1 that answers the REST API v1 calls Confluent's
/// <c>CachedSchemaRegistryClient</c> makes for the Avro serdes — register a subject version (BACKWARD compatibility,
/// checked by Apache Avro), look a schema up under a subject, fetch a schema by id, the latest version, and the
/// associations 2.16 asks for (none) — with the registry's error bodies. It counts requests so caching can be checked.
/// </summary>
internal sealed class TestSchemaRegistry : IAsyncDisposable
{
    private readonly LoopbackHttpServer _server;
    private readonly Dictionary<string, List<(int Id, Schema Schema)>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _schemas = [];
    private readonly Lock _gate = new();
    private int _nextId = 100;
    private int _requests;

    public TestSchemaRegistry() => _server = new LoopbackHttpServer(RespondAsync);

    public Uri Url => _server.Url;

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Registers a schema directly (as another producer would have), returning its id.</summary>
    public int Register(string subject, string schemaJson)
    {
        lock (_gate)
            return Register(subject, Schema.Parse(schemaJson)).Id;
    }

    private async Task RespondAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        var (status, body) = Handle(context.Request);
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/vnd.schemaregistry.v1+json";
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private (int Status, string Body) Handle(HttpListenerRequest request)
    {
        var path = request.Url!.AbsolutePath.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        lock (_gate)
        {
            if (request.HttpMethod == "POST" && path is ["subjects", var subject, "versions"])
            {
                if (!TryReadSchema(request, out var schema, out var error))
                    return error;
                var (id, status) = Register(subject, schema);
                return status == 200 ? (200, Json(new { id })) : Error(409, 409, "Schema being registered is incompatible with an earlier schema for subject " + subject);
            }

            if (request.HttpMethod == "POST" && path is ["subjects", var lookup])
            {
                if (!TryReadSchema(request, out var schema, out var error))
                    return error;
                var canonical = SchemaNormalization.ToParsingForm(schema);
                var versions = _subjects.GetValueOrDefault(lookup) ?? [];
                var index = versions.FindIndex(v => SchemaNormalization.ToParsingForm(v.Schema) == canonical);
                return index < 0
                    ? Error(404, 40403, "Schema not found")
                    : (200, Json(new { subject = lookup, id = versions[index].Id, version = index + 1, schema = versions[index].Schema.ToString() }));
            }

            if (request.HttpMethod == "GET" && path is ["schemas", "ids", var idText] && int.TryParse(idText, CultureInfo.InvariantCulture, out var wanted))
            {
                return _schemas.TryGetValue(wanted, out var json) ? (200, Json(new { schema = json })) : Error(404, 40403, "Schema not found");
            }

            if (request.HttpMethod == "GET" && path is ["subjects", var latest, "versions", "latest"])
            {
                return _subjects.TryGetValue(latest, out var versions) && versions.Count > 0
                    ? (200, Json(new { subject = latest, id = versions[^1].Id, version = versions.Count, schema = versions[^1].Schema.ToString() }))
                    : Error(404, 40401, "Subject not found");
            }

            if (request.HttpMethod == "GET" && path is ["subjects"])
                return (200, Json(_subjects.Keys.ToList()));

            if (request.HttpMethod == "GET" && path is ["associations", ..])
                return (200, "[]");

            return Error(404, 404, "HTTP 404 Not Found");
        }
    }

    private (int Id, int Status) Register(string subject, Schema schema)
    {
        if (!_subjects.TryGetValue(subject, out var versions))
            _subjects[subject] = versions = [];
        var canonical = SchemaNormalization.ToParsingForm(schema);
        var same = versions.FirstOrDefault(v => SchemaNormalization.ToParsingForm(v.Schema) == canonical);
        if (same.Schema is not null)
            return (same.Id, 200);
        if (versions.Count > 0 && !schema.CanRead(versions[^1].Schema))
            return (0, 409);
        var id = _nextId++;
        versions.Add((id, schema));
        _schemas[id] = schema.ToString();
        return (id, 200);
    }

    private static bool TryReadSchema(HttpListenerRequest request, out Schema schema, out (int, string) error)
    {
        using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
        try
        {
            using var doc = JsonDocument.Parse(reader.ReadToEnd());
            schema = Schema.Parse(doc.RootElement.GetProperty("schema").GetString()!);
            error = default;
            return true;
        }
        catch (Exception e) when (e is JsonException or AvroException or KeyNotFoundException)
        {
            schema = null!;
            error = Error(422, 42201, "Invalid schema: " + e.Message);
            return false;
        }
    }

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static (int, string) Error(int status, int code, string message) =>
        (status, JsonSerializer.Serialize(new Dictionary<string, object> { ["error_code"] = code, ["message"] = message }));

    public ValueTask DisposeAsync()
    {
        _server.Dispose();
        return ValueTask.CompletedTask;
    }
}
