namespace Puffy.Streaming.UnitTests;

/// <summary>Locates the repository's bundled data from the test binary's folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string RealData => Path.Combine(Root, "data", "puffy-events");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Puffy.Streaming.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Puffy.Streaming.sln)");
    }
}
