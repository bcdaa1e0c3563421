using Avro;
using Confluent.SchemaRegistry;
using Puffy.Streaming.Contracts;
using RegistrySchema = Confluent.SchemaRegistry.Schema;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// An <see cref="ISchemaRegistryClient"/> over the committed id catalogue (<c>Schemas/schema-ids.json</c>) and the
/// contract's schemas, for running without a Schema Registry: the same ids on every producer and consumer, no server.
/// It answers what Confluent's Avro serdes ask (register or look up a known schema under its subject, fetch a schema
/// by id) and refuses anything else: a schema that is not the catalogue's is an error, not a new version.
/// </summary>
public sealed class CatalogueSchemaRegistry : ISchemaRegistryClient
{
    private readonly Dictionary<string, (int Id, string Canonical, string Json)> _bySubject = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Task<RegistrySchema>> _byId = [];

    public CatalogueSchemaRegistry()
    {
        foreach (var type in WireFormat.Types.Values)
        {
            var id = WireFormat.CatalogueIds.TryGetValue(type.Subject, out var known)
                ? known
                : throw new InvalidOperationException($"schema-ids.json has no id for subject {type.Subject}");
            var json = type.Schema.ToString();
            _bySubject[type.Subject] = (id, SchemaNormalization.ToParsingForm(type.Schema), json);
            // One instance per id: the serdes ask for the writer schema on every message and cache by it.
            _byId[id] = Task.FromResult<RegistrySchema>(new CatalogueSchema(json));
        }
    }

    public IEnumerable<KeyValuePair<string, string>> Config => [];

    public IAuthenticationHeaderValueProvider AuthHeaderProvider => null!;

    public System.Net.IWebProxy Proxy => null!;

    public int MaxCachedSchemas => 1000;

    public Task<int> RegisterSchemaAsync(string subject, string avroSchema, bool normalize = false) => Task.FromResult(IdOf(subject, avroSchema));

    public Task<int> RegisterSchemaAsync(string subject, RegistrySchema schema, bool normalize = false) =>
        Task.FromResult(IdOf(subject, AvroOnly(schema).SchemaString));

    public Task<RegisteredSchema> RegisterSchemaWithResponseAsync(string subject, RegistrySchema schema, bool normalize = false) =>
        Task.FromResult(Registered(subject, IdOf(subject, AvroOnly(schema).SchemaString)));

    public Task<int> GetSchemaIdAsync(string subject, string avroSchema, bool normalize = false) => Task.FromResult(IdOf(subject, avroSchema));

    public Task<int> GetSchemaIdAsync(string subject, RegistrySchema schema, bool normalize = false) =>
        Task.FromResult(IdOf(subject, AvroOnly(schema).SchemaString));

    public Task<RegistrySchema> GetSchemaAsync(int id, string? format = null) => SchemaById(id);

    public Task<RegistrySchema> GetSchemaBySubjectAndIdAsync(string subject, int id, string? format = null) => SchemaById(id);

    public Task<RegisteredSchema> LookupSchemaAsync(string subject, RegistrySchema schema, bool ignoreDeletedSchemas, bool normalize = false) =>
        Task.FromResult(Registered(subject, IdOf(subject, AvroOnly(schema).SchemaString)));

    public Task<RegisteredSchema> GetRegisteredSchemaAsync(string subject, int version, bool ignoreDeletedSchemas = true) =>
        version == 1 ? GetLatestSchemaAsync(subject) : throw NotFound($"subject {subject} has only version 1 in the catalogue");

    public Task<string> GetSchemaAsync(string subject, int version) =>
        version == 1 ? Task.FromResult(Subject(subject).Json) : throw NotFound($"subject {subject} has only version 1 in the catalogue");

    public Task<RegisteredSchema> GetLatestSchemaAsync(string subject) => Task.FromResult(Registered(subject, Subject(subject).Id));

    public Task<List<string>> GetAllSubjectsAsync() => Task.FromResult(_bySubject.Keys.ToList());

    public Task<List<int>> GetSubjectVersionsAsync(string subject) => Task.FromResult(_bySubject.ContainsKey(subject) ? new List<int> { 1 } : []);

