namespace Puffy.Streaming.Benchmarks;

/// <summary>The repository's bundled export (semantics §9), found from the benchmark binary's folder.</summary>
internal static class RealData
{
    /// <summary>Data rows in the 14 files, headers not counted.</summary>
    public const int Rows = 49_963;

    public static string Folder { get; } = FindFolder();

    /// <summary>The files in name order, each as (name, bytes).</summary>
    public static IReadOnlyList<(string Name, byte[] Content)> Load() =>
        Directory.GetFiles(Folder, "*.csv")
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)))
            .ToList();

    private static string FindFolder()
    {
        // BenchmarkDotNet runs each benchmark from a generated project below this one's bin folder: walk up to the repo.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Puffy.Streaming.sln")))
            dir = dir.Parent;
        return dir is null
            ? throw new InvalidOperationException("cannot find the repository root (Puffy.Streaming.sln)")
            : Path.Combine(dir.FullName, "data", "puffy-events");
    }
}
