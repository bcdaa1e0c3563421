using System.Diagnostics;

namespace Puffy.Streaming.IntegrationTests.Report;

/// <summary>Debian's <c>chromium</c> (installed by infra/install-servers.sh), run headless once per call on a local file.</summary>
public static class HeadlessChromium
{
    public const string Binary = "/usr/bin/chromium";

    /// <summary>Runs chromium with the page and the extra arguments; returns its stdout and stderr once it exits.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string htmlFile, CancellationToken cancellationToken, params string[] extra)
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: run infra/install-servers.sh");
        var profile = Directory.CreateTempSubdirectory("puffy-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, .. extra, new Uri(htmlFile).AbsoluteUri])
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}
