using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Avro;

namespace Puffy.Streaming.IntegrationTests.Registry;

/// <summary>
/// A Schema Registry for tests: an HTTP listener on 127.0.0.1 that answers the documented REST API v1 calls the
/// client uses (register a subject version with BACKWARD compatibility, fetch a schema by id), with the
/// registry's error bodies. It counts requests so caching can be checked.
/// </summary>
internal sealed class TestSchemaRegistry : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, List<(int Id, AvroSchema Schema)>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _schemas = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private int _nextId = 100;
    private int _requests;

    public TestSchemaRegistry()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _requests);
            var (status, body) = Handle(context.Request);
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/vnd.schemaregistry.v1+json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private (int Status, string Body) Handle(HttpListenerRequest request)
    {
        var path = request.Url!.AbsolutePath.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        lock (_gate)
        {
            if (request.HttpMethod == "POST" && path is ["subjects", var subject, "versions"])
            {
                using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
                AvroSchema schema;
                try
                {
                    using var doc = JsonDocument.Parse(reader.ReadToEnd());
                    schema = AvroSchema.Parse(doc.RootElement.GetProperty("schema").GetString()!);
                }
                catch (Exception e) when (e is JsonException or AvroException or KeyNotFoundException)
                {
                    return Error(422, 42201, "Invalid schema: " + e.Message);
                }

                if (!_subjects.TryGetValue(subject, out var versions))
                    _subjects[subject] = versions = [];
                var same = versions.FirstOrDefault(v => v.Schema.ToCanonicalForm() == schema.ToCanonicalForm());
                if (same.Schema is not null)
                    return (200, Id(same.Id));
                if (versions.Count > 0 && !AvroCompatibility.CanRead(versions[^1].Schema, schema))
                    return Error(409, 409, "Schema being registered is incompatible with an earlier schema for subject " + subject);
                var id = _nextId++;
                versions.Add((id, schema));
                _schemas[id] = schema.ToJson();
                return (200, Id(id));
            }

            if (request.HttpMethod == "GET" && path is ["schemas", "ids", var idText] && int.TryParse(idText, CultureInfo.InvariantCulture, out var wanted))
            {
                return _schemas.TryGetValue(wanted, out var json)
                    ? (200, JsonSerializer.Serialize(new Dictionary<string, string> { ["schema"] = json }))
                    : Error(404, 40403, "Schema not found");
            }

            return Error(404, 404, "HTTP 404 Not Found");
        }
    }

    private static string Id(int id) => "{\"id\":" + id.ToString(CultureInfo.InvariantCulture) + "}";

    private static (int, string) Error(int status, int code, string message) =>
        (status, JsonSerializer.Serialize(new Dictionary<string, object> { ["error_code"] = code, ["message"] = message }));

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
