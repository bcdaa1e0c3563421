namespace Puffy.Streaming.UnitTests.Avro;

/// <summary>Locates the Apache Avro conformance files (copied from apache/avro share/test/data).</summary>
internal static class AvroTestData
{
    public static string Root { get; } = Find();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        // An explicit location wins; otherwise the copy bundled with the repository.
        var fromEnv = Environment.GetEnvironmentVariable("AVRO_CONFORMANCE_DIR");
        var candidates = new[] { fromEnv, Path.Combine(RepoPaths.Root, "data", "avro-conformance") };
        foreach (var candidate in candidates)
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(Path.Combine(candidate, "SOURCE.md")))
                return Path.GetFullPath(candidate);
        }

        throw new InvalidOperationException("Avro conformance data not found; set AVRO_CONFORMANCE_DIR");
    }
}