    public Task<bool> IsCompatibleAsync(string subject, string avroSchema) => Task.FromResult(Matches(subject, avroSchema));

    public Task<bool> IsCompatibleAsync(string subject, RegistrySchema schema) => Task.FromResult(Matches(subject, AvroOnly(schema).SchemaString));

    public string ConstructKeySubjectName(string topic, string? recordType = null) => topic + "-key";

    public string ConstructValueSubjectName(string topic, string? recordType = null) => topic + "-value";

    /// <summary>Serdes of 2.16 ask for associations before choosing a subject: the catalogue has none.</summary>
    public Task<List<Association>> GetAssociationsByResourceNameAsync(
        string resourceName, string resourceNamespace, string resourceType, List<string> associationTypes, string lifecycle, int offset, int limit) =>
        Task.FromResult(new List<Association>());

    public void ClearLatestCaches()
    {
    }

    public void ClearCaches()
    {
    }

    public void Dispose()
    {
    }

    public Task<RegistrySchema> GetSchemaByGuidAsync(string guid, string? format = null) => throw Unsupported();

    public Task<RegisteredSchema> GetLatestWithMetadataAsync(string subject, IDictionary<string, string> metadata, bool ignoreDeletedSchemas) =>
        throw Unsupported();

    public Task<Compatibility> GetCompatibilityAsync(string? subject = null) => throw Unsupported();

    public Task<Compatibility> UpdateCompatibilityAsync(Compatibility compatibility, string? subject = null) => throw Unsupported();

    public Task<AssociationResponse> CreateAssociationAsync(AssociationCreateOrUpdateRequest request) => throw Unsupported();

    public Task DeleteAssociationsAsync(string resourceId, string resourceType, List<string> associationTypes, bool cascadeLifecycle) =>
        throw Unsupported();

    private static RegistrySchema AvroOnly(RegistrySchema schema) =>
        schema.SchemaType == SchemaType.Avro ? schema : throw new SchemaRegistryException($"the catalogue holds Avro schemas only, not {schema.SchemaType}", System.Net.HttpStatusCode.UnprocessableEntity, 42201);

    private (int Id, string Canonical, string Json) Subject(string subject) =>
        _bySubject.TryGetValue(subject, out var entry) ? entry : throw NotFound($"subject {subject} is not in the catalogue (schema-ids.json)");

    private bool Matches(string subject, string avroSchema) =>
        _bySubject.TryGetValue(subject, out var entry) && SchemaNormalization.ToParsingForm(global::Avro.Schema.Parse(avroSchema)) == entry.Canonical;

    private int IdOf(string subject, string avroSchema)
    {
        var entry = Subject(subject);
        return Matches(subject, avroSchema)
            ? entry.Id
            : throw NotFound($"the schema given for {subject} is not the catalogue's; use a Schema Registry (SchemaRegistry:Url) for other versions");
    }

    private Task<RegistrySchema> SchemaById(int id) =>
        _byId.TryGetValue(id, out var schema) ? schema : throw NotFound($"schema id {id} is not in the catalogue");

    private RegisteredSchema Registered(string subject, int id) => new(subject, 1, id, Subject(subject).Json, SchemaType.Avro, []);

    private static SchemaRegistryException NotFound(string message) => new(message, System.Net.HttpStatusCode.NotFound, 40403);

    private static NotSupportedException Unsupported() => new("the schema catalogue supports what the Avro serdes need, nothing more");

    /// <summary>
    /// A catalogue schema, never changed once made. The deserializer looks the writer schema up by value on every
    /// message, and <see cref="RegistrySchema.GetHashCode"/> hashes the whole schema text each time (measured: 6 % of the
    /// validator's CPU): its hash is computed once.
    /// </summary>
    private sealed class CatalogueSchema(string json) : RegistrySchema(json, SchemaType.Avro)
    {
        private int? _hash;

        public override int GetHashCode() => _hash ??= base.GetHashCode();

        public override bool Equals(object? obj) => ReferenceEquals(this, obj) || base.Equals(obj);
    }
}
