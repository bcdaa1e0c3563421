namespace Puffy.Streaming.IntegrationTests.LocalServers;

public static class LocalServersTestKit
{
    /// <summary>Upper bound for any wait; conditions are polled, the caller asserts afterwards.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition() && DateTime.UtcNow < until)
            await Task.Delay(20, Ct);
    }

    /// <summary>A file another process is still appending to, read without locking it.</summary>
    public static string ReadShared(string file)
    {
        if (!File.Exists(file))
            return string.Empty;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>A fresh temporary directory, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a server that could not be stopped still writes here; the OS cleans /tmp
        }
    }
}
